"""Host identity: hostname, kernel, OS release, WSL."""

from __future__ import annotations

from hwdock.probe.context import Context


def parse_os_release(text: str | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition("=")
        if not sep or not key.strip() or key.strip().startswith("#"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def collect(ctx: Context) -> None:
    r = ctx.report
    meta = ctx.root.meta
    r.hostname = ctx.read_value("/proc/sys/kernel/hostname") or _str(meta.get("hostname"))
    r.kernel = ctx.read_value("/proc/sys/kernel/osrelease") or _str(meta.get("kernel"))
    osr = parse_os_release(ctx.read("/etc/os-release") or ctx.read("/usr/lib/os-release"))
    r.os_release = osr.get("PRETTY_NAME") or osr.get("NAME")
    version = ctx.read("/proc/version") or ""
    kernel = r.kernel or ""
    r.wsl = (
        ctx.root.device("/dev/dxg") is not None
        or "microsoft" in version.lower()
        or "microsoft" in kernel.lower()
    )


def _str(v: object) -> str | None:
    return v if isinstance(v, str) and v else None
