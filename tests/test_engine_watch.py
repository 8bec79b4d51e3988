"""The context watcher: real inotify, real background processes, real files.

The property that matters: whatever changes in the context, `watched_context_digest` never
returns a digest other than the one a fresh walk computes; and with nothing changed it
answers from the watcher, without a walk.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hwdock.engine import watch, watchproto
from hwdock.engine.context import context_digest
from hwdock.engine.fstype import filesystem_of, watchable

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (exited, not yet reaped by this test process) counts as gone
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return False


def _wait(cond: Callable[[], bool], timeout: float = 15.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return cond()


def _watcher_pids(needle: str) -> list[int]:
    """Watcher processes whose command line holds `needle` (a state dir or a context)."""
    out = subprocess.run(["pgrep", "-f", "hwdock.engine.watchd"], capture_output=True, text=True)
    pids = []
    for pid in out.stdout.split():
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if needle.encode() in f.read():
                    pids.append(int(pid))
        except OSError:
            pass
    return [p for p in pids if _pid_alive(p)]


def _pids(state: Path) -> list[int]:
    out = []
    for f in (state / "watch").glob("*.json"):
        with contextlib.suppress(OSError, ValueError, KeyError):
            out.append(int(json.loads(f.read_text())["pid"]))
    return out


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Watchers on, their files under a temporary state directory; all stopped afterwards."""
    st = tmp_path / "state"
    monkeypatch.setenv("HWDOCK_WATCH", "1")
    monkeypatch.setenv("HWDOCK_STATE_DIR", str(st))
    monkeypatch.setenv("HWDOCK_WATCH_IDLE", "120")
    yield st
    watch.stop_watchers(state=st)
    for pid in _watcher_pids(str(st)):
        if not _wait(lambda pid=pid: not _pid_alive(pid), 5):
            os.kill(pid, signal.SIGKILL)


def _context(root: Path) -> Path:
    ctx = root / "ctx"
    for i in range(30):
        d = ctx / f"pkg{i % 3}" / f"sub{i % 2}"
        d.mkdir(parents=True, exist_ok=True)
        (d / f"f{i}.py").write_text(f"print({i})\n")
    (ctx / "Dockerfile").write_text("FROM scratch\nCOPY . /src\n")
    return ctx


def _ignore(ctx: Path) -> list[str]:
    try:
        return [(ctx / ".dockerignore").read_text()]
    except FileNotFoundError:
        return [""]


def _fresh(ctx: Path) -> str:
    return context_digest(ctx, watchproto.matcher_from_texts(_ignore(ctx))).digest


def _ask(ctx: Path) -> tuple[str, str]:
    d, how = watch.watched_context_digest(ctx, _ignore(ctx))
    return d.digest, how


def _ready(ctx: Path) -> str:
    """Wait until the watcher answers; the digest it gives."""
    got: list[str] = []

    def hit() -> bool:
        digest, how = _ask(ctx)
        if how == "watcher":
            got.append(digest)
            return True
        return False

    assert _wait(hit), "the watcher never answered with a current digest"
    return got[-1]


def test_first_build_walks_and_starts_a_watcher_which_then_answers(
    state: Path, tmp_path: Path
) -> None:
    ctx = _context(tmp_path)
    digest, how = _ask(ctx)
    assert how == "walk"
    assert digest == _fresh(ctx)
    assert _ready(ctx) == digest  # the same digest a walk computes, without the walk
    (info,) = watch.list_watchers(state)
    assert info.data["root"] == os.path.realpath(ctx)
    assert info.data["state"] == "ready"
    assert info.data["watches"] == 1 + 3 + 6  # ctx, pkg0..2, pkg*/sub0..1
    assert info.data["files"] == 31


def _append(ctx: Path) -> None:
    with open(ctx / "pkg0" / "sub0" / "f0.py", "a") as f:
        f.write("more\n")


def _touch(ctx: Path) -> None:
    p = ctx / "pkg1" / "sub1" / "f1.py"
    st = p.stat()
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))


def _chmod(ctx: Path) -> None:
    (ctx / "pkg2" / "sub0" / "f2.py").chmod(0o600)


def _create(ctx: Path) -> None:
    (ctx / "pkg0" / "new.py").write_text("x\n")


def _delete(ctx: Path) -> None:
    (ctx / "pkg0" / "sub1" / "f3.py").unlink()


def _rename(ctx: Path) -> None:
    (ctx / "pkg1" / "sub0" / "f4.py").rename(ctx / "pkg1" / "sub0" / "g4.py")


def _rename_dir(ctx: Path) -> None:
    (ctx / "pkg2" / "sub1").rename(ctx / "pkg2" / "moved")


def _remove_tree(ctx: Path) -> None:
    import shutil

    shutil.rmtree(ctx / "pkg1")


