"""Free disk where the container engines keep their images."""

from __future__ import annotations

from hwdock.probe.context import Context
from hwdock.probe.model import Disk

LOW_FREE = 50 * 1024**3  # an LLM serving image plus its build cache needs tens of GB


def collect(ctx: Context) -> None:
    paths: list[str] = []
    for e in ctx.report.container.engines:
        if e.data_root and e.data_root not in paths:
            paths.append(e.data_root)
    for path in paths:
        usage = ctx.root.disk_usage(path)
        if usage is None:
            continue
        ctx.report.disks.append(Disk(path, usage.total_bytes, usage.free_bytes))
        if usage.free_bytes < LOW_FREE:
            ctx.warn(
                "low-disk-space",
                f"only {usage.free_bytes / 1024**3:.1f} GiB free under {path}; GPU images "
                "and their build cache need tens of GB",
                fix="free space (docker system prune) or move the engine's data root",
                evidence=[f"{path}: {usage.free_bytes} of {usage.total_bytes} bytes free"],
            )
