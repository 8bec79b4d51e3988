"""The container engine hwdock found: Docker (BuildKit) or Podman, behind one object.

Only argv building and small synchronous calls live here; running a whole plan (hashing,
locks, progress, logs, cancellation) is `engine/execute.py`. Every argv is returned as a
list so `--dry-run` can print exactly what would run.

Secrets: a build gets them only as BuildKit secrets (`--secret id=NAME,env=NAME`), a
container only as `-e NAME` (the engine copies the value from hwdock's environment); no
value is ever placed on a command line, in a label or in a log.
"""

from __future__ import annotations

import json
import os

from hwdock.errors import ExitCode, HwdockError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:  # the "nothing changed" build path imports none of these (start-up time)
    import _socket
    import subprocess
    from collections.abc import Mapping, Sequence
    from typing import Any, Literal

    from hwdock.engine.api import EngineAPI
    from hwdock.engine.argv import BuildMode
    from hwdock.plan.model import ImageStep, RunSpec


class PendingInspect:
    """An image inspect under way: a client process, or a request sent to the Engine API."""

    __slots__ = ("proc", "ref", "request")

    def __init__(
        self,
        ref: str,
        proc: subprocess.Popen[str] | None = None,
        request: _socket.socket | None = None,
    ) -> None:
        self.ref = ref
        self.proc = proc
        self.request = request


