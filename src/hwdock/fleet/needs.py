"""What a host's image needs, as a hashable key: hosts with equal keys can share one image.

Pure over `HostReport`. The platform follows the discrete accelerators (integrated GPUs only
when there is nothing else); the arch list is the set of gfx targets (AMD) or compute
capabilities (NVIDIA) of those accelerators; NVIDIA hosts are also split by the CUDA major
their driver supports (an image built for CUDA 13 cannot run on a CUDA 12 driver); CPU-only
hosts by CPU ISA level (an image built for AVX-512 dies with "Illegal instruction" on AVX2).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from hwdock.probe.model import Accelerator, HostReport

PLATFORM_OF_VENDOR = {"nvidia": "cuda", "amd": "rocm", "intel": "xpu"}
ISA_ORDER = ("sse4.2", "avx", "avx2", "avx512")


@dataclass(frozen=True)
class Needs:
    platform: str  # cuda | rocm | xpu | cpu
    archs: tuple[str, ...]  # sorted gfx targets / compute capabilities; () for cpu
    cpu_arch: str  # x86_64 | aarch64 | ...
    driver_class: str | None = None  # "cuda12": CUDA major the NVIDIA driver supports
    isa: str | None = None  # CPU images only

    def merge_key(self) -> tuple[str, str, str | None, str | None]:
        """Needs that a fat image cannot paper over: everything but the arch list."""
        return (self.platform, self.cpu_arch, self.driver_class, self.isa)


@dataclass(frozen=True)
class Exclusion:
    host: str
    reason: str


def accelerator_arch(acc: Accelerator) -> str | None:
    """What a variant is built for: gfx target (AMD), compute capability (NVIDIA), or device id."""
    if acc.vendor == "amd":
        return acc.gfx_target
    if acc.vendor == "nvidia":
        return acc.compute_capability
    return acc.device_id or acc.name


def unbound_addresses(host: HostReport) -> set[str]:
    """PCI addresses of GPUs the probe found with no kernel driver bound (`gpu-driver-not-bound`):
    no image can use them, whatever it is built for."""
    out: set[str] = set()
    for f in host.findings:
        if f.code == "gpu-driver-not-bound":
            for ev in f.evidence:
                parts = ev.rstrip("/").split("/")
                if len(parts) >= 2 and parts[-1] == "driver":
                    out.add(parts[-2])
    return out


def chosen_accelerators(host: HostReport) -> list[Accelerator]:
    """The accelerators an image for this host is for: visible, bound, discrete ones first."""
    unbound = unbound_addresses(host)
    visible = [
        a
        for a in host.accelerators
        if a.visible and a.vendor in PLATFORM_OF_VENDOR and a.pci_address not in unbound
    ]
    discrete = [a for a in visible if not a.integrated]
    pool = discrete or visible
    if not pool:
        return []
    vendor = Counter(a.vendor for a in pool).most_common(1)[0][0]
    return [a for a in pool if a.vendor == vendor]


def _cuda_major(host: HostReport) -> str | None:
    for d in host.drivers:
        if d.vendor == "nvidia" and d.cuda_driver_version:
            return "cuda" + d.cuda_driver_version.split(".")[0]
    return None


def _l4t(release: str) -> str:
    """`R35 (release), REVISION: 3.1` (/etc/nv_tegra_release) → `R35.3.1`."""
    m = re.match(r"\s*(R\d+)\b.*?REVISION:\s*([\d.]+)", release)
    return f"{m.group(1)}.{m.group(2)}" if m else release


def host_needs(host: HostReport, *, allow_cpu: bool = True) -> Needs | Exclusion:
    name = host.hostname or "?"
    cpu_arch = host.cpu.architecture or "x86_64"
    if host.jetson_release:
        return Exclusion(
            name,
            f"Jetson (L4T {_l4t(host.jetson_release)}): its integrated GPU needs an L4T-based "
            "image built for the device; fleet variants are for PCI GPUs and CPUs "
            "(plan it on the Jetson with `hwdock plan`)",
        )
    accs = chosen_accelerators(host)
    unbound = sorted(unbound_addresses(host))
    if not accs and unbound:
        return Exclusion(
            name,
            f"its GPUs have no kernel driver bound ({', '.join(unbound)}): load the driver "
            "(`sudo modprobe amdgpu`, see `dmesg`) and probe it again",
        )
    if not accs:
        if not allow_cpu:
            return Exclusion(name, "no GPU hwdock can build for (CPU-only hosts excluded)")
        if cpu_arch == "x86_64" and host.cpu.isa_level not in ISA_ORDER:
            return Exclusion(
                name, f"CPU-only host with unknown ISA level {host.cpu.isa_level!r}: probe it again"
            )
        return Needs("cpu", (), cpu_arch, None, host.cpu.isa_level)
    platform = PLATFORM_OF_VENDOR[accs[0].vendor]
    archs = sorted({a for a in (accelerator_arch(x) for x in accs) if a})
    if not archs:
        what = "gfx target" if platform == "rocm" else "compute capability"
        return Exclusion(name, f"the {what} of its GPUs is unknown: probe it again")
    driver = _cuda_major(host) if platform == "cuda" else None
    if platform == "cuda" and driver is None:
        return Exclusion(name, "NVIDIA driver's CUDA version unknown: is the driver loaded?")
    return Needs(platform, tuple(archs), cpu_arch, driver, None)


def arch_token(platform: str, arch: str) -> str:
    """A short name part: gfx942 → gfx942, compute capability 9.0 → sm90."""
    if platform == "cuda":
        return "sm" + arch.replace(".", "")
    return arch.lower()
