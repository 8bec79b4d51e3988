"""CPU and memory from /proc/cpuinfo and /proc/meminfo (x86 `flags`, aarch64 `Features`)."""

from __future__ import annotations

from hwdock.probe.context import Context
from hwdock.probe.model import Cpu

# The ISA extensions container images care about (vLLM's CPU build, PyTorch kernels).
X86_FLAGS = (
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512cd",
    "avx512bw",
    "avx512dq",
    "avx512vl",
    "avx512_bf16",
    "avx512_vnni",
    "avx512_fp16",
    "avx_vnni",
    "amx_bf16",
    "amx_int8",
    "amx_tile",
)
ARM_FEATURES = ("asimd", "asimdhp", "asimddp", "fphp", "sve", "sve2", "bf16", "i8mm", "sme")


def parse_cpuinfo(text: str | None) -> Cpu:
    cpu = Cpu()
    if not text:
        return cpu
    logical = 0
    sockets: set[str] = set()
    cores: set[tuple[str, str]] = set()
    flags: set[str] = set()
    arch_hint: str | None = None
    socket = "0"
    for raw in text.splitlines():
        key, sep, value = raw.partition(":")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "processor" and value.isdigit():
            logical += 1
        elif key == "vendor_id" and cpu.vendor is None:
            cpu.vendor = value or None
        elif key in ("model name", "cpu model") and cpu.model_name is None:
            cpu.model_name = value or None
        elif key == "physical id":
            socket = value
            sockets.add(value)
        elif key == "core id":
            cores.add((socket, value))
        elif key == "flags":
            flags.update(value.split())
            arch_hint = "x86_64"
        elif key == "features":
            flags.update(value.split())
            arch_hint = arch_hint or "aarch64"
        elif key == "cpu implementer" and cpu.vendor is None:
            cpu.vendor = "ARM"
    cpu.architecture = arch_hint
    cpu.logical_cores = logical or None
    cpu.sockets = len(sockets) or (1 if logical else None)
    cpu.physical_cores = len(cores) or cpu.logical_cores
    wanted = X86_FLAGS if arch_hint == "x86_64" else ARM_FEATURES
    cpu.isa_flags = [f for f in wanted if f in flags]
    cpu.isa_level = isa_level(arch_hint, flags)
    return cpu


def cpu_topology(text: str | None) -> tuple[int | None, int | None]:
    """x86 `cpu cores` (cores per socket) and `siblings` (threads per socket)."""
    cores = siblings = None
    for line in (text or "").splitlines():
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "cpu cores" and value.isdigit() and cores is None:
            cores = int(value)
        elif key == "siblings" and value.isdigit() and siblings is None:
            siblings = int(value)
    return cores or None, siblings or None


def isa_level(arch: str | None, flags: set[str]) -> str | None:
    if arch == "x86_64":
        for level, need in (
            ("avx512", "avx512f"),
            ("avx2", "avx2"),
            ("avx", "avx"),
            ("sse4.2", "sse4_2"),
        ):
            if need in flags:
                return level
        return "x86-64"
    if arch == "aarch64":
        for level in ("sve2", "sve"):
            if level in flags:
                return level
        return "neon" if "asimd" in flags else "armv8"
    return None


def parse_cpu_list(text: str | None) -> int | None:
    """The number of CPUs in a kernel CPU list such as "0-207" or "0-3,8-11,16"."""
    if not text or not text.strip():
        return None
    count = 0
    for part in text.strip().split(","):
        lo, sep, hi = part.strip().partition("-")
        if not lo.isdigit() or (sep and not hi.isdigit()):
            return None
        n = int(hi) - int(lo) + 1 if sep else 1
        if n <= 0:
            return None
        count += n
    return count


def parse_meminfo(text: str | None) -> dict[str, int]:
    """/proc/meminfo in bytes: {"MemTotal": ..., "MemAvailable": ...}."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        key, sep, rest = line.partition(":")
        parts = rest.split()
        if not sep or not parts or not parts[0].isdigit():
            continue
        scale = 1024 if len(parts) > 1 and parts[1].lower() == "kb" else 1
        out[key.strip()] = int(parts[0]) * scale
    return out


def collect(ctx: Context) -> None:
    text = ctx.read("/proc/cpuinfo")
    cpu = parse_cpuinfo(text)
    machine = ctx.root.meta.get("machine")
    if isinstance(machine, str) and machine:
        cpu.architecture = machine
    elif ctx.root.live and cpu.architecture is None:
        import platform

        cpu.architecture = platform.machine() or None
    online = parse_cpu_list(ctx.read_value("/sys/devices/system/cpu/online"))
    if online is not None and online != cpu.logical_cores:
        # /proc/cpuinfo may be trimmed (captures) or partial; the kernel's list is the count
        per_socket, siblings = cpu_topology(text)
        cpu.logical_cores = online
        if per_socket and siblings:
            cpu.physical_cores = online * per_socket // siblings
            cpu.sockets = max(1, online // siblings)
        elif cpu.architecture != "x86_64":
            cpu.physical_cores = online  # no SMT on the Arm cores we know of
    if text is not None and cpu.logical_cores is None:
        ctx.warn("cpuinfo-unparsed", "/proc/cpuinfo lists no processors", evidence=[text[:200]])
    mem = parse_meminfo(ctx.read("/proc/meminfo"))
    cpu.memory_total_bytes = mem.get("MemTotal")
    cpu.memory_available_bytes = mem.get("MemAvailable")
    ctx.report.cpu = cpu
