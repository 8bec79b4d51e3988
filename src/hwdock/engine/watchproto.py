"""What the context watcher and `hwdock build` share: file names, keys and the wire format.

One watcher per build context. Its files live in `<state dir>/watch/`, named by a hash of
the context's real path: `<name>.sock` (a Unix socket), `<name>.lock` (held while it runs),
`<name>.log`, `<name>.json` (what it watches, for `hwdock watch list`) and `<name>.off`
(why no watcher should be started there, e.g. a network filesystem).

The wire format is one JSON object per line each way; every message carries `v`, the
protocol version, and a peer of another version is treated as absent.
"""

from __future__ import annotations

import _socket
import json
import os
import sys

from hwdock.sha import sha256

# `hwdock build` asks a watcher on its "nothing changed" path: that side imports no `socket`
# (its enums cost ~3 ms; a client needs only `_socket`, which `socket` wraps), `hashlib`
# (OpenSSL, ~3.5 ms; hwdock.sha gives the same digests) or `typing`.
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:
    import socket
    from collections.abc import Sequence
    from pathlib import Path
    from typing import Any

    from hwdock.engine.dockerignore import Matcher

__all__ = [
    "PROTOCOL",
    "WatchFiles",
    "bind",
    "connect",
    "ignore_key",
    "matcher_from_texts",
    "read_message",
    "send_message",
    "watch_files",
]

PROTOCOL = 1
MAX_MESSAGE = 1 << 20  # a request carries .dockerignore texts; nothing near this in practice
_SUN_PATH_MAX = 100  # sockaddr_un's path is 108 bytes with its NUL; keep a margin


class WatchFiles:
    """The files of the watcher for one context."""

    __slots__ = ("directory", "name")

    def __init__(self, directory: Path, name: str) -> None:
        self.directory = directory
        self.name = name

    def path(self, suffix: str) -> Path:
        return self.directory / f"{self.name}.{suffix}"

    @property
    def socket(self) -> Path:
        return self.path("sock")


def watch_files(state_dir: Path, root: str) -> WatchFiles:
    """`root` is the context's real path (symlinks resolved)."""
    name = sha256(os.fsencode(root)).hexdigest()[:24]
    return WatchFiles(state_dir / "watch", name)


def ignore_key(texts: Sequence[str]) -> str:
    """A key for the ignore files' texts: a watcher's digest holds for one set of them."""
    return sha256(json.dumps(list(texts)).encode("utf-8", "surrogateescape")).hexdigest()


def matcher_from_texts(texts: Sequence[str]) -> Matcher:
    """The matcher the build uses: the context's `.dockerignore` text first, then a
    Dockerfile's own ignore file, whose exclusions apply only where both agree."""
    from hwdock.engine.dockerignore import BothMatcher, Matcher, parse

    matcher = Matcher(parse(texts[0] if texts else ""))
    for extra in texts[1:]:
        matcher = BothMatcher(matcher, Matcher(parse(extra)))
    return matcher


def _address(path: Path) -> tuple[str, int | None]:
    """A path short enough for sockaddr_un: long ones go through /proc/self/fd/<dirfd>/."""
    text = str(path)
    if len(os.fsencode(text)) <= _SUN_PATH_MAX:
        return text, None
    dfd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    return f"/proc/self/fd/{dfd}/{path.name}", dfd


def connect(path: Path, timeout: float) -> _socket.socket:
    """A connected socket to the watcher at `path`; OSError when none listens there."""
    address, dfd = _address(path)
    s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        s.settimeout(timeout)
        s.connect(address)
        if peer_uid(s) not in (os.getuid(), None):
            # a state folder others can write to: its answer could make a build skip
            raise PermissionError(f"{path}: the watcher there is another user's")
    except BaseException:
        s.close()
        raise
    finally:
        if dfd is not None:
            os.close(dfd)
    return s


def peer_uid(s: _socket.socket) -> int | None:
    """The user id of the process at the other end (SO_PEERCRED), None where unknown."""
    opt = getattr(_socket, "SO_PEERCRED", None)
    if opt is None:
        return None
    try:
        raw = s.getsockopt(_socket.SOL_SOCKET, opt, 12)  # struct ucred: pid, uid, gid
    except OSError:
        return None
    return int.from_bytes(raw[4:8], sys.byteorder)


def bind(path: Path) -> socket.socket:
    """A listening socket at `path` (an old socket file there is replaced)."""
    import contextlib
    import socket

    address, dfd = _address(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        s.bind(address)
        s.listen(16)
    except BaseException:
        s.close()
        raise
    finally:
        if dfd is not None:
            os.close(dfd)
    return s


def send_message(s: _socket.socket, message: dict[str, Any]) -> None:
    s.sendall(json.dumps({"v": PROTOCOL, **message}).encode("utf-8", "surrogateescape") + b"\n")


def read_message(s: _socket.socket) -> dict[str, Any] | None:
    """One message, or None for a closed connection, a message too long or not an object."""
    chunks: list[bytes] = []
    size = 0
    while True:
        data = s.recv(65536)
        if not data:
            break
        chunks.append(data)
        size += len(data)
        if data.endswith(b"\n") or size > MAX_MESSAGE:
            break
    raw = b"".join(chunks)
    if not raw.endswith(b"\n") or size > MAX_MESSAGE:
        return None
    try:
        message = json.loads(raw.decode("utf-8", "surrogateescape"))
    except ValueError:
        return None
    return message if isinstance(message, dict) else None
