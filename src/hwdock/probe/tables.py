"""Look-ups into the knowledge tables the probe needs, loaded only when first asked."""

from __future__ import annotations

from functools import cache
from typing import Any


def _load(name: str) -> dict[str, Any]:
    from hwdock.knowledge import load

    return load(name)


@cache
def _amd_devices() -> dict[str, dict[str, Any]]:
    return {d["id"].lower(): d for d in _load("amd_gpus").get("devices", [])}


@cache
def _amd_targets() -> dict[str, dict[str, Any]]:
    return {t["gfx_target"]: t for t in _load("amd_gpus").get("targets", [])}


@cache
def _nvidia_devices() -> dict[str, dict[str, Any]]:
    return {d["id"].lower(): d for d in _load("nvidia_gpus").get("devices", [])}


@cache
def _vendors() -> dict[str, dict[str, Any]]:
    return {v["id"].lower(): v for v in _load("pci_vendors").get("vendors", [])}


def amd_device(device_id: str | None) -> dict[str, Any] | None:
    return _amd_devices().get(device_id.lower()) if device_id else None


def amd_target(gfx: str | None) -> dict[str, Any] | None:
    return _amd_targets().get(gfx) if gfx else None


def nvidia_device(device_id: str | None) -> dict[str, Any] | None:
    return _nvidia_devices().get(device_id.lower()) if device_id else None


def nvidia_by_name(name: str | None) -> dict[str, Any] | None:
    """The table entry whose product name best matches `name` (longest match wins)."""
    if not name:
        return None
    wanted = _norm(name)
    best: dict[str, Any] | None = None
    for d in _nvidia_devices().values():
        n = _norm(d["name"])
        if (n in wanted or wanted in n) and (best is None or len(n) > len(_norm(best["name"]))):
            best = d
    return best


def _norm(s: str) -> str:
    return "".join(
        ch for ch in s.lower().replace("nvidia", "").replace("tesla", "") if ch.isalnum()
    )


def jetson_soc(compatible: list[str]) -> dict[str, Any] | None:
    socs = {j["soc"]: j for j in _load("nvidia_gpus").get("jetson", [])}
    for c in compatible:
        soc = c.split(",", 1)[-1]
        if soc in socs:
            return socs[soc]
    return None


def cuda_for_driver(version: str | None, *, windows: bool = False) -> dict[str, Any] | None:
    """The newest CUDA whose minimum Linux (or Windows, for WSL) driver is at or below
    `version`, from cuda.toml's `toolkit` rows (the one CUDA -> driver table)."""
    have = version_tuple(version)
    if have is None:
        return None
    best: tuple[tuple[int, ...], dict[str, Any]] | None = None
    for c in _load("cuda").get("toolkit", []):
        floor = version_tuple(c.get("min_windows_driver" if windows else "min_driver"))
        if floor is not None and floor <= have:
            v = version_tuple(c["version"]) or ()
            if best is None or v > best[0]:
                best = (v, c)
    return best[1] if best else None


def vendor(vendor_id: str | None) -> dict[str, Any] | None:
    return _vendors().get(vendor_id.lower()) if vendor_id else None


def version_tuple(v: str | None) -> tuple[int, ...] | None:
    if not v:
        return None
    parts = []
    for p in v.strip().split("."):
        if not p.isdigit():
            return None
        parts.append(int(p))
    return tuple(parts) or None
