"""Typed look-ups over the knowledge data files (rocm, cuda, cpu_isa, vllm)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from hwdock.knowledge import load

if TYPE_CHECKING:
    from hwdock.probe.model import Accelerator, HostReport


def version_tuple(text: str | None) -> tuple[int, ...]:
    if not text:
        return ()
    nums = re.findall(r"\d+", text)
    return tuple(int(n) for n in nums)


def vllm() -> dict[str, Any]:
    return load("vllm")


def recipe_platform(platform: str) -> dict[str, Any]:
    return vllm()["platform"].get(platform, {})


# ---- AMD


def gfx_info(gfx: str) -> dict[str, Any] | None:
    return load("rocm")["target"].get(gfx)


def rocm_min(gfx: str) -> str | None:
    info = gfx_info(gfx)
    return info.get("min_rocm") if info else None


def rocm_features() -> list[dict[str, Any]]:
    return list(load("rocm").get("vllm_feature", []))


def rocm_version_of(image_ref: str | None) -> str | None:
    """ROCm version encoded in an image reference, e.g. `rocm/pytorch:rocm6.1_...` → 6.1,
    `rocm/dev-ubuntu-22.04:7.2.1-complete` → 7.2.1."""
    if not image_ref:
        return None
    m = re.search(r"rocm[-_]?(\d+\.\d+(?:\.\d+)?)", image_ref.split("/")[-1])
    if m:
        return m.group(1)
    if image_ref.startswith("rocm/") or "/rocm/" in image_ref:
        m = re.search(r":(\d+\.\d+(?:\.\d+)?)(?:[-_]|$)", image_ref)
        if m:
            return m.group(1)
    return None


# ---- NVIDIA


def toolkits() -> list[dict[str, Any]]:
    """The CUDA toolkits an image can be built on (cuda.toml rows with an `image_tag`; the
    older rows carry driver floors only)."""
    rows = [t for t in load("cuda")["toolkit"] if "image_tag" in t]
    return sorted(rows, key=lambda t: version_tuple(t["version"]))


def toolkit(version: str) -> dict[str, Any] | None:
    """The toolkit entry for a CUDA version ("12.8.1" → the 12.8 entry)."""
    want = version_tuple(version)[:2]
    for t in toolkits():
        if version_tuple(t["version"])[:2] == want:
            return t
    return None


def major_floor(cuda: str) -> str | None:
    major = str(version_tuple(cuda)[0]) if version_tuple(cuda) else None
    entry = load("cuda")["major_floor"].get(major) if major else None
    return entry["min_driver"] if entry else None


def cuda_source() -> str:
    return load("cuda")["meta"]["release_notes"]


def capability_info(cc: str) -> dict[str, Any] | None:
    return load("cuda")["capability"].get(cc)


def jetson_container() -> dict[str, Any]:
    """How a container reaches a Jetson's GPU: the `nvidia` runtime, not `--gpus`
    (cuda.toml [jetson_container], with its sources)."""
    return dict(load("cuda")["jetson_container"])


def jetson_host(host: HostReport, nvidia_chosen: Iterable[Accelerator]) -> bool:
    """A Jetson (L4T): /etc/nv_tegra_release was read, or an integrated NVIDIA GPU on aarch64."""
    return bool(host.jetson_release) or (
        any(a.integrated and a.vendor == "nvidia" for a in nvidia_chosen)
        and (host.cpu.architecture or "") == "aarch64"
    )


def cuda_version_of(image_ref: str | None) -> str | None:
    """CUDA version in an image reference: `nvidia/cuda:12.8.1-devel-ubuntu22.04` → 12.8.1."""
    if not image_ref:
        return None
    m = re.search(r"cuda[:\-_]?(\d+\.\d+(?:\.\d+)?)", image_ref)
    return m.group(1) if m else None


def parse_cuda_arch_list(text: str | None) -> list[tuple[str, bool]]:
    """`'7.0 7.5 8.0 9.0+PTX'` or `8.0;9.0a` → [(cc, ptx), ...]."""
    out: list[tuple[str, bool]] = []
    for item in re.split(r"[\s;,]+", text or ""):
        if not item:
            continue
        ptx = item.upper().endswith("+PTX") or item.endswith("-virtual")
        core = item[:-4] if item.upper().endswith("+PTX") else item
        core = core.removesuffix("-real").removesuffix("-virtual")
        m = re.match(r"^(?:sm_|compute_)?(\d+)\.?(\d+)?[af]?$", core)
        if not m:
            continue
        if m.group(2) is None:  # "90" / "sm_90"
            digits = m.group(1)
            core = f"{digits[:-1]}.{digits[-1]}"
        else:
            core = f"{m.group(1)}.{m.group(2)}"
        out.append((core, ptx))
    return out


def cuda_list_covers(arch_list: str | None, cc: str) -> bool:
    """Binary compatibility (CUDA programming guide): SASS for X.y runs on X.z, z >= y;
    PTX JIT-compiles for any equal or higher capability."""
    host = version_tuple(cc)
    if len(host) < 2:
        return False
    for item, ptx in parse_cuda_arch_list(arch_list):
        v = version_tuple(item)
        if ptx and v <= host:
            return True
        if v[0] == host[0] and v[1] <= host[1]:
            return True
    return False


def rocm_list(text: str | None) -> list[str]:
    return [x for x in re.split(r"[\s;,]+", text or "") if x]


# ---- CPU


def cpu_build_args() -> list[dict[str, Any]]:
    return list(load("cpu_isa")["build_arg"])


def cpu_source() -> str:
    return load("cpu_isa")["meta"]["source"]


def load_source(name: str) -> str:
    """The main source URL of a knowledge file."""
    meta = load(name).get("meta", {})
    return next(iter(meta.values()), name)


def load_table(name: str, key: str) -> dict[str, Any]:
    return dict(load(name)[key])


_VENDOR = {"cuda": "nvidia", "rocm": "amd"}
_THREADS = {"nvcc_threads", "NVCC_THREADS"}


def _explain_args(kind: str, vendor: str | None = None) -> list[str]:
    """ARG names of a kind in the explain knowledge (knowledge/data/build_args.toml)."""
    try:
        table = load("build_args").get("args", {})
    except FileNotFoundError:
        return []
    return [
        name
        for name, info in table.items()
        if info.get("kind") == kind and (vendor is None or info.get("vendor") == vendor)
    ]


def generic_arch_args(platform: str) -> list[str]:
    """Arch-list ARG names any Dockerfile may use: the plan's own list, then explain's."""
    own = list(vllm()["generic"].get(f"arch_args_{platform}", []))
    vendor = _VENDOR.get(platform)
    extra = _explain_args("arch-list", vendor) if vendor else []
    return own + [n for n in extra if n not in own]


def generic_jobs_args() -> list[str]:
    own = list(vllm()["generic"]["jobs_args"])
    extra = [n for n in _explain_args("parallelism") if n not in _THREADS]
    return own + [n for n in extra if n not in own]


def generic_threads_args() -> list[str]:
    own = list(vllm()["generic"]["threads_args"])
    extra = [n for n in _explain_args("parallelism") if n in _THREADS]
    return own + [n for n in extra if n not in own]
