"""The container side: Docker and Podman client/server versions, buildx, BuildKit, runtimes,
the NVIDIA container toolkit. All through the runner, each command with a timeout."""

from __future__ import annotations

import json
import posixpath
import re
from typing import Any

from hwdock import docker_clients
from hwdock.probe.context import Context
from hwdock.probe.model import Engine
from hwdock.probe.runner import CommandResult

JSON_FMT = "{{json .}}"


def _json(text: str) -> dict[str, Any] | None:
    text = text.strip()
    if not text:
        return None
    try:
        doc = json.loads(text.splitlines()[0] if text.startswith("{") else text)
    except ValueError:
        try:
            doc = json.loads(text)
        except ValueError:
            return None
    return doc if isinstance(doc, dict) else None


def parse_docker_version(text: str) -> tuple[str | None, str | None]:
    """(client, server) versions from `docker version --format '{{json .}}'`."""
    doc = _json(text) or {}
    client = doc.get("Client") if isinstance(doc.get("Client"), dict) else {}
    server = doc.get("Server") if isinstance(doc.get("Server"), dict) else {}
    cv = client.get("Version") if isinstance(client.get("Version"), str) else None
    sv = server.get("Version") if isinstance(server.get("Version"), str) else None
    return cv, sv


def parse_buildx_version(text: str) -> str | None:
    """`github.com/docker/buildx v0.12.1 30feaa1` -> "0.12.1"."""
    m = re.search(r"\bv?(\d+\.\d+(?:\.\d+)?(?:[-+][\w.]+)?)", text)
    return m.group(1) if m and "buildx" in text else None


def parse_ctk_version(text: str) -> str | None:
    """`NVIDIA Container Toolkit CLI version 1.14.6` -> "1.14.6"."""
    m = re.search(r"version\s+v?(\d+\.\d+(?:\.\d+)?(?:-[\w.]+)?)", text, re.IGNORECASE)
    return m.group(1) if m else None


def collect(ctx: Context) -> None:
    info = _docker(ctx)
    _podman(ctx)
    side = ctx.report.container
    ctk = ctx.run(["nvidia-ctk", "--version"])
    if ctk.ok:
        side.nvidia_ctk_version = parse_ctk_version(ctk.stdout)
    ncr = ctx.run(["nvidia-container-runtime", "--version"])
    runtimes = info.get("Runtimes") if isinstance(info.get("Runtimes"), dict) else {}
    nvidia_rt = runtimes.get("nvidia") if isinstance(runtimes.get("nvidia"), dict) else {}
    if not ncr.missing and not ncr.timed_out:
        path = nvidia_rt.get("path")  # as docker's daemon.json names it, when configured
        side.nvidia_container_runtime = (
            path if isinstance(path, str) and path else ("nvidia-container-runtime")
        )
    has_nvidia = bool(ctx.devices.of("nvidia"))
    docker = next((e for e in side.engines if e.name == "docker" and e.server_version), None)
    if has_nvidia and docker is not None and "nvidia" not in docker.runtimes and not side.cdi_specs:
        ctx.warn(
            "nvidia-runtime-missing",
            "NVIDIA GPU present but Docker has no nvidia runtime and no CDI spec exists: "
            "`docker run --gpus` will fail",
            fix="install nvidia-container-toolkit, then `sudo nvidia-ctk runtime configure "
            "--runtime=docker && sudo systemctl restart docker`",
        )


def _docker_clients(ctx: Context) -> tuple[list[str], str | None]:
    """The docker clients to try (shared rule: `hwdock.docker_clients.candidates`). The
    first is run by its bare name, as PATH resolves it, so captures made before the probe
    looked further still replay; `which -a docker` names it where it answers."""
    which = ctx.run(["which", "-a", "docker"])
    on_path = [ln.strip() for ln in which.stdout.splitlines() if ln.strip()] if which.ok else []
    found = docker_clients.candidates(on_path, same_file=lambda p: _real(ctx, p))
    if not on_path:
        return ["docker", *found], None
    return ["docker", *found[1:]], on_path[0]


def _real(ctx: Context, path: str) -> str:
    """`path` with symlinked directories (merged-usr /bin -> usr/bin) resolved in the root."""
    parts = [p for p in path.split("/") if p]
    out = ""
    for part in parts:
        cur = f"{out}/{part}"
        link = ctx.root.readlink(cur)
        if link is None:
            out = cur
        elif link.startswith("/"):
            out = link.rstrip("/")
        else:
            out = posixpath.normpath(f"{out}/{link}")
    return out or path


