"""The plan as commands: argv lists for each step and the run, and a POSIX sh script.

Every value in the script is single-quoted (a `'` inside becomes `'"'"'`), so spaces, quotes,
`$(...)`, backquotes and newlines reach the engine unchanged. The engine is `docker` unless
the script's caller sets `DOCKER` (e.g. `DOCKER=podman`).
"""

from __future__ import annotations

from hwdock.plan.model import ImageStep, Plan, RunSpec

_FORCE = "see the VERDICT lines, or set HWDOCK_FORCE=1 to run it anyway"


def quote(value: str) -> str:
    if value and all((c.isascii() and c.isalnum()) or c in "@%+=:,./-_" for c in value):
        return value
    return "'" + value.replace("'", "'\"'\"'") + "'"


def pull_argv(step: ImageStep) -> list[str]:
    return ["docker", "pull", step.image]


def build_argv(step: ImageStep, dockerfile_path: str | None = None) -> list[str]:
    argv = ["docker", "build"]
    dockerfile = dockerfile_path or step.dockerfile
    if dockerfile:
        argv += ["-f", dockerfile if dockerfile_path else _join(step.context, dockerfile)]
    if step.target:
        argv += ["--target", step.target]
    if step.platform:
        argv += ["--platform", step.platform]
    for key, value in step.build_args.items():
        argv += ["--build-arg", f"{key}={value}"]
    for key, value in step.labels.items():
        argv += ["--label", f"{key}={value}"]
    for secret in step.secrets:
        argv += ["--secret", f"id={secret},env={secret}"]
    argv += ["-t", step.image, step.context or "."]
    return argv


def _join(context: str | None, rel: str) -> str:
    if not context or rel.startswith("/"):
        return rel
    return context.rstrip("/") + "/" + rel


def run_argv(spec: RunSpec) -> list[str]:
    argv = ["docker", "run", "--rm"]
    if spec.name:
        argv += ["--name", spec.name]
    for dev in spec.devices:
        argv += ["--device", dev]
    for gid in spec.group_add:
        argv += ["--group-add", str(gid)]
    if spec.gpus:
        argv += ["--gpus", spec.gpus]
    for dev in spec.cdi_devices:
        argv += ["--device", dev]
    if spec.ipc:
        argv += [f"--ipc={spec.ipc}"]
    if spec.shm_size:
        argv += ["--shm-size", spec.shm_size]
    for m in spec.mounts:
        if m.kind == "tmpfs":
            argv += ["--tmpfs", m.target]
            continue
        argv += ["-v", f"{m.source}:{m.target}" + (":ro" if m.read_only else "")]
    for key, value in spec.env.items():
        argv += ["-e", f"{key}={value}"]
    for name in spec.env_passthrough:
        argv += ["-e", name]  # by name: the value comes from the caller's environment
    for host_port, container_port in spec.ports:
        argv += ["-p", f"{host_port}:{container_port}"]
    for cap in spec.cap_add:
        argv += ["--cap-add", cap]
    for opt in spec.security_opt:
        argv += ["--security-opt", opt]
    if spec.privileged:
        argv += ["--privileged"]
    argv += [spec.image, *spec.command]
    return argv


def _line(argv: list[str]) -> str:
    head, rest = argv[0], argv[1:]
    assert head == "docker"
    return '"$DOCKER" ' + " ".join(quote(a) for a in rest)


def _heredoc_delim(text: str) -> str:
    delim = "HWDOCK_DOCKERFILE"
    lines = set(text.splitlines())
    while delim in lines:
        delim += "_"
    return delim


def _comment(text: str) -> str:
    return " ".join(text.split())


def to_script(plan: Plan) -> str:
    out = [
        "#!/bin/sh",
        f"# Written by `hwdock plan`: {plan.recipe} on {plan.platform}, route {plan.route}.",
        "# Every value is single-quoted. Set DOCKER=podman to use Podman.",
        "set -eu",
        'DOCKER="${DOCKER:-docker}"',
        "export DOCKER_BUILDKIT=1",
    ]
    errors = [v for v in plan.verdicts if v.severity == "error"]
    for v in errors:
        out.append(f"# VERDICT {v.code}: {_comment(v.message)}")
    if errors:
        codes = ", ".join(sorted({v.code for v in errors}))
        out += [
            'if [ "${HWDOCK_FORCE:-}" != 1 ]; then',
            "  echo "
            + quote(f"hwdock: this plan cannot work on the planned host ({codes}); " + _FORCE)
            + " >&2",
            "  exit 11",
            "fi",
        ]
    for i, step in enumerate(plan.steps, 1):
        out.append("")
        out.append(
            f"# step {i} ({step.id}): {step.action} {_comment(step.image)}: "
            + _comment(step.reason)
        )
        if step.action == "use-local":
            out.append(f"# {step.image} is already present locally")
            continue
        if step.action == "pull":
            out.append(_line(pull_argv(step)))
            continue
        body: list[str] = []
        if step.generated_dockerfile is not None:
            delim = _heredoc_delim(step.generated_dockerfile)
            body += [
                'hwdock_df="$(mktemp)"',
                f"cat > \"$hwdock_df\" <<'{delim}'",
                step.generated_dockerfile.rstrip("\n"),
                delim,
            ]
            argv = build_argv(step, dockerfile_path="@DF@")
            line = _line(argv).replace(quote("@DF@"), '"$hwdock_df"')
            body += [line, 'rm -f "$hwdock_df"']
        else:
            body.append(_line(build_argv(step)))
        if step.skip_if_present:
            out.append(f'if ! "$DOCKER" image inspect {quote(step.image)} >/dev/null 2>&1; then')
            out += body  # not indented: a heredoc body must stay as it is
            out.append("fi")
        else:
            out += body
    if plan.run is not None:
        out.append("")
        for note in plan.run.notes:
            out.append(f"# {_comment(note)}")
        out.append("# run")
        out.append("exec " + _line(run_argv(plan.run)))
    return "\n".join(out) + "\n"
