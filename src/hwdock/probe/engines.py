"""The container side: Docker and Podman client/server versions, buildx, BuildKit, runtimes,
the NVIDIA container toolkit. All through the runner, each command with a timeout."""

from __future__ import annotations

import json
import re
from typing import Any

from hwdock.probe import tables
from hwdock.probe.context import Context
from hwdock.probe.model import Engine

JSON_FMT = "{{json .}}"
BUILDKIT_MIN = (18, 9)  # Docker Engine 18.09 added BuildKit (DOCKER_BUILDKIT=1)
CLIENT_NEEDS_BUILDX = (23,)  # from docker CLI 23.0, BuildKit builds go through buildx


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


def _docker(ctx: Context) -> dict[str, Any]:
    """Fill the docker engine entry; returns `docker info` (empty when it did not answer)."""
    result = ctx.run(["docker", "version", "--format", JSON_FMT])
    if result.missing:
        return {}
    client, server = parse_docker_version(result.stdout)
    engine = Engine(
        name="docker", client_path="docker", client_version=client, server_version=server
    )
    ctx.report.container.engines.append(engine)
    if server is None:
        err = (result.stderr or result.stdout).strip()
        if "permission denied" in err.lower():
            ctx.warn(
                "docker-permission-denied",
                "the Docker daemon refused this user",
                fix="sudo usermod -aG docker $USER, then log in again (or use rootless Docker)",
                evidence=[err[:300]],
            )
        elif not result.timed_out:
            ctx.warn(
                "docker-daemon-unreachable",
                "the docker client is installed but no daemon answered",
                fix="sudo systemctl start docker",
                evidence=[err[:300]],
            )
        return {}
    buildx = ctx.run(["docker", "buildx", "version"])
    if buildx.ok:
        engine.buildx_version = parse_buildx_version(buildx.stdout)
    info = _json(ctx.run(["docker", "info", "--format", JSON_FMT]).stdout) or {}
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
    sv = tables.version_tuple(re.sub(r"[^\d.].*$", "", server)) or ()
    cv = tables.version_tuple(re.sub(r"[^\d.].*$", "", client or "")) or ()
    builtin = sv[:2] >= BUILDKIT_MIN and cv[:1] < CLIENT_NEEDS_BUILDX
    engine.buildkit_usable = engine.buildx_version is not None or builtin
    if engine.buildx_version is None and not builtin:
        ctx.warn(
            "no-buildx",
            f"docker client {client} builds with BuildKit only through the buildx plugin, "
            "which is not installed",
            fix="install the buildx plugin (Debian: sudo apt install docker-buildx)",
            evidence=[(buildx.stderr or buildx.stdout).strip()[:200]],
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
