"""How verify starts its container: through the engine API when it is there.

`find_runner()` wraps `hwdock.engine.detect.find_engine()` (the engine builds the
`docker/podman run` argv); `CliRunner` is a small stand-in over the engine's CLI for
checkouts without `hwdock.engine`. Both name the container so a timeout can remove it.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
import uuid
from typing import Any

from hwdock.doctor.verify import ContainerRunner
from hwdock.errors import ExitCode, HwdockError
from hwdock.plan.model import RunSpec


def _name(spec: RunSpec) -> str:
    return spec.name or f"hwdock-verify-{uuid.uuid4().hex[:12]}"


class _NamedRun:
    """`run()` for both runners: the container gets a name, so that a timeout can remove it."""

    def run_argv(
        self, spec: RunSpec, command: list[str] | None = None, *, entrypoint: str | None = None
    ) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str] | None:
        return None

    def run(
        self,
        spec: RunSpec,
        command: list[str] | None = None,
        *,
        timeout: float | None = None,
        entrypoint: str | None = None,
    ) -> subprocess.CompletedProcess[str]:
        name = _name(spec)
        argv = self.run_argv(dataclasses.replace(spec, name=name), command, entrypoint=entrypoint)
        env = self.env()
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired as err:
            subprocess.run([argv[0], "rm", "-f", name], capture_output=True, timeout=60, env=env)
            out = err.stdout.decode() if isinstance(err.stdout, bytes) else (err.stdout or "")
            return subprocess.CompletedProcess(argv, 124, out, f"timed out after {timeout}s")


class EngineRunner(_NamedRun):
    """A `hwdock.engine` ContainerEngine seen through verify's two calls."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.name = str(engine.name)

    def image_inspect(self, ref: str) -> dict[str, Any] | None:
        return self.engine.image_inspect(ref)  # type: ignore[no-any-return]

    def run_argv(
        self, spec: RunSpec, command: list[str] | None = None, *, entrypoint: str | None = None
    ) -> list[str]:
        return self.engine.run_argv(spec, command, entrypoint=entrypoint)  # type: ignore[no-any-return]

    def env(self) -> dict[str, str] | None:
        return self.engine.env() if hasattr(self.engine, "env") else None


class CliRunner(_NamedRun):
    """`docker run` / `podman run` from a RunSpec, for checkouts without `hwdock.engine`."""

    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.name = "podman" if "podman" in binary.rsplit("/", 1)[-1] else "docker"

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

    def run_argv(
        self, spec: RunSpec, command: list[str] | None = None, *, entrypoint: str | None = None
    ) -> list[str]:
        from hwdock.engine.argv import run_argv

        return run_argv(spec, self.binary, command=command, entrypoint=entrypoint)


def find_runner(engine: str | None = None) -> ContainerRunner:
    """The engine hwdock uses everywhere, or (without `hwdock.engine`) the first CLI found."""
    try:
        from hwdock.engine.detect import (  # type: ignore[import-not-found]
            engine_warnings,
            find_engine,
        )
    except ImportError:
        pass
    else:
        found = find_engine(engine)
        for message in engine_warnings(found):  # e.g. Podman because Docker's daemon is down
            sys.stderr.write(f"hwdock: warning: {message}\n")
        return EngineRunner(found)
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
