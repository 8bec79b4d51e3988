"""Find the container engine that works here, by probing; never assume.

Order for `find_engine()` (no name): Docker first, then Podman. For Docker, every client on
PATH plus Debian's `/usr/bin/docker` is a candidate; a client counts only when its daemon
answers (`docker version`). Its build mode is, best first:
  1. `buildx`   — `docker buildx version` answers: `docker buildx build --load`;
  2. `buildkit` — the client has BuildKit built in (`DOCKER_BUILDKIT=1 docker build`), which
     is true of classic clients before 23.0 (e.g. Debian's 20.10); newer clients dropped it
     and need buildx;
  3. `legacy`   — neither: the deprecated builder, used only for Dockerfiles that need no
     BuildKit feature, with a warning (see `needs_buildkit`).
A client with buildx wins over one with BuildKit built in, which wins over a legacy one.
The candidate list and the mode rule live in `hwdock.docker_clients`, shared with the probe.
"""

from __future__ import annotations

import json
import os
import time

from hwdock.docker_clients import EXTRA_DOCKER_CLIENTS, MODE_RANK
from hwdock.engine.engine import ContainerEngine
from hwdock.errors import ExitCode, HwdockError

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:  # a cached detection (the fast path) needs no subprocess, typing, pathlib
    import subprocess
    from collections.abc import Callable, Sequence
    from pathlib import Path

    from hwdock.engine.argv import BuildMode

    Runner = Callable[[Sequence[str], dict[str, str] | None], subprocess.CompletedProcess[str]]


