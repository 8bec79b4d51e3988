"""Every docker/podman command line hwdock runs or prints, as argv lists. Pure: no effects.

The one source of truth for pull, inspect, build and run commands: the engine runs them
(engine.py), `hwdock build/run --dry-run` prints them, the plan shows them to people
(plan/render.py), and `hwdock plan --script` / `hwdock export script` write them into a
shell script (export/script.py). Docker and Podman differ where it matters: Podman gets
CDI device names for `--gpus` and for the `nvidia` runtime (a Jetson plan's `--runtime nvidia`:
Podman has no such runtime unless configured, NVIDIA's way for it is CDI),
`--tls-verify=false` for registries on this machine, and (from the caller) fully qualified
image names.

By default the flags are spelled as a person types them (`-f`, `-t`, `-e`, `-p`, `-d`), for
scripts and plans that people read; the engine asks for the long spellings (`long_flags`).
Secrets are passed by name only: `--secret id=NAME,env=NAME` for builds, `--env NAME` for
containers; no value is ever placed on a command line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Literal

from hwdock.plan.model import ImageStep, Mount, RunSpec

BuildMode = Literal["buildx", "buildkit", "legacy", "podman"]

_SHORT = {
    "--file": "-f",
    "--tag": "-t",
    "--env": "-e",
    "--publish": "-p",
    "--detach": "-d",
}


def engine_kind(cli: str) -> Literal["docker", "podman"]:
    """ "podman" for a client whose name says so, else "docker"."""
    return "podman" if "podman" in os.path.basename(cli) else "docker"


def _flag(name: str, long_flags: bool) -> str:
    return name if long_flags else _SHORT.get(name, name)


def inspect_argv(image: str, cli: str = "docker") -> list[str]:
    return [cli, "image", "inspect", image]


def pull_argv(
    image: str | ImageStep,
    cli: str = "docker",
    *,
    platform: str | None = None,
    tls_verify: bool = True,
) -> list[str]:
    """`pull`; `tls_verify=False` (Podman and a registry on this machine) adds the flag."""
    ref = image.image if isinstance(image, ImageStep) else image
    argv = [cli, "pull"]
    if not tls_verify:
        argv.append("--tls-verify=false")
    if platform:
        argv += ["--platform", platform]
    return [*argv, ref]


def dockerfile_path(step: ImageStep) -> str | None:
    """Where `-f` points for a step: "-" (stdin) for a generated Dockerfile, else the step's
    Dockerfile joined to its context (a relative `-f` is read from the current folder)."""
    if step.generated_dockerfile is not None:
        return "-"
    if not step.dockerfile:
        return None
    if not step.context or step.dockerfile.startswith("/"):
        return step.dockerfile
    return step.context.rstrip("/") + "/" + step.dockerfile


def build_argv(
    step: ImageStep,
    cli: str = "docker",
    *,
    mode: BuildMode | None = None,
    context: str | None = None,
    dockerfile: str | None = None,
    iidfile: str | None = None,
    labels: Mapping[str, str] | None = None,
    network: str | None = None,
    tag: str | None = None,
    no_cache: bool = False,
    long_flags: bool = False,
) -> list[str]:
    """The build command for one step.

    `mode` None is the plain `build` a script runs (with DOCKER_BUILDKIT=1 in front where
    needed); the engine passes its build mode: `buildx build --load`, or `build` with
    BuildKit built in (plain progress), or the legacy builder (no secrets: it has none).
    `dockerfile`, `labels` and `tag` default to the step's (`dockerfile_path`, its labels,
    its image); "" leaves the flag out (the engine builds untagged and tags on success).
    """
    if mode == "buildx":
        argv = [cli, "buildx", "build", "--load", "--progress=plain"]
    elif mode == "buildkit":
        argv = [cli, "build", "--progress=plain"]
    else:
        argv = [cli, "build"]
    df = dockerfile if dockerfile is not None else dockerfile_path(step)
    if df:
        argv += [_flag("--file", long_flags), df]
    if step.target:
        argv += ["--target", step.target]
    if step.platform:
        argv += ["--platform", step.platform]
    if network:
        argv += ["--network", network]
    if no_cache:
        argv.append("--no-cache")
    for key, value in step.build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    if mode != "legacy":
        for name in step.secrets:
            argv += ["--secret", f"id={name},env={name}"]
    for key, value in (step.labels if labels is None else labels).items():
        argv += ["--label", f"{key}={value}"]
    if iidfile:
        argv += ["--iidfile", iidfile]
    name = step.image if tag is None else tag
    if name:
        argv += [_flag("--tag", long_flags), name]
    return [*argv, context if context is not None else (step.context or ".")]


def _csv_field(text: str) -> str:
    """One field of the comma-separated --mount value, quoted when it needs to be."""
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


def runtime_to_cdi(runtime: str) -> list[str]:
    """The CDI devices Podman gets instead of a Docker OCI runtime: for Jetson's `nvidia`
    runtime, `nvidia.com/gpu=all` (cuda.toml [jetson_container]); [] for any other runtime,
    which Podman is given by name (`--runtime crun`)."""
    from hwdock.plan.facts import jetson_container

    jc = jetson_container()
    return [jc["podman_device"]] if runtime == jc["runtime"] else []


def gpus_to_cdi(gpus: str) -> list[str]:
    """docker's `--gpus` value as CDI names: "all" -> nvidia.com/gpu=all, "device=0,1" -> ..."""
    value = gpus.strip()
    if value in ("all", "") or value.isdigit():
        return ["nvidia.com/gpu=all"]
    if value.startswith("device="):
        ids = value.split("=", 1)[1].strip('"').split(",")
        return [f"nvidia.com/gpu={i.strip()}" for i in ids if i.strip()]
    return ["nvidia.com/gpu=all"]


