"""NVIDIA GPUs: kernel module version files, procfs per-GPU information, then NVML (optional,
live only) or `nvidia-smi --query-gpu` in a subprocess, then the device table."""

from __future__ import annotations

import contextlib
import re

from hwdock.probe import tables
from hwdock.probe.context import Context, parse_int
from hwdock.probe.merge import put
from hwdock.probe.model import Accelerator, Driver
from hwdock.probe.pci import normalize_address

PROC_VERSION = "/proc/driver/nvidia/version"
SYS_VERSION = "/sys/module/nvidia/version"
PROC_GPUS = "/proc/driver/nvidia/gpus"
# The argv is the contract with recorded captures (tests/fixtures/hosts/README.md): keep it.
SMI_FIELDS = ("pci.bus_id", "name", "compute_cap", "memory.total", "driver_version", "uuid")
MIB = 1024 * 1024

_NVRM_PATTERN = (
    r"NVRM version:\s*NVIDIA UNIX(?P<open> Open)?\s+(?:(?P<arch1>\S+)\s+)?Kernel Module"
    r"(?:\s+for\s+(?P<arch2>\S+))?\s+(?P<version>\d+(?:\.\d+){1,2})"
)
_NA = {"", "[not supported]", "[n/a]", "n/a", "[unknown error]", "[insufficient permissions]"}


class ModuleVersion:
    __slots__ = ("arch", "flavor", "version")

    def __init__(self, version: str | None, flavor: str | None, arch: str | None) -> None:
        self.version, self.flavor, self.arch = version, flavor, arch  # flavor: proprietary|open


def parse_proc_version(text: str | None) -> ModuleVersion | None:
    """/proc/driver/nvidia/version's NVRM line: proprietary, open-module and aarch64 shapes."""
    if not text:
        return None
    m = re.search(_NVRM_PATTERN, text)  # compiled on first use (re caches it)
    if m is None:
        return None
    arch = m.group("arch2") or m.group("arch1")
    return ModuleVersion(m.group("version"), "open" if m.group("open") else "proprietary", arch)


def parse_information(text: str | None) -> dict[str, str]:
    """/proc/driver/nvidia/gpus/<pci>/information: "Key:   value" lines."""
    out: dict[str, str] = {}
    for line in (text or "").splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip():
            out[key.strip()] = value.strip()
    return out


class SmiGpu:
    """One line of nvidia-smi's CSV."""

    __slots__ = (
        "compute_capability",
        "driver_version",
        "memory_total_bytes",
        "name",
        "pci_address",
        "uuid",
    )

    def __init__(
        self,
        pci_address: str | None,
        name: str | None = None,
        compute_capability: str | None = None,
        memory_total_bytes: int | None = None,
        driver_version: str | None = None,
        uuid: str | None = None,
    ) -> None:
        self.pci_address, self.name, self.compute_capability = pci_address, name, compute_capability
        self.memory_total_bytes, self.driver_version, self.uuid = (
            memory_total_bytes,
            driver_version,
            uuid,
        )


def _na(v: str) -> str | None:
    v = v.strip()
    return None if v.lower() in _NA else v


def parse_smi_csv(text: str | None, fields: tuple[str, ...] = SMI_FIELDS) -> list[SmiGpu]:
    """`nvidia-smi --query-gpu=<fields> --format=csv,noheader,nounits` output."""
    gpus: list[SmiGpu] = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) != len(fields):
            continue
        row = dict(zip(fields, parts, strict=True))
        address = normalize_address(row.get("pci.bus_id"))
        if address is None:
            continue
        cc = _na(row.get("compute_cap", ""))
        if cc is not None and not re.fullmatch(r"\d+\.\d+", cc):
            cc = None
        mem = parse_int(_na(row.get("memory.total", "")) or None, 10)
        driver = _na(row.get("driver_version", ""))
        if driver is not None and tables.version_tuple(driver) is None:
            driver = None
        gpus.append(
            SmiGpu(
                pci_address=address,
                name=_na(row.get("name", "")),
                compute_capability=cc,
                memory_total_bytes=mem * MIB if mem is not None and mem >= 0 else None,
                driver_version=driver,
                uuid=_na(row.get("uuid", "")),
            )
        )
    return gpus


