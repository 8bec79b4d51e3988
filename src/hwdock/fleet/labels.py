"""Node affinity for a variant, from the labels the operators publish (knowledge/k8s_labels).

- NVIDIA (GPU Feature Discovery): one term per compute capability,
  `nvidia.com/gpu.compute.major` = M and `.minor` = m, and `nvidia.com/cuda.driver.major`
  greater than the oldest planned driver's major minus one (no node older than what was planned).
- AMD (node labeller / AMD GPU Operator): `amd.com/gpu.device-id` in the PCI device ids seen on
  the variant's hosts (the family label is too coarse: "AI" spans gfx908, gfx90a and gfx942).
- CPU-only: `feature.node.kubernetes.io/cpu-cpuid.<FLAG>` for the ISA the image was built for,
  the next ISA's flag absent when a wider image exists, and no GPU operator labels.
- Intel (NFD rules of Intel's device plugins): `gpu.intel.com/device-id.<class>-<id>.present`,
  one term per device id; CPU variants also require `intel.feature.node.kubernetes.io/gpu` absent.
- Always `kubernetes.io/arch`.
"""

from __future__ import annotations

from hwdock.export.k8s import Placement, Requirement
from hwdock.fleet.needs import ISA_ORDER, Needs, chosen_accelerators
from hwdock.knowledge import load
from hwdock.probe.model import HostReport


def _driver_major(host: HostReport) -> int | None:
    for d in host.drivers:
        if d.vendor == "nvidia" and d.version:
            head = d.version.split(".")[0]
            if head.isdigit():
                return int(head)
    return None


def placement(
    needs: Needs, hosts: list[HostReport], *, wider_isas: tuple[str, ...] = ()
) -> Placement:
    data = load("k8s_labels")
    k8s = data["kubernetes"]
    arch_value = k8s["arch_values"].get(needs.cpu_arch, needs.cpu_arch)
    base = [Requirement(k8s["arch"], "In", [arch_value])]
    reasons: list[str] = []
    if needs.platform == "cuda":
        nv = data["nvidia"]
        majors = [m for m in (_driver_major(h) for h in hosts) if m is not None]
        driver_req = []
        if majors:
            floor = min(majors)
            driver_req = [Requirement(nv["driver_major"], "Gt", [str(floor - 1)])]
            reasons.append(f"NVIDIA driver major >= {floor} ({nv['driver_major']}, from GFD)")
        terms = []
        for cc in needs.archs:
            major, _, minor = cc.partition(".")
            terms.append(
                [
                    *base,
                    Requirement(nv["compute_major"], "In", [major]),
                    Requirement(nv["compute_minor"], "In", [minor or "0"]),
                    *driver_req,
                ]
            )
        reasons.append(f"compute capability in {', '.join(needs.archs)} (GFD labels)")
        return Placement(terms, reasons)
    if needs.platform == "rocm":
        amd = data["amd"]
        ids = sorted(
            {
                a.device_id.lower().removeprefix("0x")
                for h in hosts
                for a in chosen_accelerators(h)
                if a.device_id and a.gfx_target in needs.archs
            }
        )
        reasons.append(f"AMD PCI device id in {', '.join(ids)} ({amd['device_id']}, node labeller)")
        req = [*base, Requirement(amd["device_id"], "In", ids)] if ids else base
        return Placement([req], reasons)
    if needs.platform == "xpu":
        intel = data["intel"]
        terms = []
        for key in sorted(
            {
                intel["device_id"].format(pci_class=_pci_class(a.pci_class), device=dev)
                for h in hosts
                for a in chosen_accelerators(h)
                if (dev := (a.device_id or "").lower().removeprefix("0x"))
            }
        ):
            terms.append([*base, Requirement(key, "In", ["true"])])
        reasons.append("Intel GPU device id (NFD rule of Intel's device plugins)")
        return Placement(terms or [base], reasons)
    nfd = data["nfd"]
    flags = data["nfd"]["isa_flag"]
    req = list(base)
    if needs.platform == "cpu":
        if needs.isa in flags:
            req.append(Requirement(nfd["cpu_cpuid"] + flags[needs.isa], "In", ["true"]))
            reasons.append(f"CPU has {flags[needs.isa]} (NFD cpuid label)")
        for wider in wider_isas:
            if wider in flags:
                req.append(Requirement(nfd["cpu_cpuid"] + flags[wider], "DoesNotExist"))
        req.append(Requirement(data["nvidia"]["present"], "DoesNotExist"))
        req.append(Requirement(data["amd"]["operator_present"], "DoesNotExist"))
        req.append(Requirement(data["intel"]["present"], "DoesNotExist"))
        reasons.append("no GPU operator labels (GPU nodes get their GPU variant)")
    return Placement([req], reasons)


def _pci_class(pci_class: str | None) -> str:
    """`0x030000` → `0300`: class and subclass, as Intel's NFD rule names its labels."""
    return (pci_class or "0x0300").lower().removeprefix("0x")[:4].rjust(4, "0")


def wider_isas(isa: str | None, present: set[str]) -> tuple[str, ...]:
    """ISA levels above `isa` that another CPU variant of the fleet is built for."""
    if isa not in ISA_ORDER:
        return ()
    idx = ISA_ORDER.index(isa)
    return tuple(x for x in ISA_ORDER[idx + 1 :] if x in present)
