"""Per-run folders, locks and the event stream.

Each `hwdock build/run/up` gets `<user_state_dir>/hwdock/runs/<UTC timestamp>-<id>/` with
`plan.json` (the plan as run; it never holds secret values) and `build.log` (everything the
engine printed, one build after another). `HWDOCK_STATE_DIR` moves the state directory
(tests use it). Locks live in `<state>/locks/`, one file per image tag.
"""

from __future__ import annotations

import json
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from hwdock.errors import ExitCode, HwdockError
from hwdock.sha import sha256

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:  # types only: `hwdock build`'s fast path imports this module
    from collections.abc import Callable, Iterator
    from typing import IO, Any

    Sink = Callable[[dict[str, Any]], None]

EVENT_SCHEMA_VERSION = 1


def state_dir() -> Path:
    """Where runs, locks, caches and watchers keep their files (`HWDOCK_STATE_DIR` moves it)."""
    env = os.environ.get("HWDOCK_STATE_DIR")
    if env:
        return Path(env)
    if sys.platform.startswith("linux"):
        # platformdirs' rule on Linux (the XDG base directory spec), without its import, which
        # costs ~20 ms (typing, tempfile, re) on every build; tests/test_engine_units.py
        # checks that both give the same folder
        base = os.environ.get("XDG_STATE_HOME", "")
        if not base.strip() or not os.path.isabs(base):  # unset, blank or relative: ignored
            base = os.path.expanduser("~/.local/state")
        return Path(base, "hwdock")
    from platformdirs import user_state_dir

    return Path(user_state_dir("hwdock", appauthor=False))


class RunLog:
    """A run's folder: plan.json, build.log, events.jsonl."""

    def __init__(self, root: Path | None = None, *, create: bool = True):
        # time and os rather than datetime and secrets: those cost ~10 ms to import
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        self.dir = (root or state_dir() / "runs") / f"{stamp}-{os.urandom(3).hex()}"
        if create:
            self.dir.mkdir(parents=True, exist_ok=True)
        self.build_log = self.dir / "build.log"
        self._log: IO[str] | None = None

    def write_plan(self, plan_dict: dict[str, Any]) -> Path:
        p = self.dir / "plan.json"
        p.write_text(json.dumps(plan_dict, indent=2) + "\n")
        return p

    def log(self) -> IO[str]:
        if self._log is None:
            self._log = open(self.build_log, "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        return self._log

    def close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class Events:
    """Build events: one dict per happening, to any number of sinks (JSON lines, rich, tests)."""

    def __init__(self, *sinks: Sink):
        self.sinks = list(sinks)

    def emit(self, event: str, **fields: Any) -> None:
        doc = {
            "kind": "build-event",
            "schema_version": EVENT_SCHEMA_VERSION,
            "event": event,
            "time": round(time.time(), 3),
            **fields,
        }
        for s in self.sinks:
            s(doc)


def json_lines_sink(stream: IO[str] | None = None) -> Sink:
    def sink(doc: dict[str, Any]) -> None:
        out = stream or sys.stdout
        out.write(json.dumps(doc, ensure_ascii=False) + "\n")
        out.flush()

    return sink


@contextmanager
def tag_lock(
    tag: str, *, wait: bool = True, on_wait: Callable[[], None] | None = None
) -> Iterator[Path]:
    """Hold an exclusive lock for building `tag`; another hwdock waits (or fails, LOCKED)."""
    import errno
    import fcntl

    d = state_dir() / "locks"
    d.mkdir(parents=True, exist_ok=True)
    path = d / (sha256(tag.encode()).hexdigest()[:24] + ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            if not wait:
                raise HwdockError(
                    f"another hwdock is building {tag} (lock {path})",
                    hint="wait for it, or run again without --no-wait to queue behind it",
                    exit_code=ExitCode.LOCKED,
                ) from None
            if on_wait:
                on_wait()
            fcntl.flock(fd, fcntl.LOCK_EX)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {tag}\n".encode())
        yield path
    finally:
        os.close(fd)  # closing releases the flock