def _default_runner(
    argv: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    import subprocess

    try:
        return subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            timeout=20,
            env={**os.environ, **(env or {})},
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return subprocess.CompletedProcess(list(argv), 127, "", str(err))


def _which_all(name: str) -> list[str]:
    out: list[str] = []
    for d in os.environ.get("PATH", "").split(os.pathsep):
        p = os.path.join(d, name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            real = os.path.realpath(p)
            if real not in (os.path.realpath(x) for x in out):
                out.append(p)
    return out


def probe_docker(cli: str, run: Runner = _default_runner) -> ContainerEngine | str:
    """A ContainerEngine for this docker client, or the reason it does not work."""
    from hwdock.docker_clients import build_mode as docker_build_mode

    ver = run([cli, "version", "--format", "{{.Client.Version}}|{{.Server.Version}}"], None)
    client_v, _, server_v = ver.stdout.strip().partition("|")
    if ver.returncode != 0 or not server_v:
        why = (ver.stderr or ver.stdout).strip().splitlines()
        return f"{cli}: daemon does not answer ({why[-1] if why else 'no answer'})"
    notes = [f"{cli}: client {client_v}, server {server_v}"]
    bx = run([cli, "buildx", "version"], None)
    mode: BuildMode = docker_build_mode(client_v, server_v, bx.returncode == 0)
    if mode == "buildx":
        notes.append(f"buildx: {bx.stdout.strip()}")
    elif mode == "buildkit":
        mode = "buildkit"  # classic client with BuildKit built in
        notes.append("no buildx; BuildKit built into the client (DOCKER_BUILDKIT=1)")
    else:
        mode = "legacy"
        notes.append("no buildx and no built-in BuildKit: only the deprecated builder")
    return ContainerEngine("docker", cli, mode, server_v, notes)


def probe_podman(cli: str, run: Runner = _default_runner) -> ContainerEngine | str:
    ver = run([cli, "version", "--format", "{{.Client.Version}}"], None)
    if ver.returncode != 0 or not ver.stdout.strip():
        why = (ver.stderr or ver.stdout).strip().splitlines()
        return f"{cli}: podman does not answer ({why[-1] if why else 'no answer'})"
    v = ver.stdout.strip()
    return ContainerEngine("podman", cli, "podman", v, [f"{cli}: podman {v}"])


def _rank(e: ContainerEngine) -> int:
    return MODE_RANK[e.build_mode]


PLUGIN_DIRS = (
    "~/.docker/cli-plugins",
    "/usr/local/lib/docker/cli-plugins",
    "/usr/local/libexec/docker/cli-plugins",
    "/usr/lib/docker/cli-plugins",
    "/usr/libexec/docker/cli-plugins",
)
CACHE_TTL_S = 600.0


def _fingerprint(name: str | None) -> str:
    """What detection depends on: clients on PATH (path, size, mtime), plugins, env."""
    parts: list[object] = [name, os.environ.get("PATH", "")]
    for var in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_CONFIG", "CONTAINER_HOST"):
        parts.append(os.environ.get(var))
    for cli in [*_which_all("docker"), *EXTRA_DOCKER_CLIENTS, *_which_all("podman")]:
        try:
            st = os.stat(cli)
            parts.append((cli, st.st_size, st.st_mtime_ns))
        except OSError:
            parts.append((cli, None))
    for d in PLUGIN_DIRS:
        try:
            parts.append((d, os.stat(os.path.expanduser(d)).st_mtime_ns))
        except OSError:
            parts.append((d, None))
    return json.dumps(parts, default=str)


def _cache_path() -> Path:
    from hwdock.engine.runlog import state_dir

    return state_dir() / "engine-cache.json"


def _cached(name: str | None) -> ContainerEngine | None:
    try:
        data = json.loads(_cache_path().read_text())
    except (OSError, ValueError):
        return None
    if data.get("key") != _fingerprint(name) or time.time() - data.get("at", 0) > CACHE_TTL_S:
        return None
    e = data.get("engine") or {}
    try:
        return ContainerEngine(
            e["name"],
            e["cli"],
            e["build_mode"],
            e.get("version", ""),
            [*e.get("notes", []), "(detected earlier; cached)"],
        )
    except KeyError:
        return None


def _store(name: str | None, engine: ContainerEngine) -> None:
    try:
        p = _cache_path()
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(
            json.dumps({"key": _fingerprint(name), "at": time.time(), "engine": engine.to_dict()})
        )
        os.replace(tmp, p)
    except OSError:
        pass


def find_engine(name: str | None = None, *, run: Runner | None = None) -> ContainerEngine:
    """The engine to use: `name` is "docker", "podman", a client path, or None for auto.

    A successful detection is remembered for ten minutes in the state directory, keyed by
    the clients' paths, sizes and mtimes, the plugin folders and DOCKER_HOST & co., so the
    fast "up to date" path does not start four client processes. A daemon that went down
    since is still reported: every engine call checks for it.
    """
    name = name or os.environ.get("HWDOCK_ENGINE") or None
    if run is None:
        hit = _cached(name)
        if hit is not None:
            return hit
        found = _find_engine(name, _default_runner)
        if not engine_warnings(found):  # a fallback is not remembered: Docker may be back soon
            _store(name, found)
        return found
    return _find_engine(name, run)


def _find_engine(name: str | None, run: Runner) -> ContainerEngine:
    import shutil

    from hwdock.docker_clients import candidates as docker_candidates

    reasons: list[str] = []
    kind: str | None = None
    candidates: list[str] = []
    if name in (None, "docker"):
        candidates += docker_candidates(
            _which_all("docker"),
            extra=[p for p in EXTRA_DOCKER_CLIENTS if os.path.exists(p)],
            same_file=os.path.realpath,
        )
        kind = "docker"
    elif name == "podman":
        kind = "podman"
        candidates = _which_all("podman")
    else:
        path = name if os.path.sep in name else shutil.which(name)
        if not path or not os.path.exists(path):
            raise HwdockError(
                f"--engine {name}: no such client",
                hint="give docker, podman or the path of a docker/podman client",
                exit_code=ExitCode.USAGE,
            )
        candidates = [path]
        kind = "podman" if "podman" in os.path.basename(path) else "docker"

    found: list[ContainerEngine] = []
    seen: set[str] = set()
    for cli in candidates:
        real = os.path.realpath(cli)
        if real in seen:
            continue
        seen.add(real)
        got = probe_docker(cli, run) if kind == "docker" else probe_podman(cli, run)
        if isinstance(got, str):
            reasons.append(got)
        else:
            found.append(got)
            if got.build_mode in ("buildx", "podman"):
                break

    docker_down = list(reasons) if kind == "docker" else []
    if not found and name is None:
        for cli in _which_all("podman"):
            got = probe_podman(cli, run)
            if isinstance(got, str):
                reasons.append(got)
            else:
                found.append(got)
                break

    if not found:
        what = name or "docker or podman"
        detail = "; ".join(reasons) if reasons else f"no {what} client on PATH"
        raise HwdockError(
            f"no container engine answers ({detail})",
            hint=(
                "start the daemon (sudo systemctl start docker, or dockerd &) and check "
                "`docker info`; or install Podman and pass --engine podman"
                if kind != "podman"
                else "install Podman (apt-get install podman) and check `podman info`"
            ),
            exit_code=ExitCode.ENGINE_UNAVAILABLE,
        )
    best = min(found, key=_rank)
    best.notes.extend(r for r in reasons)
    if name is None and best.name == "podman" and docker_down:
        # the user has Docker and probably meant it: say so, and name the way to silence it
        best.notes.insert(
            0,
            WARNING_PREFIX + f"no Docker daemon answers ({docker_down[0]}); using Podman "
            "(start the Docker daemon, or pass --engine podman to choose Podman)",
        )
    return best


WARNING_PREFIX = "warning: "


def engine_warnings(engine: ContainerEngine) -> list[str]:
    """What the user should hear about the engine chosen (a fallback), without the prefix."""
    return [n[len(WARNING_PREFIX) :] for n in engine.notes if n.startswith(WARNING_PREFIX)]
