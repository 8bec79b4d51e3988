"""The build's side of the context watcher (see `engine/watchd.py`).

`watched_context_digest` asks the context's watcher for the digest. When it has a current
one (nothing changed since it last walked), the build needs no walk at all; otherwise the
build walks as always, and starts a watcher if none runs, so the next build can ask.

`HWDOCK_WATCH=0` turns watchers off (no question asked, none started), `HWDOCK_WATCH=1` on;
unset, they are on except under CI (`CI=true`);
`HWDOCK_WATCH_IDLE` is how many seconds a watcher waits for a question before it leaves.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from hwdock.engine import watchproto as proto
from hwdock.engine.digest import ContextDigest

# A watcher's "nothing changed" answer is on the up-to-date build's path: the walk
# (hwdock.engine.context) and the matcher are only imported and built when the build walks.
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:
    from typing import Any

    from hwdock.engine.dockerignore import Matcher

__all__ = [
    "WatcherInfo",
    "list_watchers",
    "stop_watchers",
    "watch_enabled",
    "watched_context_digest",
]

ASK_TIMEOUT_S = 0.5  # a watcher answers from memory; longer means it is stuck
OFF_MEMORY_S = 24 * 3600  # how long "no watcher here, because..." is remembered
STARTING_S = 10.0  # a watcher started this recently may still be starting: start no other


_NO = ("0", "no", "off", "false")


def watch_enabled() -> bool:
    """`HWDOCK_WATCH` decides; unset, watchers are on except under CI (`CI` set, as CI
    services do), where each job starts from a fresh checkout and a watcher would only
    spend the build's CPU on a walk nobody asks for."""
    if not sys.platform.startswith("linux"):
        return False  # inotify is Linux's
    wanted = os.environ.get("HWDOCK_WATCH")
    if wanted is not None and wanted.strip():
        return wanted.strip().lower() not in _NO
    ci = os.environ.get("CI", "").strip().lower()
    return not ci or ci in _NO


def _state_dir() -> Path:
    from hwdock.engine.runlog import state_dir

    return state_dir()


def watched_context_digest(
    context: Path, ignore_texts: list[str], matcher: Matcher | None = None
) -> tuple[ContextDigest, str]:
    """The context's digest and how it was had: "watcher" (asked) or "walk" (computed)."""

    def walk() -> ContextDigest:
        from hwdock.engine.context import context_digest

        m = matcher if matcher is not None else proto.matcher_from_texts(ignore_texts)
        return context_digest(context, m)

    if not watch_enabled():
        return walk(), "walk"
    root = os.path.realpath(context)
    try:
        st = os.stat(root)
    except OSError:
        return walk(), "walk"  # says what is wrong, as before
    files = proto.watch_files(_state_dir(), root)
    question = {
        "op": "digest",
        "root": root,
        "root_id": [st.st_dev, st.st_ino],
        "ignore": ignore_texts,
    }
    reply = _ask(files, question)
    if reply is not None and reply.get("status") == "hit":
        try:
            got = ContextDigest(str(reply["digest"]), int(reply["files"]), int(reply["bytes"]))
        except (KeyError, TypeError, ValueError):
            got = None
        if got is not None and got.digest.startswith("sha256:"):
            return got, "watcher"
    digest = walk()
    if reply is None:
        _start(files, root, ignore_texts)
    return digest, "walk"


def _exchange(files: proto.WatchFiles, message: dict[str, Any]) -> dict[str, Any] | None:
    """One message to the watcher and its reply; None when none answers."""
    try:
        s = proto.connect(files.socket, ASK_TIMEOUT_S)
    except OSError:
        return None
    try:
        proto.send_message(s, message)
        return proto.read_message(s)
    except OSError:
        return None
    finally:
        s.close()


def _ask(files: proto.WatchFiles, question: dict[str, Any]) -> dict[str, Any] | None:
    """The watcher's reply, or None when none (of this protocol version) answers."""
    reply = _exchange(files, question)
    if reply is None:
        return None
    if reply.get("v") != proto.PROTOCOL:
        _stop(files)  # a watcher of another hwdock version: make way for ours
        return None
    return reply


def _fs_refusal(root: str) -> str | None:
    """Why no watcher may serve `root` (its filesystem), or None."""
    from hwdock.engine.fstype import filesystem_of, watchable

    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            mountinfo = f.read()
    except OSError:
        return "/proc/self/mountinfo is not readable: the context's filesystem is unknown"
    ok, why = watchable(filesystem_of(root, mountinfo))
    return None if ok else why


def _start(files: proto.WatchFiles, root: str, ignore_texts: list[str]) -> bool:
    """Start a watcher for `root` in the background (it outlives this process)."""
    off, started = files.path("off"), files.path("started")
    now = time.time()
    for marker, within in ((off, OFF_MEMORY_S), (started, STARTING_S)):
        try:
            if now - marker.stat().st_mtime < within:
                return False
        except OSError:
            pass
    try:
        files.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        refusal = _fs_refusal(root)
        if refusal is not None:
            off.write_text(refusal + "\n")
            return False
        started.write_text(f"{now}\n")
        init = files.path("init")
        fd = os.open(init, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            json.dump(ignore_texts, f)
        argv = [
            sys.executable,
            "-m",
            "hwdock.engine.watchd",
            "--root",
            root,
            "--state",
            str(files.directory.parent.resolve()),
            "--init",
            str(init),
        ]
        idle = os.environ.get("HWDOCK_WATCH_IDLE")
        if idle:
            argv += ["--idle", idle]
        env = dict(os.environ)
        # the watcher imports this very hwdock, however this process found it
        here = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        log = str(files.path("log"))
        os.posix_spawn(
            sys.executable,
            argv,
            env,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600),
            ],
            setsid=True,  # not in this terminal's process group: Ctrl-C of a build spares it
        )
    except OSError:
        return False  # no watcher: every build walks, as it would anyway
    return True


class WatcherInfo:
    """One running watcher, as `hwdock watch list` shows it."""

    __slots__ = ("data", "socket")

    def __init__(self, socket: Path, data: dict[str, Any]) -> None:
        self.socket = socket
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in self.data.items() if k not in ("v", "status")}
        return {**d, "socket": str(self.socket)}


def list_watchers(state: Path | None = None) -> list[WatcherInfo]:
    """The watchers that answer, under the state directory."""
    directory = (state or _state_dir()) / "watch"
    out: list[WatcherInfo] = []
    try:
        sockets = sorted(directory.glob("*.sock"))
    except OSError:
        return out
    for sock in sockets:
        files = proto.WatchFiles(directory, sock.name[: -len(".sock")])
        reply = _ask(files, {"op": "status"})
        if reply is not None and reply.get("status") == "ok":
            out.append(WatcherInfo(sock, reply))
    return out


def _stop(files: proto.WatchFiles) -> bool:
    reply = _exchange(files, {"op": "stop"})
    return reply is not None and reply.get("status") == "stopping"


def stop_watchers(root: Path | None = None, state: Path | None = None) -> list[str]:
    """Stop the watcher of `root` (all of them when None); the roots stopped."""
    stopped: list[str] = []
    want = os.path.realpath(root) if root is not None else None
    for w in list_watchers(state):
        if want is not None and w.data.get("root") != want:
            continue
        files = proto.WatchFiles(w.socket.parent, w.socket.name[: -len(".sock")])
        if _stop(files):
            stopped.append(str(w.data.get("root")))
    return stopped