def _new_dir(ctx: Path) -> None:
    (ctx / "brand" / "new").mkdir(parents=True)
    (ctx / "brand" / "new" / "x.py").write_text("x\n")


def _symlink(ctx: Path) -> None:
    (ctx / "link").symlink_to("pkg0")


def _same_size_same_mtime(ctx: Path) -> None:
    """An edit that a stat walk cannot see (size and mtime restored)."""
    p = ctx / "pkg0" / "sub0" / "f6.py"
    st = p.stat()
    p.write_text(p.read_text().replace("6", "7"))
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))


CHANGES = [
    _append,
    _touch,
    _chmod,
    _create,
    _delete,
    _rename,
    _rename_dir,
    _remove_tree,
    _new_dir,
    _symlink,
    _same_size_same_mtime,
]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__.strip("_") for c in CHANGES])
def test_a_change_is_never_answered_with_the_old_digest(
    state: Path, tmp_path: Path, change: Callable[[Path], None]
) -> None:
    ctx = _context(tmp_path)
    _ask(ctx)
    before = _ready(ctx)
    change(ctx)
    digest, _how = _ask(ctx)  # right after the change: the watcher must not vouch for `before`
    assert digest == _fresh(ctx)
    if change is not _same_size_same_mtime:
        assert digest != before
    # and once the tree is quiet, the watcher answers again, with the new digest
    assert _ready(ctx) == _fresh(ctx)


