"""Running the few commands the probe needs (nvidia-smi, docker, podman, nvidia-ctk).

`LiveRunner` runs them in a subprocess with a timeout and never hangs (the whole process
group is killed when time is up). `ReplayRunner` answers from a capture's commands.json: an
argv that was not recorded is "not found" (127), as if the tool were not installed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import subprocess

NOT_FOUND = 127
DEFAULT_TIMEOUT = 10.0


class CommandResult:
    """What one command answered (a plain class: this module loads on every replay)."""

    __slots__ = ("argv", "returncode", "stderr", "stdout", "timed_out")

    def __init__(
        self,
        argv: tuple[str, ...],
        stdout: str = "",
        stderr: str = "",
        returncode: int = 0,
        timed_out: bool = False,
    ) -> None:
        self.argv, self.stdout, self.stderr = argv, stdout, stderr
        self.returncode, self.timed_out = returncode, timed_out

    def __repr__(self) -> str:
        return f"CommandResult({self.to_dict()!r})"

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    @property
    def missing(self) -> bool:
        return self.returncode == NOT_FOUND and not self.timed_out

    def to_dict(self) -> dict[str, Any]:
        return {
            "argv": list(self.argv),
            "stdout": self.stdout,
            "stderr": self.stderr,
            "returncode": self.returncode,
            "timed_out": self.timed_out,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> CommandResult:
        rc = d.get("returncode", 0)
        argv = d.get("argv", [])
        if not isinstance(argv, list) or not all(isinstance(a, str) for a in argv):
            raise ValueError(f"argv must be a list of strings, not {argv!r:.60}")
        return cls(
            argv=tuple(str(a) for a in d.get("argv", [])),
            stdout=str(d.get("stdout") or ""),
            stderr=str(d.get("stderr") or ""),
            returncode=rc if isinstance(rc, int) else 1,
            timed_out=bool(d.get("timed_out", False)),
        )


class Runner(Protocol):
    live: bool

    def run(self, argv: list[str], timeout: float = DEFAULT_TIMEOUT) -> CommandResult: ...


class LiveRunner:
    """Runs commands for real, with LC_ALL=C, no stdin, and a hard timeout."""

    live = True

    def __init__(self, env: dict[str, str] | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        self._env["LC_ALL"] = "C"

    def run(self, argv: list[str], timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        import shutil
        import subprocess  # here, not at import: replaying a capture never runs anything

        key = tuple(argv)
        exe = shutil.which(argv[0], path=self._env.get("PATH"))
        if exe is None:
            return CommandResult(key, "", f"{argv[0]}: command not found", NOT_FOUND)
        try:
            proc = subprocess.Popen(
                [exe, *argv[1:]],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self._env,
                start_new_session=True,  # so a timeout can kill the tool and its children
            )
        except OSError as err:
            return CommandResult(key, "", f"{argv[0]}: {err.strerror or err}", 126)
        try:
            out, err_b = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            try:
                out, err_b = proc.communicate(timeout=2)
            except subprocess.TimeoutExpired:  # a grandchild still holds the pipes
                out, err_b = b"", b""
            return CommandResult(
                key, _decode(out), _decode(err_b) + f"\ntimed out after {timeout:g}s", 124, True
            )
        return CommandResult(key, _decode(out), _decode(err_b), proc.returncode)


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    import signal

    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except OSError:
        proc.kill()


def _decode(b: bytes | None) -> str:
    return (b or b"").decode("utf-8", errors="replace")


class ReplayRunner:
    """Answers from recorded results; anything not recorded is "command not found"."""

    live = False

    def __init__(self, results: list[CommandResult]) -> None:
        self._results: dict[tuple[str, ...], CommandResult] = {}
        for r in results:
            self._results.setdefault(r.argv, r)
        self.calls: list[tuple[str, ...]] = []

    def run(self, argv: list[str], timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        key = tuple(argv)
        self.calls.append(key)
        found = self._results.get(key)
        if found is not None:
            return found
        return CommandResult(key, "", f"{argv[0]}: command not found (not in capture)", NOT_FOUND)


class RecordingRunner:
    """Wraps a runner and keeps every result, for `hwdock capture`."""

    def __init__(self, inner: Runner) -> None:
        self.inner = inner
        self.live = inner.live
        self.results: list[CommandResult] = []

    def run(self, argv: list[str], timeout: float = DEFAULT_TIMEOUT) -> CommandResult:
        result = self.inner.run(argv, timeout)
        self.results.append(result)
        return result
