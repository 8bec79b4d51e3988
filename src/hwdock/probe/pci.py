"""PCI inventory from /sys/bus/pci/devices/*: every display (0x03), co-processor (0x0b) and
processing-accelerator (0x12) function, with ids, bound driver and NUMA node."""

from __future__ import annotations

import re

from hwdock.probe import tables
from hwdock.probe.context import Context, parse_int
from hwdock.probe.merge import put

PCI_DIR = "/sys/bus/pci/devices"
ACCEL_CLASSES = (0x03, 0x0B, 0x12)
_ADDR = re.compile(r"^[0-9a-fA-F]{4,8}:[0-9a-fA-F]{2}:[0-9a-fA-F]{2}\.[0-7]$")


def normalize_address(addr: str | None) -> str | None:
    """ "00000000:01:00.0" (nvidia-smi) or "0000:C1:00.0" -> "0000:c1:00.0"; junk -> None."""
    if not addr:
        return None
    addr = addr.strip()
    if not _ADDR.match(addr):
        return None
    domain, rest = addr.split(":", 1)
    return f"{int(domain, 16) & 0xFFFF:04x}:{rest.lower()}"


def parse_hex_id(text: str | None, width: int = 4) -> str | None:
    """ "0x1002\\n" -> "0x1002"; anything that is not hex -> None."""
    value = parse_int(text, 16) if text is not None else None
    if value is None or value < 0:
        return None
    return f"0x{value:0{width}x}"


def vendor_key(vendor_id: str | None) -> str:
    entry = tables.vendor(vendor_id)
    if entry is not None:
        return str(entry["key"])
    return f"pci-{(vendor_id or '0x????')[2:]}"


def collect(ctx: Context) -> None:
    names = ctx.root.listdir(PCI_DIR)
    if names is None:
        if ctx.root.live and ctx.root.exists("/sys"):  # a capture may simply not hold it
            ctx.warn(
                "pci-unavailable",
                f"{PCI_DIR} could not be listed; accelerators are known only from other sources",
                severity="info",
            )
        return
    for name in names:
        base = f"{PCI_DIR}/{name}"
        cls = parse_int(ctx.read_value(f"{base}/class"), 16)
        if cls is None or (cls >> 16) not in ACCEL_CLASSES:
            continue
        address = normalize_address(name)
        if address is None:
            continue
        vendor_id = parse_hex_id(ctx.read_value(f"{base}/vendor"))
        vendor = tables.vendor(vendor_id)
        if vendor is not None and not vendor.get("accelerator", True):
            continue  # a BMC or virtual console display, never a compute device
        acc = ctx.devices.ensure(vendor_key(vendor_id), address)
        src = f"sysfs:{base}"
        put(acc, "vendor_id", vendor_id, src)
        put(acc, "device_id", parse_hex_id(ctx.read_value(f"{base}/device")), src)
        put(
            acc,
            "subsystem_vendor_id",
            parse_hex_id(ctx.read_value(f"{base}/subsystem_vendor")),
            src,
        )
        put(
            acc,
            "subsystem_device_id",
            parse_hex_id(ctx.read_value(f"{base}/subsystem_device")),
            src,
        )
        put(acc, "pci_class", f"0x{cls:06x}", src)
        link = ctx.root.readlink(f"{base}/driver")
        if link:
            put(acc, "kernel_driver", link.rstrip("/").rsplit("/", 1)[-1], src)
        numa = parse_int(ctx.read_value(f"{base}/numa_node"), 10)
        if numa is not None and numa >= 0:
            put(acc, "numa_node", numa, src)
        drm = ctx.root.listdir(f"{base}/drm") or []
        for entry in drm:
            if entry.startswith("renderD"):
                put(acc, "render_node", f"/dev/dri/{entry}", src)
            elif re.fullmatch(r"card\d+", entry):
                put(acc, "card_node", f"/dev/dri/{entry}", src)
