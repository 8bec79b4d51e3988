"""A stand-in for PyTorch's device API, to run verify's Python part where no GPU exists.

Configured by environment: FAKE_TORCH_DEVICES (count, default 0), FAKE_TORCH_ARCH
(gcnArchName, e.g. "gfx1100:sramecc-:xnack-"), FAKE_TORCH_ARCH_LIST (comma-separated),
FAKE_TORCH_KERNEL_ERROR (message raised by the kernel).
"""

from __future__ import annotations

import os
from types import SimpleNamespace

__version__ = "2.5.1+rocm6.2"
version = SimpleNamespace(hip="6.2.41133", cuda=None)
float32 = "float32"


class _Tensor:
    def __init__(self, values: list[float]) -> None:
        self.values = values

    def __mul__(self, k: float) -> _Tensor:
        return _Tensor([v * k for v in self.values])

    def sum(self) -> _Tensor:
        return _Tensor([sum(self.values)])

    def item(self) -> float:
        return self.values[0]


def arange(n: int, device: str = "cpu", dtype: str | None = None) -> _Tensor:
    err = os.environ.get("FAKE_TORCH_KERNEL_ERROR")
    if err:
        raise RuntimeError(err)
    return _Tensor([float(i) for i in range(n)])


class _Cuda:
    @staticmethod
    def _count() -> int:
        return int(os.environ.get("FAKE_TORCH_DEVICES", "0"))

    def is_available(self) -> bool:
        return self._count() > 0

    def device_count(self) -> int:
        return self._count()

    def get_arch_list(self) -> list[str]:
        raw = os.environ.get("FAKE_TORCH_ARCH_LIST", "")
        return [x for x in raw.split(",") if x] if self._count() else []

    def get_device_properties(self, i: int) -> SimpleNamespace:
        return SimpleNamespace(
            name="AMD Radeon RX 7900 XTX",
            gcnArchName=os.environ.get("FAKE_TORCH_ARCH", "gfx1100"),
            major=11,
            minor=0,
            total_memory=25753026560,
        )

    def synchronize(self) -> None:
        return None


cuda = _Cuda()
