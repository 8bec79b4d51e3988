"""Which docker client hwdock uses, and how it builds: the pure rules shared by the probe
(`hwdock.probe.engines`, which reports them) and the engine (`hwdock.engine.detect`, which
acts on them), so that the two always agree.

Candidates: every `docker` on PATH, in PATH order, then Debian's `/usr/bin/docker` (a
distribution client often sits behind a newer one in /usr/local/bin). Two names for the
same file count once.

Build mode of one client whose daemon answers, best first:
  1. `buildx`   — `docker buildx version` answers: BuildKit through the plugin;
  2. `buildkit` — BuildKit built into the classic client, enabled by DOCKER_BUILDKIT=1.
     That needs a daemon of 18.09 or newer (the release that added BuildKit) and a client
     of 18.09 up to, not including, 23.0 (from 23.0 the CLI hands BuildKit builds to buildx
     and refuses DOCKER_BUILDKIT=1 without it). An unknown version means "no".
  3. `legacy`   — neither: only the deprecated builder.
The client used is the best-ranked one; ties go to the earlier candidate.
"""

from __future__ import annotations

import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:  # types only: `hwdock build`'s fast path imports this module
    from collections.abc import Callable, Iterable
    from typing import Literal

    DockerMode = Literal["buildx", "buildkit", "legacy"]

EXTRA_DOCKER_CLIENTS = ("/usr/bin/docker",)
BUILDKIT_MIN_DAEMON = (18, 9)  # Docker Engine 18.09 added BuildKit (DOCKER_BUILDKIT=1)
BUILDKIT_MIN_CLIENT = (18, 9)
CLIENT_NEEDS_BUILDX = (23,)  # from docker CLI 23.0, BuildKit builds go through buildx
MODE_RANK: dict[str, int] = {"buildx": 0, "buildkit": 1, "legacy": 2, "podman": 3}

NO_BUILDKIT_FIX = (
    "install the buildx plugin: package docker-buildx-plugin from Docker's own apt "
    "repository (it goes with docker-ce-cli), or the distribution's docker-buildx package "
    "where there is one (Ubuntu; Debian 12 has none); or use a docker client older than 23.0, "
    "which has BuildKit built in (Debian 12's docker.io 20.10 at /usr/bin/docker: "
    "HWDOCK_ENGINE=/usr/bin/docker, builds with DOCKER_BUILDKIT=1)"
)


def version_tuple(version: str | None) -> tuple[int, ...]:
    """ "20.10.24+dfsg1" -> (20, 10, 24); "" or None -> ()."""
    m = re.match(r"\s*v?(\d+(?:\.\d+)*)", version or "")
    return tuple(int(p) for p in m.group(1).split(".")) if m else ()


def builtin_buildkit(client_version: str | None, server_version: str | None) -> bool:
    """The classic client can build with BuildKit itself (DOCKER_BUILDKIT=1)."""
    cv, sv = version_tuple(client_version), version_tuple(server_version)
    if not cv or not sv:
        return False
    return (
        sv[:2] >= BUILDKIT_MIN_DAEMON
        and cv[:2] >= BUILDKIT_MIN_CLIENT
        and cv[:1] < (CLIENT_NEEDS_BUILDX)
    )


def build_mode(
    client_version: str | None, server_version: str | None, has_buildx: bool
) -> DockerMode:
    if has_buildx:
        return "buildx"
    return "buildkit" if builtin_buildkit(client_version, server_version) else "legacy"


def candidates(
    on_path: Iterable[str],
    *,
    extra: Iterable[str] = EXTRA_DOCKER_CLIENTS,
    same_file: Callable[[str], str] = lambda p: p,
) -> list[str]:
    """Clients to try, in order: those found on PATH, then the extra ones; `same_file` maps a
    path to a key equal for two names of one file (e.g. its real path)."""
    out: list[str] = []
    seen: set[str] = set()
    for p in [*on_path, *extra]:
        key = same_file(p)
        if p and key not in seen:
            seen.add(key)
            out.append(p)
    return out


def best(modes: Iterable[tuple[str, str]]) -> tuple[str, str] | None:
    """The (client, mode) to use among those whose daemon answered: best mode, then order."""
    ranked = [(MODE_RANK[m], i, c, m) for i, (c, m) in enumerate(modes)]
    if not ranked:
        return None
    _, _, c, m = min(ranked)
    return c, m