def run_argv(
    spec: RunSpec,
    cli: str = "docker",
    *,
    command: list[str] | None = None,
    detach: bool = False,
    interactive: bool = False,
    entrypoint: str | None = None,
    remove: bool = True,
    image: str | None = None,
    long_flags: bool = False,
    engine: Literal["docker", "podman"] | None = None,
) -> list[str]:
    """The run command. `image` replaces the spec's (Podman: the fully qualified name);
    `engine` defaults to what the client's name says."""
    argv = [cli, "run"]
    if remove:
        argv.append("--rm")
    if detach:
        argv.append(_flag("--detach", long_flags))
    if interactive:
        argv += ["--interactive", "--tty"]
    if spec.name:
        argv += ["--name", spec.name]
    for dev in spec.devices:
        argv += ["--device", dev]
    for gid in spec.group_add:
        argv += ["--group-add", str(int(gid))]
    podman = (engine or engine_kind(cli)) == "podman"
    cdi = list(spec.cdi_devices)
    if spec.runtime:
        stand_in = runtime_to_cdi(spec.runtime) if podman else []
        if stand_in:
            cdi += [d for d in stand_in if d not in cdi]
        else:
            argv += ["--runtime", spec.runtime]
    if spec.gpus:
        if podman:
            cdi += [d for d in gpus_to_cdi(spec.gpus) if d not in cdi]
        else:
            argv += ["--gpus", spec.gpus]
    for dev in cdi:
        argv += ["--device", dev]
    if spec.ipc:
        argv += ["--ipc", spec.ipc]
    if spec.shm_size and spec.ipc != "host":
        argv += ["--shm-size", spec.shm_size]
    for m in spec.mounts:
        argv += ["--mount", mount_arg(m)]
    for key, value in spec.env.items():
        argv += [_flag("--env", long_flags), f"{key}={value}"]
    for name in spec.env_passthrough:
        argv += [_flag("--env", long_flags), name]  # the value comes from the environment
    for host_port, container_port in spec.ports:
        argv += [_flag("--publish", long_flags), f"{int(host_port)}:{int(container_port)}"]
    for cap in spec.cap_add:
        argv += ["--cap-add", cap]
    for opt in spec.security_opt:
        argv += ["--security-opt", opt]
    if spec.privileged:
        argv.append("--privileged")
    if entrypoint:
        argv += ["--entrypoint", entrypoint]
    argv.append(spec.image if image is None else image)
    argv += list(spec.command if command is None else command)
    return argv
