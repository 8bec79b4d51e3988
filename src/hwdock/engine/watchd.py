"""The context watcher: a small background process that answers "did anything change?".

`hwdock build` decides "up to date" from a digest of the build context's metadata. Walking
50,000 files for it takes longer than everything else the check does, so after a build
hwdock starts one of these per context (see `engine/watch.py`). It keeps an inotify watch
on every directory the build would see and a *baseline*: a context digest computed after
the watches were in place. While no change event arrives, the baseline is still the digest
a walk would compute, and `hwdock build` gets it in well under a millisecond.

How the baseline stays exact:
- A change is "any event" on a watched directory (write, attribute or time change,
  create, delete, rename, a watch lost, the event queue overflowing), except an event
  about a file the `.dockerignore` leaves out, which no digest would see either.
- A baseline is taken by a forked child: it adds the watches (each directory before it is
  listed), then walks and hashes the context with the same `context_digest` the build
  uses. The parent counts events; if one arrived after the child began, the result is
  thrown away and taken again once the tree is quiet. So every change is either seen by
  the walk or voids it.
- Before answering, the watcher reads every event already queued. The kernel queues an
  event before the call that made the change returns, so a change made before
  `hwdock build` started is always seen.
- What inotify cannot see (writes through mmap, changes made by another machine) is why
  a watcher is started only on local filesystems (`knowledge/data/watch.toml`); use
  `hwdock build --force` or `HWDOCK_WATCH=0` for the rest.

It leaves on its own: after `--idle` seconds without a question, when the context
directory is deleted or moved, when its socket file is removed, or on `hwdock watch stop`.

Run as `python -m hwdock.engine.watchd --root DIR --state STATE_DIR [--idle S] [--init F]`.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import json
import marshal
import os
import selectors
import signal
import sys
import time
from pathlib import Path
from typing import Any

from hwdock.engine import watchproto as proto
from hwdock.engine.context import _excluder, context_digest

# inotify(7) event bits (Linux ABI, include/uapi/linux/inotify.h)
IN_MODIFY = 0x00000002
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_DELETE_SELF = 0x00000400
IN_MOVE_SELF = 0x00000800
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
IN_DONT_FOLLOW = 0x02000000
IN_ISDIR = 0x40000000

MASK = (
    IN_MODIFY
    | IN_ATTRIB
    | IN_CLOSE_WRITE
    | IN_MOVED_FROM
    | IN_MOVED_TO
    | IN_CREATE
    | IN_DELETE
    | IN_DELETE_SELF
    | IN_MOVE_SELF
    | IN_ONLYDIR
    | IN_DONT_FOLLOW
)
QUIET_S = 0.25  # a new baseline waits until events have stopped this long
STEADY_S = 10.0  # a baseline voided sooner than this doubles the wait before the next one
MAX_BACKOFF_S = 60.0  # (a file in the context written every second costs a walk a minute)
MAX_FAILURES = 3  # baselines that failed outright in a row before the watcher leaves
TICK_S = 2.0  # how often it checks that its context and socket are still there
DEFAULT_IDLE_S = 3600.0
WATCH_SHARE = 4  # use at most 1/4 of the user's inotify watches: editors need theirs
LOG_KEEP = 256 * 1024  # a log larger than this is emptied when a watcher starts


class Watcher:
    def __init__(self, root: str, state: Path, idle: float, init_texts: list[str]) -> None:
        from inotify_simple import INotify  # Linux only; the client never imports it

        self.root = root
        st = os.stat(root)
        self.root_id = (st.st_dev, st.st_ino)
        self.files = proto.watch_files(state, root)
        self.idle = idle
        self.inotify = INotify(nonblocking=True)
        self.dirs: dict[int, str] = {}  # watch descriptor -> context-relative dir ("" or "a/b/")
        self.map_exact = False  # `dirs` is the tree as the last baseline walked it
        self.root_wd = -1
        self.backoff = QUIET_S
        self.last_start = 0.0
        self.failures = 0
        self.generation = 0  # bumped by every change event
        self.baseline: dict[str, Any] | None = None  # key, generation, digest, files, bytes
        self.texts: list[str] | None = init_texts  # the ignore texts to take a baseline for
        self.matcher = proto.matcher_from_texts(init_texts)
        self.excluded = _excluder(self.matcher)
        self.last_event = 0.0
        self.last_question = time.monotonic()
        self.child: tuple[int, int, int, str] | None = None  # pid, pipe, generation, ignore key
        self.sel = selectors.DefaultSelector()
        self.sock = None
        self.sock_ino = 0
        self.started = time.time()
        self.baselines_taken = 0
        self.stopping = False

    # ------------------------------------------------------------ events

    def drain(self) -> None:
        """Read every queued event; count those that may change the digest."""
        changed = False
        for ev in self.inotify.read(timeout=0):
            mask = ev.mask
            if mask & IN_Q_OVERFLOW:
                changed = True
                continue
            rel = self.dirs.get(ev.wd)
            if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED):
                if rel == "" and ev.wd == self.root_wd:
                    self.log("the context directory was deleted or moved: leaving")
                    self.stopping = True
                if mask & IN_IGNORED:
                    self.dirs.pop(ev.wd, None)
                changed = True
                continue
            if mask & IN_ISDIR and mask & (IN_MOVED_FROM | IN_MOVED_TO):
                self.map_exact = False  # a watched directory may now have another path
            if self.map_exact and rel is not None and ev.name and self.excluded is not None:
                path = rel + ev.name
                if self.excluded(path) and not (
                    mask & IN_ISDIR and self.matcher.may_include_below(path)
                ):
                    continue  # left out of the context: no digest sees it
            changed = True
        if changed:
            self.generation += 1
            if self.baseline is not None:
                lived = time.monotonic() - self.baseline["taken"]
                self.backoff = (
                    QUIET_S if lived >= STEADY_S else min(self.backoff * 2, MAX_BACKOFF_S)
                )
            self.baseline = None
            self.last_event = time.monotonic()

    # ------------------------------------------------------------ baselines

    def start_baseline(self) -> None:
        if self.child is not None or self.texts is None:
            return
        texts = self.texts
        self.drain()
        gen = self.generation
        # events from now on void this baseline unless this matcher leaves their file out
        self.matcher = proto.matcher_from_texts(texts)
        self.excluded = _excluder(self.matcher)
        self.last_start = time.monotonic()
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: watches, then the walk; its result goes up the pipe
            code = 1
            try:
                os.close(r)
                data = marshal.dumps(_take_baseline(self.inotify, self.root, texts), 2)
                view = memoryview(data)
                while view:
                    view = view[os.write(w, view) :]
                code = 0
            finally:
                os._exit(code)
        os.close(w)
        self.child = (pid, r, gen, proto.ignore_key(texts))
        self.sel.register(r, selectors.EVENT_READ, "child")

    def finish_baseline(self) -> None:
        assert self.child is not None
        pid, r, gen, key = self.child
        self.child = None
        self.sel.unregister(r)
        chunks = []
        while data := os.read(r, 1 << 16):
            chunks.append(data)
        os.close(r)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        try:
            result = marshal.loads(b"".join(chunks))
        except (EOFError, ValueError, TypeError):
            result = {"failed": "the child gave no result"}
        if "error" in result:  # this context cannot be watched at all
            self.log(f"cannot watch this context: {result['error']}")
            self.give_up(result["error"])
            return
        if "failed" in result:
            self.failures += 1
            self.log(f"taking a baseline failed ({self.failures}x): {result['failed']}")
            self.backoff = min(self.backoff * 2, MAX_BACKOFF_S)
            if self.failures >= MAX_FAILURES:
                self.stopping = True
            return
        self.failures = 0
        seen = dict(result["dirs"])
        for wd in set(self.dirs) - set(seen):
            with contextlib.suppress(OSError):
                self.inotify.rm_watch(wd)  # a directory no longer in the context
        self.dirs = seen
        self.root_wd = next((wd for wd, rel in seen.items() if rel == ""), -1)
        self.map_exact = True
        self.drain()
        if self.generation != gen:
            # something changed while it walked: take another once quiet, later each time
            self.backoff = min(self.backoff * 2, MAX_BACKOFF_S)
            return
        self.baseline = {
            "key": key,
            "generation": gen,
            "digest": result["digest"],
            "files": result["files"],
            "bytes": result["bytes"],
            "seconds": result["seconds"],
            "taken": time.monotonic(),
        }
        self.baselines_taken += 1
        self.write_info()

    def give_up(self, why: str) -> None:
        with contextlib.suppress(OSError):
            self.files.path("off").write_text(why + "\n")
        self.stopping = True

    # ------------------------------------------------------------ questions

    def answer(self, conn: Any) -> None:
        conn.settimeout(1.0)
        if proto.peer_uid(conn) not in (os.getuid(), None):
            conn.close()  # another user's process: it learns nothing about this context
            return
        try:
            msg = proto.read_message(conn)
            reply = self.reply_to(msg)
            proto.send_message(conn, reply)
        except OSError:
            pass
        finally:
            conn.close()

    def reply_to(self, msg: dict[str, Any] | None) -> dict[str, Any]:
        if msg is None or msg.get("v") != proto.PROTOCOL:
            return {"status": "error", "why": f"expected protocol version {proto.PROTOCOL}"}
        self.last_question = time.monotonic()
        op = msg.get("op")
        if op == "stop":
            self.log("asked to stop")
            self.stopping = True
            return {"status": "stopping"}
        if op == "status":
            return {"status": "ok", **self.info()}
        if op != "digest":
            return {"status": "error", "why": f"unknown op {op!r}"}
        texts = msg.get("ignore")
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            return {"status": "error", "why": "ignore must be a list of texts"}
        if msg.get("root") != self.root or msg.get("root_id") != list(self.root_id):
            return {"status": "miss", "why": "another directory"}
        self.drain()
        key = proto.ignore_key(texts)
        b = self.baseline
        if b is not None and b["key"] == key and b["generation"] == self.generation:
            self.backoff = QUIET_S
            return {
                "status": "hit",
                "digest": b["digest"],
                "files": b["files"],
                "bytes": b["bytes"],
            }
        if self.texts != texts:
            self.texts = texts
            self.baseline = None
        why = "taking a baseline" if self.child is not None else "changed since the last baseline"
        return {"status": "miss", "why": why}

    def info(self) -> dict[str, Any]:
        b = self.baseline
        return {
            "pid": os.getpid(),
            "root": self.root,
            "started": round(self.started, 3),
            "watches": len(self.dirs),
            "state": "ready" if b else ("busy" if self.child else "stale"),
            "files": b["files"] if b else None,
            "baselines": self.baselines_taken,
            "last_baseline_seconds": b["seconds"] if b else None,
            "idle_exit_seconds": self.idle,
        }

    def write_info(self) -> None:
        with contextlib.suppress(OSError):
            tmp = self.files.path("json.tmp")
            tmp.write_text(json.dumps(self.info()))
            os.replace(tmp, self.files.path("json"))

    # ------------------------------------------------------------ the loop

    def log(self, text: str) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
        sys.stderr.write(f"{stamp} watcher {os.getpid()} {self.root}: {text}\n")
        sys.stderr.flush()

    def still_wanted(self) -> bool:
        try:
            st = os.stat(self.root)
            sst = os.stat(self.files.socket)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self.root_id and sst.st_ino == self.sock_ino

    def serve(self) -> None:
        self.sock = proto.bind(self.files.socket)
        self.sock_ino = os.stat(self.files.socket).st_ino
        self.sock.setblocking(False)
        self.sel.register(self.sock, selectors.EVENT_READ, "question")
        self.sel.register(self.inotify.fileno(), selectors.EVENT_READ, "event")
        self.write_info()
        self.log("watching")
        self.start_baseline()
        next_tick = time.monotonic() + TICK_S
        while not self.stopping:
            now = time.monotonic()
            timeout = next_tick - now
            if self.baseline is None and self.child is None and self.texts is not None:
                timeout = min(timeout, self.next_baseline_at() - now)
            for key, _ in self.sel.select(max(timeout, 0.0)):
                if key.data == "event":
                    self.drain()
                elif key.data == "question":
                    try:
                        conn, _ = self.sock.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    self.answer(conn)
                elif key.data == "child":
                    self.finish_baseline()
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + TICK_S
                if now - self.last_question > self.idle:
                    self.log(f"no question for {self.idle:.0f}s: leaving")
                    break
                if not self.still_wanted():
                    self.log("the context or the socket is gone: leaving")
                    break
            if (
                self.baseline is None
                and self.child is None
                and self.texts is not None
                and now >= self.next_baseline_at()
            ):
                self.start_baseline()

    def next_baseline_at(self) -> float:
        """When the next baseline may start: the tree quiet for a moment, and not sooner
        after the last start than the back-off (a context that keeps changing)."""
        return max(self.last_event + QUIET_S, self.last_start + self.backoff)

    def close(self) -> None:
        if self.child is not None:
            with contextlib.suppress(OSError):
                os.kill(self.child[0], signal.SIGKILL)
                os.waitpid(self.child[0], 0)
        if self.sock is not None:
            self.sock.close()
            with contextlib.suppress(OSError):
                if os.stat(self.files.socket).st_ino == self.sock_ino:
                    os.unlink(self.files.socket)
        with contextlib.suppress(OSError):
            os.unlink(self.files.path("json"))
        self.inotify.close()


def _take_baseline(inotify: Any, root: str, texts: list[str]) -> dict[str, Any]:
    """In the child: watch every directory the build sees, then digest the context."""
    t0 = time.monotonic()
    matcher = proto.matcher_from_texts(texts)
    excluded = _excluder(matcher)
    dirs: list[tuple[int, str]] = []
    todo = [""]
    limit = _read_int("/proc/sys/fs/inotify/max_user_watches")
    most = max(limit // WATCH_SHARE, 1) if limit else None
    while todo:
        rel = todo.pop()
        path = os.path.join(root, rel) if rel else root
        try:
            if most is not None and len(dirs) >= most:
                raise OSError(errno.ENOSPC, "over hwdock's share of the watches")
            wd = inotify.add_watch(path, MASK)
        except OSError as err:
            if err.errno == errno.ENOSPC:
                return {
                    "error": f"the context has more directories than hwdock may watch (1/"
                    f"{WATCH_SHARE} of fs.inotify.max_user_watches={limit}, leaving the rest "
                    "to editors); hwdock walks it on every build instead (raise the limit "
                    "with sysctl to let it watch)"
                }
            if not rel:
                return {"failed": f"cannot watch the context directory: {err}"}
            # gone, not a directory any more, or unreadable: the digest walk cannot list it
            # either, and a change to it is an event in its parent
            continue
        dirs.append((wd, rel))
        try:
            with os.scandir(path) as it:
                for e in it:
                    if not e.is_dir(follow_symlinks=False):
                        continue
                    sub = rel + e.name
                    if (
                        excluded is not None
                        and excluded(sub)
                        and not matcher.may_include_below(sub)
                    ):
                        continue
                    todo.append(sub + "/")
        except OSError:
            continue
    try:
        d = context_digest(Path(root), matcher)
    except OSError as err:
        return {"failed": f"walking the context: {err}"}
    return {
        "dirs": dirs,
        "digest": d.digest,
        "files": d.files,
        "bytes": d.bytes,
        "seconds": round(time.monotonic() - t0, 3),
    }


def _read_int(path: str) -> int | None:
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m hwdock.engine.watchd")
    ap.add_argument("--root", required=True)
    ap.add_argument("--state", required=True)
    ap.add_argument("--idle", type=float, default=DEFAULT_IDLE_S)
    ap.add_argument("--init", help="a JSON file with the ignore texts (read, then deleted)")
    a = ap.parse_args(argv)
    root = os.path.realpath(a.root)
    state = Path(a.state).resolve()
    os.chdir("/")  # hold no directory that someone may want to unmount
    texts: list[str] = [""]
    if a.init:
        with contextlib.suppress(OSError, ValueError):
            texts = json.loads(Path(a.init).read_text(encoding="utf-8", errors="surrogateescape"))
        with contextlib.suppress(OSError):
            os.unlink(a.init)
    files = proto.watch_files(state, root)
    files.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    lock = open(files.path("lock"), "a")  # noqa: SIM115 (held for the process's life)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0  # another watcher already serves this context
    with contextlib.suppress(OSError):
        if os.fstat(2).st_size > LOG_KEEP:
            os.ftruncate(2, 0)  # the log is opened for appending: this starts it afresh
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # started from a terminal: not its Ctrl-C
    try:
        w = Watcher(root, state, a.idle, texts)
    except ImportError:
        files.path("off").write_text("inotify_simple is not installed\n")
        return 1
    except OSError as err:
        files.path("off").write_text(f"inotify: {err}\n")
        return 1
    try:
        w.serve()
    finally:
        w.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
