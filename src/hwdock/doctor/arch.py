"""Arch lists: parse them, and decide whether one covers a GPU.

AMD: a code object is built for one gfx target; the list covers a GPU when it names the
GPU's target (feature suffixes such as `:xnack-` are ignored).
NVIDIA: SASS built for compute capability X.y runs on X.z with z >= y (same major);
PTX built for X.y is compiled by the driver for any capability >= X.y; arch-specific
targets (`9.0a`) run only on exactly that capability.
Source: https://docs.nvidia.com/cuda/cuda-compiler-driver-nvcc/index.html#gpu-compilation
and https://docs.nvidia.com/cuda/ampere-compatibility-guide/index.html
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPLIT = re.compile(r"[;,\s]+")


def split_list(value: str | None) -> list[str]:
    """'gfx90a;gfx942', '7.0 8.0 9.0+PTX', 'sm_80,compute_90' -> items."""
    if not value:
        return []
    return [x for x in _SPLIT.split(value.strip().strip("'\"")) if x]


def normalize_gfx(item: str) -> str | None:
    m = re.match(r"^(gfx[0-9a-f]+)(?::.*)?$", item.strip().lower())
    return m.group(1) if m else None


def gfx_from_override(value: str | None) -> str | None:
    """HSA_OVERRIDE_GFX_VERSION '11.0.0' -> gfx1100, '9.0.10' -> gfx90a, '9.4.2' -> gfx942."""
    if not value:
        return None
    m = re.fullmatch(r"\s*(\d+)\.(\d+)\.(\d+)\s*", value)
    if not m:
        return None
    major, minor, step = (int(g) for g in m.groups())
    if minor > 15 or step > 15:
        return None
    return f"gfx{major}{minor:x}{step:x}"


@dataclass(frozen=True)
class CudaArch:
    major: int
    minor: int
    sass: bool  # real code for this capability
    ptx: bool  # virtual code the driver can compile for >= this capability
    suffix: str = ""  # "a" (arch-specific) or "f" (family-specific)


def parse_cuda_item(item: str) -> CudaArch | None:
    s = item.strip().lower()
    m = re.fullmatch(r"(sm|compute)_(\d+?)(\d)([af]?)", s)
    if m:
        kind, major, minor, suffix = m.groups()
        return CudaArch(int(major), int(minor), kind == "sm", kind == "compute", suffix)
    m = re.fullmatch(r"(\d+)\.(\d+)([af]?)(\+ptx)?", s)
    if m:
        major, minor, suffix, ptx = m.groups()
        return CudaArch(int(major), int(minor), True, bool(ptx), suffix)
    m = re.fullmatch(r"(\d)(\d)([af]?)", s)  # CMake style "80", "90a"
    if m:
        major, minor, suffix = m.groups()
        return CudaArch(int(major), int(minor), True, False, suffix)
    return None


def parse_cc(cc: str) -> tuple[int, int] | None:
    m = re.fullmatch(r"\s*(\d+)\.(\d+)\s*", cc or "")
    return (int(m.group(1)), int(m.group(2))) if m else None


def cuda_covers(items: list[str], capability: str) -> bool | None:
    """Whether the list runs on `capability` ("8.9"); None when nothing in it parses."""
    cc = parse_cc(capability)
    parsed = [a for a in (parse_cuda_item(i) for i in items) if a is not None]
    if cc is None or not parsed:
        return None
    for a in parsed:
        if a.sass:
            if a.suffix == "a" and (a.major, a.minor) == cc:
                return True
            if a.suffix != "a" and a.major == cc[0] and a.minor <= cc[1]:
                return True
        if a.ptx and a.suffix == "" and (a.major, a.minor) <= cc:
            return True
    return False


def rocm_covers(items: list[str], gfx: str) -> bool | None:
    targets = [t for t in (normalize_gfx(i) for i in items) if t]
    if not targets:
        return None
    return gfx.lower() in targets


def covers(
    items: list[str], *, gfx: str | None = None, capability: str | None = None
) -> bool | None:
    """Coverage of one GPU by an arch list; None when it cannot be decided."""
    if gfx:
        return rocm_covers(items, gfx)
    if capability:
        return cuda_covers(items, capability)
    return None