class ContainerEngine:
    """A plain class, not a dataclass: `dataclasses` (with `inspect`) costs about 9 ms to
    import, a quarter of an up-to-date `hwdock build`. `to_dict()` gives its fields."""

    FIELDS = ("name", "cli", "build_mode", "version", "notes")

    def __init__(
        self,
        name: Literal["docker", "podman"],
        cli: str,  # absolute path of the client
        build_mode: BuildMode,
        version: str = "",
        notes: list[str] | None = None,  # how it was found, warnings
    ) -> None:
        self.name = name
        self.cli = cli
        self.build_mode = build_mode
        self.version = version
        self.notes: list[str] = [] if notes is None else notes
        self._api_obj: EngineAPI | None = None
        self._api_off = False  # True: ask the client (no local socket, or it failed)

    def to_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f) for f in self.FIELDS}

    def __repr__(self) -> str:
        args = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.FIELDS)
        return f"ContainerEngine({args})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self.to_dict() == other.to_dict()  # type: ignore[attr-defined]

    # ---- environment -------------------------------------------------------------------

    def env(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ if base is None else base)
        if self.build_mode == "buildkit":
            env["DOCKER_BUILDKIT"] = "1"
        elif self.build_mode == "legacy":
            env["DOCKER_BUILDKIT"] = "0"
        if self.name == "docker":
            env.setdefault("BUILDKIT_PROGRESS", "plain")
        return env

    def build_env_prefix(self) -> list[str]:
        """What `--dry-run` shows in front of the build command."""
        if self.build_mode == "buildkit":
            return ["DOCKER_BUILDKIT=1"]
        if self.build_mode == "legacy":
            return ["DOCKER_BUILDKIT=0"]
        return []

    @property
    def has_buildkit(self) -> bool:
        return self.build_mode in ("buildx", "buildkit", "podman")

    def _call(
        self, args: Sequence[str], *, timeout: float = 60, check: bool = False
    ) -> subprocess.CompletedProcess[str]:
        import subprocess

        try:
            out = subprocess.run(
                [self.cli, *args], capture_output=True, text=True, timeout=timeout, env=self.env()
            )
        except OSError as err:  # gone since detection, or no longer executable
            raise HwdockError(
                f"{self.cli} cannot be run: {err.strerror or err}",
                hint="install the client again, or name another with --engine",
                exit_code=ExitCode.ENGINE_UNAVAILABLE,
            ) from None
        except subprocess.TimeoutExpired as err:
            raise HwdockError(
                f"`{self.name} {' '.join(args[:2])}` did not answer within {timeout:.0f}s",
                hint=f"check the {self.name} daemon ({self.name} info)",
                exit_code=ExitCode.ENGINE_UNAVAILABLE,
            ) from err
        if check and out.returncode != 0:
            raise HwdockError(
                f"`{self.name} {' '.join(args)}` failed: {out.stderr.strip()[-500:]}",
                exit_code=ExitCode.ENGINE_UNAVAILABLE
                if "daemon" in out.stderr.lower()
                else ExitCode.RUN_FAILED,
            )
        return out

    # ---- images ------------------------------------------------------------------------

    def normalise(self, ref: str) -> str:
        """Podman wants fully qualified names; Docker takes them as written."""
        if self.name != "podman":
            return ref
        from hwdock.engine.reference import fully_qualified

        return fully_qualified(ref)

    def image_inspect(self, ref: str) -> dict[str, Any] | None:
        api = self._api()
        if api is not None:
            from hwdock.engine.api import ApiUnavailable

            try:
                return api.image_inspect(ref)
            except ApiUnavailable:
                self._api_off = True  # ask the client from now on (it names the problem)
        out = self._call(["image", "inspect", ref])
        return self._inspect_result(out)

    def _api(self) -> EngineAPI | None:
        """The Engine API on the daemon's local socket (Docker only), or None: the client."""
        if self.name != "docker" or self._api_off:
            return None
        api = self._api_obj
        if api is None:
            from hwdock.engine.api import EngineAPI, docker_socket

            path = docker_socket()
            if path is None:
                self._api_off = True
                return None
            api = self._api_obj = EngineAPI(path)
        return api

    def _inspect_result(self, out: subprocess.CompletedProcess[str]) -> dict[str, Any] | None:
        if out.returncode != 0:
            err = out.stderr.lower()
            if "cannot connect" in err or "daemon running" in err or "connection refused" in err:
                raise HwdockError(
                    f"the {self.name} daemon does not answer ({out.stderr.strip()[-200:]})",
                    hint="start it (sudo systemctl start docker, or dockerd &) and check "
                    f"`{self.name} info`",
                    exit_code=ExitCode.ENGINE_UNAVAILABLE,
                )
            return None
        try:
            data = json.loads(out.stdout)
        except json.JSONDecodeError:
            return None
        return data[0] if isinstance(data, list) and data else None

    def image_inspect_start(self, ref: str) -> PendingInspect:
        """Start an inspect, to finish with `image_inspect_finish` after other work (the context
        digest): a request to the Engine API, or else a client process in the background."""
        api = self._api()
        if api is not None:
            from hwdock.engine.api import ApiUnavailable

            try:
                return PendingInspect(ref, request=api.image_inspect_start(ref))
            except ApiUnavailable:
                self._api_off = True  # ask the client from now on (it names the problem)
        import subprocess

        try:
            proc = subprocess.Popen(
                [self.cli, "image", "inspect", ref],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
                env=self.env(),
            )
        except OSError as err:  # the client found at detection is gone or not runnable
            raise HwdockError(
                f"{self.cli} cannot be run: {err.strerror or err}",
                hint="install the client again, or name another with --engine",
                exit_code=ExitCode.ENGINE_UNAVAILABLE,
            ) from None
        return PendingInspect(ref, proc=proc)

    def image_inspect_finish(self, pending: PendingInspect) -> dict[str, Any] | None:
        if pending.request is not None:
            from hwdock.engine.api import ApiUnavailable

            api = self._api_obj
            assert api is not None  # it sent the request
            try:
                return api.image_inspect_finish(pending.request, pending.ref)
            except ApiUnavailable:
                self._api_off = True
                return self._inspect_result(self._call(["image", "inspect", pending.ref]))
        proc = pending.proc
        assert proc is not None
        import subprocess

        out, err = proc.communicate(timeout=60)
        return self._inspect_result(
            subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
        )

    def image_exists(self, ref: str) -> bool:
        return self.image_inspect(ref) is not None

    def image_id(self, ref: str) -> str | None:
        info = self.image_inspect(ref)
        return str(info.get("Id")) if info else None

    def image_labels(self, ref: str) -> dict[str, str]:
        info = self.image_inspect(ref) or {}
        cfg = info.get("Config") or {}
        return dict(cfg.get("Labels") or {})

    def _tls_args(self, ref: str) -> list[str]:
        """Podman insists on TLS unless told; Docker allows http for 127.0.0.0/8 itself."""
        if self.name != "podman":
            return []
        from hwdock.engine.reference import is_local_registry, parse_reference

        try:
            domain = parse_reference(ref).domain
        except HwdockError:
            return []
        return ["--tls-verify=false"] if is_local_registry(domain) else []

    def pull_argv(self, ref: str, platform: str | None = None) -> list[str]:
        from hwdock.engine import argv as argv_

        return argv_.pull_argv(
            self.normalise(ref), self.cli, platform=platform, tls_verify=not self._tls_args(ref)
        )

    def pull(self, ref: str, platform: str | None = None, timeout: float = 3600) -> None:
        out = self._call(self.pull_argv(ref, platform)[1:], timeout=timeout)
        if out.returncode != 0:
            raise HwdockError(
                f"pulling {ref} failed: {out.stderr.strip()[-400:]}",
                hint="check the image name and that the registry answers",
                exit_code=ExitCode.REGISTRY,
            )

    def push(self, ref: str, timeout: float = 600) -> None:
        out = self._call(["push", *self._tls_args(ref), ref], timeout=timeout)
        if out.returncode != 0:
            raise HwdockError(
                f"pushing {ref} failed: {out.stderr.strip()[-400:]}", exit_code=ExitCode.REGISTRY
            )

    def tag_argv(self, source: str, target: str) -> list[str]:
        return [self.cli, "tag", source, target]

    def tag(self, source: str, target: str) -> None:
        self._call(self.tag_argv(source, target)[1:], check=True)

    def remove(self, ref: str, *, force: bool = True) -> bool:
        args = ["image", "rm"] + (["--force"] if force else []) + [ref]
        return self._call(args).returncode == 0

    # ---- build -------------------------------------------------------------------------

    def build_argv(
        self,
        step: ImageStep,
        *,
        context: str,
        dockerfile: str | None,
        iidfile: str | None = None,
        labels: Mapping[str, str] | None = None,
        network: str | None = None,
        tag: str | None = None,
        no_cache: bool = False,
    ) -> list[str]:
        """The build command. Without `tag` the image stays untagged until hwdock tags it."""
        from hwdock.engine import argv as argv_

        return argv_.build_argv(
            step,
            self.cli,
            mode=self.build_mode,
            context=context,
            dockerfile=dockerfile or "",
            iidfile=iidfile,
            labels=labels or {},
            network=network,
            tag=tag or "",
            no_cache=no_cache,
            long_flags=True,
        )

    # ---- run ---------------------------------------------------------------------------

    def run_argv(
        self,
        spec: RunSpec,
        command: list[str] | None = None,
        *,
        detach: bool = False,
        interactive: bool = False,
        entrypoint: str | None = None,
        remove: bool = True,
    ) -> list[str]:
        from hwdock.engine import argv as argv_

        return argv_.run_argv(
            spec,
            self.cli,
            command=command,
            detach=detach,
            interactive=interactive,
            entrypoint=entrypoint,
            remove=remove,
            image=self.normalise_run_image(spec.image),
            engine=self.name,
            long_flags=True,
        )

    def normalise_run_image(self, ref: str) -> str:
        if self.name != "podman":
            return ref
        return ref if self.image_exists(ref) else self.normalise(ref)

    def run(
        self,
        spec: RunSpec,
        command: list[str] | None = None,
        *,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]:
        import subprocess

        argv = self.run_argv(spec, command)
        try:
            return subprocess.run(
                argv, capture_output=True, text=True, timeout=timeout, env=self.env()
            )
        except subprocess.TimeoutExpired as err:
            raise HwdockError(
                f"the container did not finish within {timeout}s",
                exit_code=ExitCode.RUN_FAILED,
            ) from err

    def build(self, step: ImageStep, **kwargs: Any) -> Any:
        """Build one plan step (hashing, lock, progress, logs): see execute.build_step."""
        from hwdock.engine.execute import build_step

        return build_step(self, step, **kwargs)
