"""The shared docker-client rules (hwdock.docker_clients): probe and engine use these."""

from __future__ import annotations

import pytest

from hwdock import docker_clients as dc


@pytest.mark.parametrize(
    ("client", "server", "buildx", "mode"),
    [
        ("28.2.2", "20.10.24", True, "buildx"),
        ("28.2.2", "20.10.24", False, "legacy"),  # CLI >= 23 needs buildx
        ("20.10.24+dfsg1", "20.10.24+dfsg1", False, "buildkit"),
        ("22.06.0", "24.0.5", False, "buildkit"),
        ("20.10.24", "18.06.1", False, "legacy"),  # daemon before BuildKit
        ("18.06.0", "20.10.24", False, "legacy"),  # client before DOCKER_BUILDKIT
        ("18.09.0", "18.09.0", False, "buildkit"),
        ("", "20.10.24", False, "legacy"),
        ("20.10.24", None, False, "legacy"),
    ],
)
def test_build_mode(client: str, server: str | None, buildx: bool, mode: str) -> None:
    assert dc.build_mode(client, server, buildx) == mode


def test_candidates_keep_path_order_and_drop_second_names() -> None:
    real = {"/bin/docker": "/usr/bin/docker"}
    got = dc.candidates(
        ["/usr/local/bin/docker", "/usr/bin/docker", "/bin/docker"],
        same_file=lambda p: real.get(p, p),
    )
    assert got == ["/usr/local/bin/docker", "/usr/bin/docker"]
    assert dc.candidates([]) == ["/usr/bin/docker"]


def test_best_prefers_mode_then_order() -> None:
    assert dc.best([("a", "legacy"), ("b", "buildkit"), ("c", "buildkit")]) == ("b", "buildkit")
    assert dc.best([("a", "buildkit"), ("b", "buildx")]) == ("b", "buildx")
    assert dc.best([]) is None
