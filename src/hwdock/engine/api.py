"""The Docker Engine API over its local unix socket, for the fast path's look-ups.

`hwdock build` with nothing changed needs two answers from the engine: the labels of the
image it would build and the ids of the images its FROM lines name. Asking the docker
client costs a process start per question (about 50-100 ms of CPU each on the benchmark's
2-core VM, competing with the context walk); asking the daemon directly over
`/var/run/docker.sock` costs about a millisecond. `GET /images/{name}/json` answers the same
document that `docker image inspect` prints (the client prints the API's JSON in a list).

Only a local unix socket is used: DOCKER_HOST `unix://PATH`, or the default socket when
neither DOCKER_HOST, DOCKER_CONTEXT nor the client's `currentContext` points elsewhere.
Anything else (tcp/ssh hosts, contexts, Podman, a socket that refuses) returns None from
`docker_socket`/raises `ApiUnavailable`, and the caller asks the client instead.

A hand-written HTTP/1.0 exchange on purpose: `http.client` costs about 27 ms to import
(email, parsers) on this machine, a quarter of hwdock's whole start-up; `socket` about 3 ms
(it turns the C module's constants into enums), so the C module `_socket`, which `socket`
wraps, is used directly: a unix stream socket needs nothing `socket` adds.
HTTP/1.0 without keep-alive makes the daemon send a plain body and close the connection.
"""

from __future__ import annotations

import _socket
import json
import os

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

DEFAULT_SOCKET = "/var/run/docker.sock"


class ApiUnavailable(Exception):
    """The socket cannot be used (absent, refused, not HTTP): ask the client instead."""


def _current_context(env: Mapping[str, str]) -> str | None:
    folder = env.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    try:
        with open(os.path.join(folder, "config.json"), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    ctx = data.get("currentContext") if isinstance(data, dict) else None
    return ctx if isinstance(ctx, str) else None


def docker_socket(env: Mapping[str, str] | None = None) -> str | None:
    """The unix socket the docker client would talk to, or None when it would not use one."""
    env = os.environ if env is None else env
    if env.get("DOCKER_CONTEXT") not in (None, "", "default"):
        return None
    host = env.get("DOCKER_HOST")
    if host:
        return host[len("unix://") :] if host.startswith("unix://") else None
    if _current_context(env) not in (None, "", "default"):
        return None
    return DEFAULT_SOCKET


class EngineAPI:
    """GET requests to a Docker Engine API on a unix socket.

    A request is sent (`start`) and its answer read later (`finish`): the daemon works on two
    look-ups, and hwdock on the context digest, at the same time."""

    def __init__(self, path: str, timeout: float = 30.0):
        self.path = path
        self.timeout = timeout

    def start(self, url: str) -> _socket.socket:
        """Send `GET url`; the socket to read the answer from (ApiUnavailable if none)."""
        s = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
        try:
            s.settimeout(self.timeout)
            s.connect(self.path)
            s.sendall(f"GET {url} HTTP/1.0\r\nHost: docker\r\n\r\n".encode("ascii"))
        except OSError as err:  # absent, refused, permission, timeout
            s.close()
            raise ApiUnavailable(f"{self.path}: {err}") from err
        return s

    def finish(self, s: _socket.socket) -> tuple[int, bytes]:
        """(status, body) of a request `start` sent; ApiUnavailable when it is not HTTP."""
        chunks: list[bytes] = []
        try:
            while True:
                data = s.recv(65536)
                if not data:
                    break
                chunks.append(data)
        except OSError as err:  # reset, timeout
            raise ApiUnavailable(f"{self.path}: {err}") from err
        finally:
            s.close()
        return _parse_response(b"".join(chunks), self.path)

    def get(self, url: str) -> tuple[int, bytes]:
        """(status, body) of `GET url`; ApiUnavailable when the socket does not answer HTTP."""
        return self.finish(self.start(url))

    def image_inspect_start(self, ref: str) -> _socket.socket:
        return self.start(f"/images/{_quote(ref)}/json")

    def image_inspect_finish(self, s: _socket.socket, ref: str) -> dict[str, Any] | None:
        status, body = self.finish(s)
        if status == 404:
            return None
        if status != 200:
            raise ApiUnavailable(f"{self.path}: status {status} for image {ref}")
        try:
            data = json.loads(body)
        except ValueError as err:
            raise ApiUnavailable(f"{self.path}: not JSON ({err})") from err
        return data if isinstance(data, dict) else None

    def image_inspect(self, ref: str) -> dict[str, Any] | None:
        """What `docker image inspect REF` prints (its one element), or None when absent."""
        return self.image_inspect_finish(self.image_inspect_start(ref), ref)


_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/:@")


def _quote(text: str) -> str:
    """Percent-encode a path segment, keeping the characters image references are made of."""
    return "".join(chr(b) if b in _SAFE else f"%{b:02X}" for b in text.encode("utf-8"))


def _parse_response(raw: bytes, where: str) -> tuple[int, bytes]:
    head, sep, body = raw.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    parts = lines[0].split(None, 2)
    if not sep or len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        raise ApiUnavailable(f"{where}: not an HTTP answer")
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(b":")
        headers[k.strip().lower()] = v.strip()
    if headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        body = _dechunk(body, where)
    return int(parts[1]), body


def _dechunk(body: bytes, where: str) -> bytes:
    out: list[bytes] = []
    pos = 0
    while True:
        eol = body.find(b"\r\n", pos)
        if eol < 0:
            raise ApiUnavailable(f"{where}: truncated chunked answer")
        try:
            size = int(body[pos:eol].split(b";")[0], 16)
        except ValueError as err:
            raise ApiUnavailable(f"{where}: bad chunk size") from err
        if size == 0:
            return b"".join(out)
        out.append(body[eol + 2 : eol + 2 + size])
        pos = eol + 2 + size + 2
