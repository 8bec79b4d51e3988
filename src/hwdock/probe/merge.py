"""Accelerators merged by PCI address, each field with its source; weaker sources never win.

Source strength: NVML / nvidia-smi (the driver answering) > kernel files (sysfs, procfs) >
built-in tables. A source string is "<kind>" or "<kind>:<detail>", e.g.
"sysfs:/sys/bus/pci/devices/0000:c1:00.0/vendor" or "table:amd_gpus".
"""

from __future__ import annotations

from typing import Any

from hwdock.probe.model import Accelerator

RANK = {
    "nvml": 3,
    "nvidia-smi": 3,
    "sysfs": 2,
    "procfs": 2,
    "devicetree": 2,
    "file": 2,
    "rule": 1,
    "table": 1,
}


def rank(source: str) -> int:
    return RANK.get(source.split(":", 1)[0], 0)


class Devices:
    """The accelerators found so far, keyed by PCI address (or a stable stand-in)."""

    def __init__(self) -> None:
        self._by_key: dict[str, Accelerator] = {}

    def get(self, key: str) -> Accelerator | None:
        return self._by_key.get(key)

    def ensure(
        self, vendor: str, pci_address: str | None, *, key: str | None = None
    ) -> Accelerator:
        k = pci_address or key or f"{vendor}:{len(self._by_key)}"
        acc = self._by_key.get(k)
        if acc is None:
            acc = Accelerator(vendor=vendor, pci_address=pci_address)
            self._by_key[k] = acc
        return acc

    def all(self) -> list[Accelerator]:
        return list(self._by_key.values())

    def of(self, vendor: str) -> list[Accelerator]:
        return [a for a in self._by_key.values() if a.vendor == vendor]


def put(acc: Accelerator, field: str, value: Any, source: str) -> bool:
    """Set `acc.field` from `source` unless a stronger source already set it. True if set."""
    if value is None:
        return False
    old = acc.sources.get(field)
    if old is not None and rank(old) > rank(source):
        return False
    setattr(acc, field, value)
    acc.sources[field] = source
    return True
