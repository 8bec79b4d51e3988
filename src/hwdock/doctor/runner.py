"""How verify starts its container: the engine API when present, else the engine's CLI.

`find_runner()` prefers `hwdock.engine.detect.find_engine()`; `CliRunner` is a small
stand-in over `docker`/`podman run` with the same two methods verify uses.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import uuid
from typing import Any

from hwdock.doctor.verify import ContainerRunner
from hwdock.errors import ExitCode, HwdockError
from hwdock.plan.model import RunSpec


class CliRunner:
    """`docker run` / `podman run` from a RunSpec."""

    def __init__(self, binary: str, name: str | None = None) -> None:
        self.binary = binary
        self.name = name or ("podman" if "podman" in binary.rsplit("/", 1)[-1] else "docker")

    def image_inspect(self, ref: str) -> dict[str, Any] | None:
        out = subprocess.run(
            [self.binary, "image", "inspect", ref], capture_output=True, text=True, timeout=60
        )
        if out.returncode != 0:
            return None
        try:
            doc = json.loads(out.stdout)
        except json.JSONDecodeError:
            return None
        return doc[0] if isinstance(doc, list) and doc else None

    def run_argv(self, spec: RunSpec, command: list[str] | None = None, *, name: str) -> list[str]:
        argv = [self.binary, "run", "--rm", "--name", name]
        if spec.entrypoint is not None:
            argv += ["--entrypoint", spec.entrypoint]
        for d in spec.devices:
            argv += ["--device", d]
        for c in spec.cdi_devices:
            argv += ["--device", c]
        for g in spec.group_add:
            argv += ["--group-add", str(g)]
        if spec.gpus:
            argv += ["--gpus", spec.gpus]
        if spec.ipc:
            argv += ["--ipc", spec.ipc]
        if spec.shm_size:
            argv += ["--shm-size", spec.shm_size]
        for m in spec.mounts:
            opts = f"type={m.kind},source={m.source},target={m.target}"
            argv += ["--mount", opts + (",readonly" if m.read_only else "")]
        for k, v in spec.env.items():
            argv += ["-e", f"{k}={v}"]
        for k in spec.env_passthrough:
            argv += ["-e", k]
        for cap in spec.cap_add:
            argv += ["--cap-add", cap]
        for opt in spec.security_opt:
            argv += ["--security-opt", opt]
        if spec.privileged:
            argv.append("--privileged")
        return [*argv, spec.image, *(command if command is not None else spec.command)]

    def run(
        self, spec: RunSpec, command: list[str] | None = None, *, timeout: float | None = None
    ) -> subprocess.CompletedProcess[str]:
        name = spec.name or f"hwdock-verify-{uuid.uuid4().hex[:12]}"
        argv = self.run_argv(spec, command, name=name)
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as err:
            subprocess.run([self.binary, "rm", "-f", name], capture_output=True, timeout=60)
            out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
            return subprocess.CompletedProcess(argv, 124, out, f"timed out after {timeout}s")


def find_runner(engine: str | None = None) -> ContainerRunner:
    try:
        from hwdock.engine.detect import find_engine  # type: ignore[import-not-found]
    except ImportError:
        pass
    else:
        return find_engine(engine)  # type: ignore[no-any-return]
    names = [engine] if engine else ["docker", "podman"]
    for name in names:
        path = shutil.which(name)
        if path:
            return CliRunner(path)
    raise HwdockError(
        "no container engine found (docker or podman)",
        hint="install Docker Engine or Podman; `hwdock doctor` says what is missing",
        exit_code=ExitCode.ENGINE_UNAVAILABLE,
    )
