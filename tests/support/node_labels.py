"""The node labels a host would carry in a cluster, as the operators document them, and a
matcher for node affinity: lets fleet tests check that each host's node is selected by
exactly its variant's Deployment.

Label formats: GPU Feature Discovery (nvidia.com/gpu.compute.major=9, .minor=0,
nvidia.com/cuda.driver.major=550, nvidia.com/gpu.present=true from the GPU Operator); the AMD
node labeller (amd.com/gpu.device-id=74a1, lower-case hex without 0x); the AMD GPU Operator's
feature.node.kubernetes.io/amd-gpu=true; Intel's NFD rules
(intel.feature.node.kubernetes.io/gpu=true, gpu.intel.com/device-id.0300-56a5.present=true);
NFD (feature.node.kubernetes.io/cpu-cpuid.AVX512F=true); kubernetes.io/arch=amd64.
"""

from __future__ import annotations

from typing import Any

from hwdock.probe.model import HostReport

NFD_FLAGS = {"avx512f": "AVX512F", "avx2": "AVX2", "avx": "AVX"}


def node_labels(host: HostReport) -> dict[str, str]:
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(host.cpu.architecture or "", "amd64")
    labels = {"kubernetes.io/arch": arch, "kubernetes.io/hostname": host.hostname or "x"}
    for flag in host.cpu.isa_flags:
        if flag in NFD_FLAGS:
            labels[f"feature.node.kubernetes.io/cpu-cpuid.{NFD_FLAGS[flag]}"] = "true"
    nv = [a for a in host.accelerators if a.vendor == "nvidia"]
    if nv:
        major, _, minor = (nv[0].compute_capability or "0.0").partition(".")
        labels["nvidia.com/gpu.present"] = "true"
        labels["nvidia.com/gpu.compute.major"] = major
        labels["nvidia.com/gpu.compute.minor"] = minor
        labels["nvidia.com/gpu.count"] = str(len(nv))
        drv = next((d for d in host.drivers if d.vendor == "nvidia"), None)
        if drv and drv.version:
            labels["nvidia.com/cuda.driver.major"] = drv.version.split(".")[0]
    amd = [a for a in host.accelerators if a.vendor == "amd"]
    if amd:
        # the AMD GPU Operator's NFD rule matches PCI ids: set with or without a driver
        labels["feature.node.kubernetes.io/amd-gpu"] = "true"
    # the labeller reads what the amdgpu driver publishes: a GPU with no driver bound (PCI
    # only, as on a host whose amdgpu init failed) gets no device-id label
    bound = [a for a in amd if a.kernel_driver]
    if bound and bound[0].device_id:
        labels["amd.com/gpu.device-id"] = bound[0].device_id.lower().removeprefix("0x")
    intel = [a for a in host.accelerators if a.vendor == "intel"]
    if intel:
        labels["intel.feature.node.kubernetes.io/gpu"] = "true"
        for a in intel:
            cls = (a.pci_class or "0x0300").lower().removeprefix("0x")[:4]
            dev = (a.device_id or "").lower().removeprefix("0x")
            labels[f"gpu.intel.com/device-id.{cls}-{dev}.present"] = "true"
    return labels


def _req_ok(req: dict[str, Any], labels: dict[str, str]) -> bool:
    key, op, values = req["key"], req["operator"], req.get("values", [])
    have = labels.get(key)
    if op == "In":
        return have is not None and have in values
    if op == "NotIn":
        return have is None or have not in values
    if op == "Exists":
        return have is not None
    if op == "DoesNotExist":
        return have is None
    if op in ("Gt", "Lt"):
        if have is None or not have.isdigit():
            return False
        return int(have) > int(values[0]) if op == "Gt" else int(have) < int(values[0])
    raise AssertionError(f"unknown operator {op}")


def selects(deployment: dict[str, Any], labels: dict[str, str]) -> bool:
    spec = deployment["spec"]["template"]["spec"]
    aff = spec.get("affinity", {}).get("nodeAffinity", {})
    req = aff.get("requiredDuringSchedulingIgnoredDuringExecution")
    if not req:
        return True
    return any(
        all(_req_ok(r, labels) for r in term.get("matchExpressions", []))
        for term in req["nodeSelectorTerms"]
    )