def smi_argv(fields: tuple[str, ...]) -> list[str]:
    return ["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]


def collect(ctx: Context) -> None:
    sys_version = ctx.read_value(SYS_VERSION)
    proc_text = ctx.read(PROC_VERSION)
    module = parse_proc_version(proc_text)
    if proc_text is not None and module is None:
        ctx.warn(
            "nvidia-version-unparsed",
            f"{PROC_VERSION} has an unknown shape",
            evidence=[proc_text[:200]],
        )
    _procfs_gpus(ctx)
    nvidia = ctx.devices.of("nvidia")
    jetson = ctx.report.jetson_release is not None
    driver_loaded = sys_version is not None or module is not None
    if not (nvidia or driver_loaded or ctx.report.wsl or jetson):
        return
    driver = Driver(vendor="nvidia")
    if sys_version and tables.version_tuple(sys_version):
        driver.version, driver.source = sys_version, f"sysfs:{SYS_VERSION}"
    if module is not None:
        driver.version = driver.version or module.version
        driver.source = driver.source or f"procfs:{PROC_VERSION}"
        driver.flavor = module.flavor
    if jetson:
        driver.flavor = "jetson"
    elif ctx.report.wsl and driver.flavor is None:
        driver.flavor = "wsl"  # the Windows driver, reached through /dev/dxg
    cuda_from_api = None
    if ctx.use_nvml and ctx.runner.live and not jetson:
        cuda_from_api = _nvml(ctx, driver)
        nvml_ok = cuda_from_api is not None
    else:
        nvml_ok = False
    smi_ok = False
    # Jetson's nvidia-smi (JetPack 6) reports the iGPU with a made-up bus id; the device tree
    # and tables describe it instead.
    if not nvml_ok and not jetson and (nvidia or driver_loaded or ctx.report.wsl):
        smi_ok = _smi(ctx, driver)
    discrete = [a for a in ctx.devices.of("nvidia") if a.pci_address]
    if discrete and not (nvml_ok or smi_ok):
        ctx.warn(
            "nvml-unavailable",
            "neither NVML nor nvidia-smi answered: compute capability comes from the built-in "
            "table and GPU memory is unknown",
            severity="info",
            fix="install the NVIDIA utilities (nvidia-smi) or `pip install 'hwdock[nvml]'`",
        )
    for acc in ctx.devices.of("nvidia"):
        _table(acc)
        _nodes(ctx, acc)
    from_table = [
        a.key for a in discrete if a.sources.get("compute_capability", "").startswith("table:")
    ]
    if from_table:
        ctx.warn(
            "compute-cap-from-table",
            f"compute capability of {len(from_table)} GPU(s) comes from the built-in PCI-id "
            "table, not from the driver",
            severity="info",
            evidence=from_table,
        )
    if cuda_from_api:
        driver.cuda_driver_version = cuda_from_api
    elif driver.version and not jetson:
        entry = tables.cuda_for_driver(driver.version, windows=ctx.report.wsl)
        if entry is not None:
            driver.cuda_driver_version = entry["version"]
    if driver.version is None and nvidia and not jetson:
        ctx.warn(
            "nvidia-driver-missing",
            "NVIDIA GPU present but no NVIDIA driver is loaded",
            fix="install the NVIDIA driver (e.g. `sudo apt install nvidia-driver`) and reboot",
            evidence=[a.pci_address or "?" for a in nvidia],
        )
    if driver.version or driver.flavor:
        ctx.report.drivers.append(driver)


def _procfs_gpus(ctx: Context) -> None:
    for name in ctx.root.listdir(PROC_GPUS) or []:
        path = f"{PROC_GPUS}/{name}/information"
        info = parse_information(ctx.read(path))
        address = normalize_address(info.get("Bus Location")) or normalize_address(name)
        if address is None:
            continue
        acc = ctx.devices.ensure("nvidia", address)
        src = f"procfs:{path}"
        if info.get("Model"):
            put(acc, "name", info["Model"], src)
        put(acc, "minor_number", parse_int(info.get("Device Minor"), 10), src)
        uuid = info.get("GPU UUID", "")
        if uuid.startswith("GPU-"):
            put(acc, "uuid", uuid, src)


def _smi(ctx: Context, driver: Driver) -> bool:
    """Fill from nvidia-smi; True when it answered with at least one GPU."""
    fields = SMI_FIELDS
    result = ctx.run(smi_argv(fields))
    out = (result.stdout + result.stderr).lower()
    if (
        not result.ok
        and not result.missing
        and not result.timed_out
        and ("compute_cap" in out or "field" in out)
    ):
        fields = tuple(f for f in SMI_FIELDS if f != "compute_cap")
        result = ctx.run(smi_argv(fields))
    if result.missing:
        return False
    if not result.ok:
        if not result.timed_out:
            ctx.warn(
                "nvidia-smi-failed",
                f"nvidia-smi exited with {result.returncode}; GPU facts come from kernel files "
                "and tables only",
                evidence=[(result.stderr or result.stdout).strip()[:300]],
            )
        return False
    gpus = parse_smi_csv(result.stdout, fields)
    if not gpus and result.stdout.strip():
        ctx.warn(
            "nvidia-smi-unparsed",
            "nvidia-smi answered in an unknown shape",
            evidence=[result.stdout[:300]],
        )
    for g in gpus:
        acc = ctx.devices.ensure("nvidia", g.pci_address)
        put(acc, "name", g.name, "nvidia-smi")
        put(acc, "compute_capability", g.compute_capability, "nvidia-smi")
        put(acc, "memory_total_bytes", g.memory_total_bytes, "nvidia-smi")
        put(acc, "uuid", g.uuid, "nvidia-smi")
        if g.driver_version and (driver.source is None or ctx.report.wsl):
            driver.version, driver.source = g.driver_version, "nvidia-smi"
    return bool(gpus)


def _nvml(ctx: Context, driver: Driver) -> str | None:
    """NVML through nvidia-ml-py, when installed; returns the CUDA driver version or None."""
    try:
        import pynvml  # type: ignore[import-not-found]
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
    except Exception:
        return None
    try:
        cuda = pynvml.nvmlSystemGetCudaDriverVersion_v2()
        version = pynvml.nvmlSystemGetDriverVersion()
        if isinstance(version, bytes):
            version = version.decode()
        if driver.source is None:
            driver.version, driver.source = version, "nvml"
        for i in range(pynvml.nvmlDeviceGetCount()):
            h = pynvml.nvmlDeviceGetHandleByIndex(i)
            bus = pynvml.nvmlDeviceGetPciInfo(h).busId
            bus = bus.decode() if isinstance(bus, bytes) else bus
            address = normalize_address(bus)
            if address is None:
                continue
            acc = ctx.devices.ensure("nvidia", address)
            name = pynvml.nvmlDeviceGetName(h)
            put(acc, "name", name.decode() if isinstance(name, bytes) else name, "nvml")
            major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(h)
            put(acc, "compute_capability", f"{major}.{minor}", "nvml")
            put(acc, "memory_total_bytes", int(pynvml.nvmlDeviceGetMemoryInfo(h).total), "nvml")
            uuid = pynvml.nvmlDeviceGetUUID(h)
            put(acc, "uuid", uuid.decode() if isinstance(uuid, bytes) else uuid, "nvml")
        return f"{cuda // 1000}.{(cuda % 1000) // 10}"
    except Exception as err:
        ctx.warn("nvml-failed", f"NVML answered with an error ({err}); falling back to nvidia-smi")
        return None
    finally:
        with contextlib.suppress(Exception):
            pynvml.nvmlShutdown()


def _table(acc: Accelerator) -> None:
    entry = tables.nvidia_device(acc.device_id)
    if entry is None and acc.name:
        entry = tables.nvidia_by_name(acc.name)
    if entry is None:
        if acc.name is None:
            put(acc, "name", f"NVIDIA GPU {acc.device_id or '(unknown id)'}", "table:pci_vendors")
        return
    put(acc, "name", entry["name"], "table:nvidia_gpus")
    put(acc, "compute_capability", entry["compute_capability"], "table:nvidia_gpus")


def _nodes(ctx: Context, acc: Accelerator) -> None:
    nodes = set(acc.device_nodes)
    if acc.minor_number is not None:
        nodes.add(f"/dev/nvidia{acc.minor_number}")
    for extra in ("/dev/nvidiactl", "/dev/nvidia-uvm", "/dev/nvidia-uvm-tools"):
        if ctx.root.device(extra) is not None:
            nodes.add(extra)
    acc.device_nodes = sorted(nodes)


def collect_jetson(ctx: Context) -> None:
    """Jetson: the iGPU has no PCI address; /etc/nv_tegra_release and the device tree say it."""
    release = ctx.read("/etc/nv_tegra_release")
    if release is None:
        return
    first = release.strip().splitlines()[0] if release.strip() else ""
    m = re.search(r"R(\d+)\s*\(release\),\s*REVISION:\s*([\d.]+)", first)
    ctx.report.jetson_release = m.group(0) if m else (first.lstrip("# ").strip() or "unknown")
    model = ctx.read_value("/proc/device-tree/model")
    compatible = [c for c in (ctx.read("/proc/device-tree/compatible") or "").split("\x00") if c]
    soc = tables.jetson_soc(compatible)
    acc = ctx.devices.ensure("nvidia", None, key="nvidia:jetson")
    put(acc, "integrated", True, "file:/etc/nv_tegra_release")
    put(acc, "name", model, "devicetree:/proc/device-tree/model")
    if soc is not None:
        if model is None:
            put(acc, "name", soc["name"], "table:nvidia_gpus")
        put(acc, "compute_capability", soc["compute_capability"], "table:nvidia_gpus jetson")
    for node in ("/dev/nvmap", "/dev/nvhost-ctrl-gpu", "/dev/nvhost-gpu"):
        if ctx.root.device(node) is not None:
            acc.device_nodes.append(node)