def _docker(ctx: Context) -> dict[str, Any]:
    """Fill the docker engine entry with the client hwdock will use; returns its `docker
    info` (empty when no daemon answered)."""
    names, first_path = _docker_clients(ctx)
    answered: list[tuple[str, str]] = []
    seen: dict[str, tuple[Engine, str]] = {}
    problem: tuple[str, CommandResult] | None = None
    for cli in names:
        result = ctx.run([cli, "version", "--format", JSON_FMT])
        if result.missing:
            continue
        client, server = parse_docker_version(result.stdout)
        path = first_path if cli == "docker" and first_path else cli
        engine = Engine(
            name="docker", client_path=path, client_version=client, server_version=server
        )
        if server is None:
            problem = problem or (cli, result)
            seen.setdefault(cli, (engine, ""))
            continue
        buildx = ctx.run([cli, "buildx", "version"])
        if buildx.ok:
            engine.buildx_version = parse_buildx_version(buildx.stdout)
        mode = docker_clients.build_mode(client, server, buildx.ok)
        engine.build_mode = mode
        engine.buildkit_usable = mode != "legacy"
        seen[cli] = (engine, (buildx.stderr or buildx.stdout).strip()[:200])
        answered.append((cli, mode))
        if mode == "buildx":
            break
    if not seen:
        return {}
    chosen = docker_clients.best(answered)
    if chosen is None:  # clients, but no daemon answered any of them
        engine, _ = next(iter(seen.values()))
        ctx.report.container.engines.append(engine)
        cli, result = problem if problem else (names[0], None)
        err = ((result.stderr or result.stdout) if result else "").strip()
        if "permission denied" in err.lower():
            ctx.warn(
                "docker-permission-denied",
                "the Docker daemon refused this user",
                fix="sudo usermod -aG docker $USER, then log in again (or use rootless Docker)",
                evidence=[err[:300]],
            )
        elif result is not None and not result.timed_out:
            ctx.warn(
                "docker-daemon-unreachable",
                "the docker client is installed but no daemon answered",
                fix="sudo systemctl start docker",
                evidence=[err[:300]],
            )
        return {}
    cli, mode = chosen
    engine, buildx_said = seen[cli]
    ctx.report.container.engines.append(engine)
    info = _json(ctx.run([cli, "info", "--format", JSON_FMT]).stdout) or {}
    runtimes = info.get("Runtimes")
    if isinstance(runtimes, dict):
        engine.runtimes = sorted(str(k) for k in runtimes)
    root_dir = info.get("DockerRootDir")
    engine.data_root = root_dir if isinstance(root_dir, str) and root_dir else None
    sec = info.get("SecurityOptions")
    if isinstance(sec, list):
        engine.rootless = any("rootless" in str(s) for s in sec)
    if "CDISpecDirs" in info:
        engine.cdi_enabled = bool(info.get("CDISpecDirs"))
    if mode == "legacy":
        tried = ", ".join(
            f"{e.client_path} {e.client_version}" for e, _ in seen.values() if e.server_version
        )
        ctx.warn(
            "no-buildx",
            f"no docker client here can build with BuildKit (tried {tried}): from client "
            "23.0 BuildKit needs the buildx plugin, which is not installed",
            fix=docker_clients.NO_BUILDKIT_FIX,
            evidence=[buildx_said] if buildx_said else [],
        )
    return info


def _podman(ctx: Context) -> None:
    result = ctx.run(["podman", "version", "--format", "json"])
    if result.missing:
        return
    doc = _json(result.stdout) or {}
    client = doc.get("Client") if isinstance(doc.get("Client"), dict) else {}
    server = doc.get("Server") if isinstance(doc.get("Server"), dict) else {}
    engine = Engine(
        name="podman",
        client_path="podman",
        client_version=client.get("Version") if isinstance(client.get("Version"), str) else None,
        server_version=(server.get("Version") if isinstance(server.get("Version"), str) else None)
        or (client.get("Version") if result.ok else None),  # local podman: no separate server
    )
    ctx.report.container.engines.append(engine)
    if not result.ok:
        return
    info = _json(ctx.run(["podman", "info", "--format", "json"]).stdout) or {}
    host = info.get("host") if isinstance(info.get("host"), dict) else {}
    store = info.get("store") if isinstance(info.get("store"), dict) else {}
    oci = host.get("ociRuntime") if isinstance(host.get("ociRuntime"), dict) else {}
    if isinstance(oci.get("name"), str):
        engine.runtimes = [oci["name"]]
    security = host.get("security") if isinstance(host.get("security"), dict) else {}
    if isinstance(security.get("rootless"), bool):
        engine.rootless = security["rootless"]
    if isinstance(store.get("graphRoot"), str):
        engine.data_root = store["graphRoot"]
