"""A Compose file (the Compose specification) for a plan: one service that runs the image.

Values are written as double-quoted YAML strings with `$` doubled (`$$`), because Compose
interpolates `$VAR` everywhere in the file; `HF_TOKEN` appears by name only, so Compose takes
its value from the environment of `docker compose up`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwdock.export import yamltext
from hwdock.export.names import compose_service_name
from hwdock.plan.model import ImageStep, Plan, RunSpec

DEFAULT_PORT = 8000


@dataclass
class ComposeResult:
    text: str
    doc: dict[str, Any]
    service: str
    notes: list[str] = field(default_factory=list)


def _esc(value: str) -> str:
    return value.replace("$", "$$")


def container_port(spec: RunSpec) -> int:
    return spec.ports[0][1] if spec.ports else DEFAULT_PORT


def _context(step: ImageStep, base: Path | None) -> str:
    """The build context as Compose resolves it: relative to the Compose file's directory."""
    ctx = step.context or "."
    if base is None:
        return ctx
    return os.path.relpath(os.path.abspath(ctx), os.path.abspath(base))


def _build_section(step: ImageStep, base: Path | None) -> tuple[dict[str, Any], list[str]]:
    build: dict[str, Any] = {"context": _esc(_context(step, base))}
    if step.generated_dockerfile is not None:
        build["dockerfile_inline"] = _esc(step.generated_dockerfile)
    elif step.dockerfile:
        build["dockerfile"] = _esc(step.dockerfile)
    if step.target:
        build["target"] = _esc(step.target)
    if step.build_args:
        build["args"] = {k: _esc(v) for k, v in step.build_args.items()}
    if step.labels:
        build["labels"] = {k: _esc(v) for k, v in step.labels.items()}
    if step.secrets:
        build["secrets"] = list(step.secrets)
    return build, list(step.secrets)


def _gpu_reservation(gpus: str) -> dict[str, Any]:
    res: dict[str, Any] = {"driver": "nvidia", "capabilities": ["gpu"]}
    value = gpus.strip().strip('"')
    if value == "all":
        res["count"] = "all"
    elif value.startswith("device="):
        res["device_ids"] = [d.strip() for d in value[len("device=") :].split(",") if d.strip()]
    elif value.isdigit():
        res["count"] = int(value)
    else:
        res["count"] = "all"
    return res


def render_compose(
    plan: Plan, *, build: bool = True, v1: bool = False, compose_dir: Path | None = None
) -> ComposeResult:
    """The Compose file. `v1=True` keeps to what docker-compose 1.x reads: no build secrets
    (the Compose Specification's `build.secrets` and `secrets.<name>.environment` came later).
    `compose_dir`: where the file will live; the build context is made relative to it."""
    if plan.run is None:
        from hwdock.errors import InputError

        raise InputError("the plan has no run step: nothing for a Compose service to run")
    spec = plan.run
    notes: list[str] = []
    service, note = compose_service_name(spec.name or ("vllm" if plan.recipe == "vllm" else "app"))
    if spec.name and note:
        notes.append(note)
    svc: dict[str, Any] = {"image": _esc(spec.image)}
    secrets: list[str] = []
    build_steps = [s for s in plan.steps if s.action == "build"]
    if v1 and build and build_steps and build_steps[-1].generated_dockerfile is not None:
        # Compose 1.x has no `dockerfile_inline`: the service runs the image hwdock builds
        notes.append(
            "docker-compose 1.x cannot build from an inline Dockerfile (hwdock generates this "
            f"one): run `hwdock build` first, then the service runs {spec.image}"
        )
        build = False
    if build and build_steps and build_steps[-1].image == spec.image:
        section, secrets = _build_section(build_steps[-1], compose_dir)
        if v1 and secrets:
            del section["secrets"]
            notes.append(
                f"docker-compose 1.x has no build secrets: {', '.join(secrets)} not passed to "
                "the build (use `docker compose` v2, or hwdock build)"
            )
            secrets = []
        svc["build"] = section
        if len(build_steps) > 1:
            earlier = ", ".join(s.image for s in build_steps[:-1])
            notes.append(
                f"Compose builds only the last image; build {earlier} first (hwdock build)"
            )
    if spec.command:
        svc["command"] = [_esc(c) for c in spec.command]
    devices = [f"{d}:{d}" if ":" not in d else d for d in spec.devices]
    devices += list(spec.cdi_devices)  # CDI names: nvidia.com/gpu=all
    if devices:
        svc["devices"] = [_esc(d) for d in devices]
    if spec.group_add:
        svc["group_add"] = list(spec.group_add)
    if spec.ipc:
        svc["ipc"] = spec.ipc
    if spec.shm_size:
        svc["shm_size"] = spec.shm_size
    volumes: list[dict[str, Any]] = []
    named: dict[str, Any] = {}
    for m in spec.mounts:
        entry: dict[str, Any] = {"type": m.kind, "target": _esc(m.target)}
        if m.kind != "tmpfs":
            entry["source"] = _esc(m.source)
        if m.read_only:
            entry["read_only"] = True
        if m.kind == "volume":
            named[m.source] = {}
        volumes.append(entry)
    if volumes:
        svc["volumes"] = volumes
    env = [_esc(f"{k}={v}") for k, v in spec.env.items()] + list(spec.env_passthrough)
    if env:
        svc["environment"] = env
    if spec.ports:
        svc["ports"] = [f"{h}:{c}" for h, c in spec.ports]
    if spec.cap_add:
        svc["cap_add"] = list(spec.cap_add)
    if spec.security_opt:
        svc["security_opt"] = [_esc(s) for s in spec.security_opt]
    if spec.privileged:
        svc["privileged"] = True
    if spec.runtime:
        svc["runtime"] = _esc(spec.runtime)  # Jetson: the nvidia runtime injects the iGPU
    if spec.gpus and not spec.cdi_devices:
        svc["deploy"] = {"resources": {"reservations": {"devices": [_gpu_reservation(spec.gpus)]}}}
    if spec.health_path:
        url = f"http://127.0.0.1:{container_port(spec)}{spec.health_path}"
        probe = f"import urllib.request; urllib.request.urlopen({url!r}, timeout=5)"
        svc["healthcheck"] = {
            "test": ["CMD", "python3", "-c", _esc(probe)],
            "interval": "30s",
            "timeout": "10s",
            "retries": 3,
            "start_period": "600s",
        }
    doc: dict[str, Any] = {"services": {service: svc}}
    if named:
        doc["volumes"] = named
    if secrets:
        doc["secrets"] = {name: {"environment": name} for name in secrets}
    header = "# Generated by hwdock"
    if plan.host:
        header += " for host " + " ".join(str(plan.host).split())
    text = header + "\n" + "".join(f"# {' '.join(n.split())}\n" for n in notes)
    text += yamltext.dump(doc)
    return ComposeResult(text=text, doc=doc, service=service, notes=notes)
