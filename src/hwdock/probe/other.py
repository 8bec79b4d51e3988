"""Intel GPUs (i915 / xe) and accelerators of every other vendor, named by PCI vendor id."""

from __future__ import annotations

from hwdock.probe import tables
from hwdock.probe.context import Context
from hwdock.probe.merge import put
from hwdock.probe.model import Driver

INTEL_IGPU_SLOT = "0000:00:02.0"  # Intel integrated graphics sit at device 2 of bus 0


def collect(ctx: Context) -> None:
    intel_drivers: set[str] = set()
    for acc in ctx.devices.all():
        if acc.vendor in ("amd", "nvidia"):
            continue
        vendor = tables.vendor(acc.vendor_id)
        label = vendor["name"] if vendor else f"PCI vendor {acc.vendor_id or '?'}"
        put(acc, "name", f"{label} device {acc.device_id or '?'}", "table:pci_vendors")
        if acc.render_node:
            acc.device_nodes = sorted(set(acc.device_nodes) | {acc.render_node})
        if acc.vendor == "intel":
            if acc.kernel_driver in ("i915", "xe"):
                intel_drivers.add(acc.kernel_driver)
            if acc.pci_address == INTEL_IGPU_SLOT:
                put(acc, "integrated", True, "rule:intel-igpu-slot")
    for name in sorted(intel_drivers):
        ctx.report.drivers.append(
            Driver(vendor="intel", version=None, flavor="in-kernel", source=f"sysfs:driver {name}")
        )