def test_a_directory_made_after_the_start_is_watched_too(state: Path, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    _ask(ctx)
    _ready(ctx)
    _new_dir(ctx)
    _ready(ctx)  # the new baseline watches brand/ and brand/new/
    with open(ctx / "brand" / "new" / "x.py", "a") as f:
        f.write("changed\n")
    digest, _ = _ask(ctx)
    assert digest == _fresh(ctx)
    assert _ready(ctx) == _fresh(ctx)


def test_a_file_the_dockerignore_leaves_out_does_not_cost_a_walk(
    state: Path, tmp_path: Path
) -> None:
    ctx = _context(tmp_path)
    (ctx / ".dockerignore").write_text("*.tmp\n**/__pycache__\n")
    _ask(ctx)
    before = _ready(ctx)
    (ctx / "scratch.tmp").write_text("not in the context\n")
    (ctx / "pkg0" / "__pycache__").mkdir()
    (ctx / "pkg0" / "__pycache__" / "f0.pyc").write_bytes(b"\0")
    digest, how = _ask(ctx)
    assert (digest, how) == (before, "watcher")
    assert digest == _fresh(ctx)


def test_a_changed_dockerignore_gives_the_digest_of_the_new_rules(
    state: Path, tmp_path: Path
) -> None:
    ctx = _context(tmp_path)
    _ask(ctx)
    _ready(ctx)
    (ctx / ".dockerignore").write_text("pkg1\n")
    digest, _ = _ask(ctx)
    assert digest == _fresh(ctx)
    assert _ready(ctx) == _fresh(ctx)
    assert watch.list_watchers(state)[0].data["files"] == 22  # pkg1's 10 and .dockerignore


def test_the_watcher_leaves_when_its_context_is_deleted(state: Path, tmp_path: Path) -> None:
    import shutil

    ctx = _context(tmp_path)
    _ask(ctx)
    _ready(ctx)
    (pid,) = _pids(state)
    shutil.rmtree(ctx)
    assert _wait(lambda: not _pid_alive(pid), 10), "the watcher outlived its context"
    assert not list((state / "watch").glob("*.sock"))


def test_the_watcher_leaves_when_nobody_asks(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HWDOCK_WATCH_IDLE", "1")
    ctx = _context(tmp_path)
    _ask(ctx)
    _ready(ctx)
    (pid,) = _pids(state)
    assert _wait(lambda: not _pid_alive(pid), 10), "the watcher did not leave when idle"


def test_off_means_no_watcher(state: Path, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HWDOCK_WATCH", "0")
    ctx = _context(tmp_path)
    for _ in range(3):
        assert _ask(ctx) == (_fresh(ctx), "walk")
    assert not (state / "watch").exists()


@pytest.mark.parametrize(
    ("watch_var", "ci", "on"),
    [
        (None, None, True),
        (None, "true", False),  # a CI job: fresh checkout, nobody asks twice
        (None, "0", True),
        ("1", "true", True),  # asked for: on, CI or not
        ("0", None, False),
        ("off", None, False),
        ("", None, True),
    ],
)
def test_when_watchers_are_on(
    watch_var: str | None, ci: str | None, on: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("HWDOCK_WATCH", watch_var), ("CI", ci)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert watch.watch_enabled() is on


def test_a_refusal_is_remembered_and_no_watcher_is_started(state: Path, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    files = watchproto.watch_files(state, os.path.realpath(ctx))
    files.directory.mkdir(parents=True)
    files.path("off").write_text("nfs4: a change made by another NFS client is not reported\n")
    assert _ask(ctx)[1] == "walk"
    time.sleep(0.5)
    assert _ask(ctx)[1] == "walk"
    assert not files.socket.exists()


def test_one_watcher_per_context_when_builds_race(state: Path, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    root = os.path.realpath(ctx)
    files = watchproto.watch_files(state, root)
    for _ in range(3):  # three builds, none finding a watcher yet
        watch._start(files, root, _ignore(ctx))
        files.path("started").unlink()  # as if each were the first to try
    _ready(ctx)
    time.sleep(0.5)
    assert len(_watcher_pids(root)) == 1


def test_a_bad_question_gets_an_error_and_the_watcher_keeps_serving(
    state: Path, tmp_path: Path
) -> None:
    ctx = _context(tmp_path)
    _ask(ctx)
    _ready(ctx)
    files = watchproto.watch_files(state, os.path.realpath(ctx))
    for raw in (b"not json\n", b'{"v": 99, "op": "digest"}\n', b'{"v": 1, "op": "dance"}\n'):
        s = watchproto.connect(files.socket, 2.0)
        s.sendall(raw)
        reply = watchproto.read_message(s)
        s.close()
        assert reply is not None and reply["status"] == "error", raw
    s = watchproto.connect(files.socket, 2.0)
    watchproto.send_message(s, {"op": "digest", "root": "/elsewhere", "root_id": [0, 0]})
    assert watchproto.read_message(s)["status"] in ("miss", "error")
    s.close()
    assert _ask(ctx) == (_fresh(ctx), "watcher")


def test_a_long_state_path_still_works(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Unix socket's path is limited to 108 bytes; deep state directories go via /proc."""
    deep = tmp_path / ("d" * 60) / ("e" * 60) / "state"
    monkeypatch.setenv("HWDOCK_WATCH", "1")
    monkeypatch.setenv("HWDOCK_STATE_DIR", str(deep))
    monkeypatch.setenv("HWDOCK_WATCH_IDLE", "60")
    ctx = _context(tmp_path)
    try:
        _ask(ctx)
        assert _ready(ctx) == _fresh(ctx)
    finally:
        assert watch.stop_watchers(state=deep) == [os.path.realpath(ctx)]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to serve as another user")
def test_a_watcher_of_another_user_is_not_believed(
    state: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A state folder others can write to: a socket there served by another user could
    answer "nothing changed" with any digest and make a build skip. It is not asked."""
    import shutil
    import tempfile

    ctx = _context(tmp_path)
    shared = Path(tempfile.mkdtemp(prefix="hwdock-shared-state-", dir="/tmp"))
    os.chmod(shared, 0o755)  # the pytest folders are root's only: nobody could not reach them
    monkeypatch.setenv("HWDOCK_STATE_DIR", str(shared))
    monkeypatch.setenv("HWDOCK_WATCH_IDLE", "5")
    files = watchproto.watch_files(shared, os.path.realpath(ctx))
    files.directory.mkdir(parents=True)
    os.chmod(files.directory, 0o777)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # nobody's fake watcher: answers one question with a made-up digest
        try:
            os.setgid(65534)
            os.setuid(65534)
            srv = watchproto.bind(files.socket)
            os.write(w, b"up")
            conn, _ = srv.accept()
            watchproto.read_message(conn)
            watchproto.send_message(
                conn, {"status": "hit", "digest": "sha256:" + "0" * 64, "files": 1, "bytes": 1}
            )
            conn.close()
        finally:
            os._exit(0)
    os.close(w)
    assert os.read(r, 2) == b"up"
    try:
        digest, how = _ask(ctx)
        assert (digest, how) == (_fresh(ctx), "walk")
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        watch.stop_watchers(state=shared)  # the one this walk started, as root
        for wpid in _watcher_pids(str(shared)):
            if not _wait(lambda p=wpid: not _pid_alive(p), 5):
                os.kill(wpid, signal.SIGKILL)
        shutil.rmtree(shared, ignore_errors=True)


def test_watch_cli_lists_and_stops(state: Path, tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    _ask(ctx)
    _ready(ctx)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "hwdock", "watch"]
    out = subprocess.run([*cmd, "list", "--json"], capture_output=True, text=True, env=env)
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["kind"] == "watchers" and doc["enabled"] is True
    assert [w["root"] for w in doc["watchers"]] == [os.path.realpath(ctx)]
    out = subprocess.run([*cmd, "stop", str(ctx)], capture_output=True, text=True, env=env)
    assert out.returncode == 0 and "stopped the watcher of" in out.stdout
    assert _wait(lambda: not watch.list_watchers(state), 5)
    out = subprocess.run([*cmd, "list"], capture_output=True, text=True, env=env)
    assert "no context watcher runs" in out.stdout


def test_a_context_with_more_directories_than_its_share_of_watches_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Watches are a per-user budget that editors need too: a watcher takes at most 1/4."""
    from inotify_simple import INotify

    from hwdock.engine import watchd

    ctx = _context(tmp_path)  # 10 directories
    monkeypatch.setattr(watchd, "_read_int", lambda path: 4 * 9)
    with INotify() as ino:
        got = watchd._take_baseline(ino, str(ctx), [""])
    assert "more directories than hwdock may watch" in got["error"]
    assert "max_user_watches=36" in got["error"]
    monkeypatch.setattr(watchd, "_read_int", lambda path: 4 * 10)
    with INotify() as ino:
        got = watchd._take_baseline(ino, str(ctx), [""])
    assert got["digest"] == _fresh(ctx) and len(got["dirs"]) == 10


# ---------------------------------------------------------------- with the real engine


@pytest.mark.engine
def test_an_unchanged_build_asks_the_watcher_and_a_change_still_rebuilds(
    docker_cli: str, busybox_image: str, tmp_path: Path
) -> None:
    from tests.test_engine_build import hwdock, write_plan

    state = tmp_path / "state"
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY hello.txt /hello.txt\n")
    (src / "hello.txt").write_text("one\n")
    image = f"hwdock-watch-test-{os.getpid()}/app:1"
    step = {"id": "app", "action": "build", "image": image, "reason": "r", "context": str(src)}
    plan = write_plan(tmp_path / "plan.json", [step])
    argv = ["build", "--plan", str(plan), "--network", "none", "--json"]
    env = {"HWDOCK_WATCH": "1", "HWDOCK_WATCH_IDLE": "60"}

    def done() -> dict[str, object]:
        from tests.test_engine_build import events

        out = hwdock(*argv, state=state, env=env)
        assert out.returncode == 0, out.stderr
        (ev,) = [e for e in events(out.stdout) if e["event"] == "step-done"]
        return ev

    try:
        first = done()
        assert (first["result"], first["context_check"]) == ("built", "walk")
        assert _wait(lambda: [w.data["state"] for w in watch.list_watchers(state)] == ["ready"])
        again = done()
        assert (again["result"], again["context_check"]) == ("up-to-date", "watcher")
        (src / "hello.txt").write_text("two\n")
        changed = done()
        assert (changed["result"], changed["context_check"]) == ("built", "walk")
        shown = subprocess.run(
            [docker_cli, "run", "--rm", "--network", "none", image, "cat", "/hello.txt"],
            capture_output=True,
            text=True,
        )
        assert shown.stdout == "two\n"
    finally:
        watch.stop_watchers(state=state)
        subprocess.run([docker_cli, "image", "rm", "-f", image], capture_output=True)


# ---------------------------------------------------------------- which filesystems

MOUNTINFO = """\
22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/root rw
25 22 0:23 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw
40 22 0:35 / /tmp rw,nosuid,nodev shared:18 - tmpfs tmpfs rw
41 22 0:36 / /home/me/nfs\\040share rw,relatime shared:19 - nfs4 srv:/export rw,vers=4.2
42 22 0:37 / /home/me/remote rw,nosuid,nodev,relatime shared:20 - fuse.sshfs me@box: rw
43 22 0:38 / /mnt/c rw,noatime - 9p C:\\134 rw,dirsync,aname=drvfs
44 40 0:39 / /tmp rw,relatime shared:21 - ext4 /dev/sdb1 rw
"""


@pytest.mark.parametrize(
    ("path", "fstype", "ok"),
    [
        ("/home/me/project", "ext4", True),
        ("/home/me/nfs share/project", "nfs4", False),
        ("/home/me/nfs", "ext4", True),  # a sibling whose name is a prefix is not under it
        ("/home/me/remote/x", "fuse.sshfs", False),
        ("/mnt/c/Users/me/proj", "9p", False),
        ("/tmp/ctx", "ext4", True),  # mounted on top of the tmpfs: the later line wins
        ("/proc/1", "proc", False),  # unknown to the table: no watcher
    ],
)
def test_filesystem_of_and_watchable(path: str, fstype: str, ok: bool) -> None:
    got = filesystem_of(path, MOUNTINFO)
    assert got == fstype
    assert watchable(got)[0] is ok


def test_watchable_explains_a_refusal() -> None:
    ok, why = watchable("9p")
    assert not ok and "Windows" in why
    assert watchable(None) == (False, "the filesystem of the context is unknown")
