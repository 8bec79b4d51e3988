"""The Engine API client (engine/api.py): which socket, the HTTP exchange, and the same answers
as `docker image inspect` from the real daemon; the client is asked when the socket is not."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import threading
from pathlib import Path

import pytest

from hwdock.engine.api import (
    DEFAULT_SOCKET,
    ApiUnavailable,
    EngineAPI,
    _parse_response,
    _quote,
    docker_socket,
)
from hwdock.engine.engine import ContainerEngine


def test_socket_from_environment(tmp_path: Path) -> None:
    cfg = tmp_path / "cfg"
    cfg.mkdir()
    base = {"DOCKER_CONFIG": str(cfg)}
    assert docker_socket(base) == DEFAULT_SOCKET
    assert docker_socket({**base, "DOCKER_HOST": "unix:///run/user/1000/docker.sock"}) == (
        "/run/user/1000/docker.sock"
    )
    assert docker_socket({**base, "DOCKER_HOST": "tcp://10.0.0.2:2376"}) is None
    assert docker_socket({**base, "DOCKER_HOST": "ssh://me@box"}) is None
    assert docker_socket({**base, "DOCKER_CONTEXT": "remote"}) is None
    assert docker_socket({**base, "DOCKER_CONTEXT": "default"}) == DEFAULT_SOCKET
    (cfg / "config.json").write_text(json.dumps({"currentContext": "colima"}))
    assert docker_socket(base) is None
    (cfg / "config.json").write_text(json.dumps({"currentContext": "default", "auths": {}}))
    assert docker_socket(base) == DEFAULT_SOCKET
    (cfg / "config.json").write_text("{not json")
    assert docker_socket(base) == DEFAULT_SOCKET


def test_parse_plain_and_chunked_answers() -> None:
    plain = b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{"Id": "sha256:1"}'
    assert _parse_response(plain, "s") == (200, b'{"Id": "sha256:1"}')
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b'5\r\n{"a":\r\n3;ext=1\r\n 1}\r\n0\r\n\r\n'
    )
    assert _parse_response(chunked, "s") == (200, b'{"a": 1}')
    assert _parse_response(b"HTTP/1.1 404 Not Found\r\n\r\n{}", "s")[0] == 404
    with pytest.raises(ApiUnavailable):
        _parse_response(b"SSH-2.0-OpenSSH\r\n", "s")
    with pytest.raises(ApiUnavailable):
        _parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "s")


def test_quote_keeps_reference_characters() -> None:
    assert _quote("127.0.0.1:5000/a/b_c-d:1.0") == "127.0.0.1:5000/a/b_c-d:1.0"
    assert _quote("x@sha256:ab") == "x@sha256:ab"
    assert _quote("a b?#%") == "a%20b%3F%23%25"


def _serve_once(path: Path, answer: bytes) -> threading.Thread:
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(1)
    seen: list[bytes] = []

    def run() -> None:
        conn, _ = srv.accept()
        with conn:
            seen.append(conn.recv(65536))
            conn.sendall(answer)
        srv.close()

    t = threading.Thread(target=run, daemon=True)
    t.seen = seen  # type: ignore[attr-defined]
    t.start()
    return t


def test_request_on_a_socket(tmp_path: Path) -> None:
    sock = tmp_path / "d.sock"
    body = json.dumps({"Id": "sha256:abc", "Config": {"Labels": {"k": "v"}}}).encode()
    t = _serve_once(sock, b"HTTP/1.0 200 OK\r\n\r\n" + body)
    got = EngineAPI(str(sock), timeout=5).image_inspect("reg:5000/my img:1")
    t.join(5)
    assert got == {"Id": "sha256:abc", "Config": {"Labels": {"k": "v"}}}
    request = t.seen[0].decode()  # type: ignore[attr-defined]
    assert request.startswith("GET /images/reg:5000/my%20img:1/json HTTP/1.0\r\n")


def test_two_requests_are_answered_while_both_are_open(tmp_path: Path) -> None:
    """`image_inspect_start` sends and returns: this daemon answers only once it has both
    requests (a client that waited for the first answer would time out)."""
    path = tmp_path / "d.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(str(path))
    srv.listen(2)

    def run() -> None:
        conns = [srv.accept()[0] for _ in range(2)]
        requests = [c.recv(65536).decode() for c in conns]
        for c, req in zip(conns, requests, strict=True):
            ref = req.split()[1].split("/")[2]
            c.sendall(b"HTTP/1.0 200 OK\r\n\r\n" + json.dumps({"Id": ref}).encode())
            c.close()
        srv.close()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    api = EngineAPI(str(path), timeout=5)
    first, second = api.image_inspect_start("a:1"), api.image_inspect_start("b:2")
    assert api.image_inspect_finish(second, "b:2") == {"Id": "b:2"}
    assert api.image_inspect_finish(first, "a:1") == {"Id": "a:1"}
    t.join(5)


def test_server_error_is_unavailable_not_absent(tmp_path: Path) -> None:
    sock = tmp_path / "d.sock"
    t = _serve_once(sock, b'HTTP/1.0 500 Internal Server Error\r\n\r\n{"message":"x"}')
    with pytest.raises(ApiUnavailable):
        EngineAPI(str(sock), timeout=5).image_inspect("x:1")
    t.join(5)


def test_missing_socket_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(ApiUnavailable):
        EngineAPI(str(tmp_path / "none.sock")).image_inspect("x:1")


@pytest.mark.engine
def test_api_answers_what_the_client_prints(docker_cli: str, busybox_image: str) -> None:
    path = docker_socket()
    if path is None or not os.path.exists(path):
        pytest.skip(f"no local docker socket here ({path})")
    got = EngineAPI(path).image_inspect(busybox_image)
    out = subprocess.run(
        [docker_cli, "image", "inspect", busybox_image], capture_output=True, text=True, check=True
    )
    want = json.loads(out.stdout)[0]
    assert got is not None and got["Id"] == want["Id"]
    assert got["Config"] == want["Config"] and got["RepoTags"] == want["RepoTags"]
    assert EngineAPI(path).image_inspect("hwdock-api-test/absent:none") is None
    engine = ContainerEngine("docker", docker_cli, "buildkit")
    both = [engine.image_inspect_start(r) for r in (busybox_image, "hwdock-api-test/absent:1")]
    assert all(p.request is not None and p.proc is None for p in both)  # sent, not answered
    assert [(engine.image_inspect_finish(p) or {}).get("Id") for p in both] == [want["Id"], None]


@pytest.mark.engine
def test_engine_falls_back_to_the_client(
    docker_cli: str, busybox_image: str, tmp_path: Path
) -> None:
    via_api = ContainerEngine("docker", docker_cli, "buildkit")
    want = via_api.image_inspect(busybox_image)
    assert want is not None and via_api._api() is not None
    broken = ContainerEngine("docker", docker_cli, "buildkit")
    broken._api_obj = EngineAPI(str(tmp_path / "gone.sock"))  # type: ignore[attr-defined]
    got = broken.image_inspect(busybox_image)  # socket refuses: the client answers
    assert got is not None and got["Id"] == want["Id"]
    assert broken._api() is None  # and is asked from then on
    pending = broken.image_inspect_start(busybox_image)
    assert pending.proc is not None
    assert (broken.image_inspect_finish(pending) or {}).get("Id") == want["Id"]
    podman = ContainerEngine("podman", "/usr/bin/podman", "podman")
    assert podman._api() is None
