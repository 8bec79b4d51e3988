"""Command lines for a plan's steps, as argv lists (pure; the script exporter quotes them).

The same argv the engine would run, spelled for a POSIX shell script. Secrets are passed by
name only (`--secret id=HF_TOKEN,env=HF_TOKEN`, `-e HF_TOKEN`): never by value.
"""

from __future__ import annotations

from hwdock.plan.model import ImageStep, Mount, RunSpec


def pull_argv(step: ImageStep, engine: str = "docker") -> list[str]:
    return [engine, "pull", step.image]


def inspect_argv(image: str, engine: str = "docker") -> list[str]:
    return [engine, "image", "inspect", image]


def build_argv(step: ImageStep, engine: str = "docker") -> list[str]:
    """`docker build` for one step; with a generated Dockerfile it is read from stdin (-f -)."""
    argv = [engine, "build"]
    if step.generated_dockerfile is not None:
        argv += ["-f", "-"]
    elif step.dockerfile:
        argv += ["-f", step.dockerfile]
    if step.target:
        argv += ["--target", step.target]
    if step.platform:
        argv += ["--platform", step.platform]
    for key, value in step.build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    for name in step.secrets:
        argv += ["--secret", f"id={name},env={name}"]
    for key, value in step.labels.items():
        argv += ["--label", f"{key}={value}"]
    argv += ["-t", step.image, step.context or "."]
    return argv


def _csv_field(text: str) -> str:
    """One field of docker's comma-separated --mount value, quoted when it needs to be."""
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def mount_arg(m: Mount) -> str:
    fields = [f"type={m.kind}"]
    if m.kind != "tmpfs":
        fields.append(f"source={m.source}")
    fields.append(f"target={m.target}")
    if m.read_only:
        fields.append("readonly")
    return ",".join(_csv_field(f) for f in fields)


def run_argv(spec: RunSpec, engine: str = "docker", *, detach: bool = False) -> list[str]:
    argv = [engine, "run"]
    argv.append("-d" if detach else "--rm")
    if spec.name:
        argv += ["--name", spec.name]
    for dev in spec.devices:
        argv += ["--device", dev]
    for dev in spec.cdi_devices:
        argv += ["--device", dev]
    if spec.gpus:
        argv += ["--gpus", spec.gpus]
    for gid in spec.group_add:
        argv += ["--group-add", str(gid)]
    if spec.ipc:
        argv += ["--ipc", spec.ipc]
    if spec.shm_size:
        argv += ["--shm-size", spec.shm_size]
    for m in spec.mounts:
        argv += ["--mount", mount_arg(m)]
    for key, value in spec.env.items():
        argv += ["-e", f"{key}={value}"]
    for name in spec.env_passthrough:
        argv += ["-e", name]
    for host, container in spec.ports:
        argv += ["-p", f"{host}:{container}"]
    for cap in spec.cap_add:
        argv += ["--cap-add", cap]
    for opt in spec.security_opt:
        argv += ["--security-opt", opt]
    if spec.privileged:
        argv.append("--privileged")
    argv.append(spec.image)
    argv += spec.command
    return argv
