"""The host report: what `hwdock probe` knows about this machine, and how it knows it.

Plain data, no effects. `to_dict()` is the `--json` document (kind "host-report",
schema_version below); `HostReport.from_dict` reads it back (fleet, plan --host).
Every accelerator field that was filled carries its source in `sources[field]`
(e.g. "sysfs:/sys/class/kfd/kfd/topology/nodes/1/properties", "nvidia-smi", "nvml",
"table:amd_gpus"). Devices are merged by PCI address, never by index.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from hwdock.findings import Finding

SCHEMA_VERSION = 1


@dataclass
class Accelerator:
    vendor: str  # "amd" | "nvidia" | "intel" | other vendor name in lower case
    pci_address: str | None = None  # "0000:c1:00.0"; None for Jetson iGPU / WSL paravirtual
    vendor_id: str | None = None  # "0x1002"
    device_id: str | None = None  # "0x74a1"
    subsystem_vendor_id: str | None = None
    subsystem_device_id: str | None = None
    pci_class: str | None = None  # "0x038000"
    name: str | None = None  # product name, e.g. "AMD Instinct MI300X"
    kernel_driver: str | None = None  # "amdgpu", "nvidia", "i915", "xe", None if unbound
    numa_node: int | None = None
    integrated: bool = False
    memory_total_bytes: int | None = None  # VRAM (dedicated); for APUs the carve-out
    gtt_total_bytes: int | None = None  # AMD GTT (system memory the GPU can map)
    # AMD
    gfx_target: str | None = None  # "gfx942"
    gfx_target_version: int | None = None  # KFD's raw value, e.g. 90402
    compute_units: int | None = None
    kfd_node: int | None = None
    render_node: str | None = None  # "/dev/dri/renderD128"
    card_node: str | None = None  # "/dev/dri/card0"
    # NVIDIA
    compute_capability: str | None = None  # "9.0"
    minor_number: int | None = None  # /dev/nvidia<minor>
    uuid: str | None = None
    # every device node a container needs for this accelerator
    device_nodes: list[str] = field(default_factory=list)
    visible: bool = True  # False when a *_VISIBLE_DEVICES variable hides it
    sources: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """Stable identity for merging and for `--gpu`: the PCI address when there is one."""
        return self.pci_address or f"{self.vendor}:{self.name or self.device_id or '?'}"


@dataclass
class Driver:
    vendor: str  # "nvidia" | "amd" | "intel"
    version: str | None = None  # "550.54.15", amdgpu "6.7.0"
    flavor: str | None = None  # "proprietary" | "open" | "jetson" | "in-kernel" | "dkms"
    cuda_driver_version: str | None = None  # highest CUDA the driver supports, "12.4"
    source: str | None = None


@dataclass
class Cpu:
    architecture: str | None = None  # "x86_64", "aarch64"
    vendor: str | None = None  # "GenuineIntel", "AuthenticAMD", "ARM"
    model_name: str | None = None
    logical_cores: int | None = None
    physical_cores: int | None = None
    sockets: int | None = None
    isa_flags: list[str] = field(default_factory=list)  # only the flags that matter to images
    isa_level: str | None = None  # "avx512" | "avx2" | "avx" | "sse4.2" | "neon" | ...
    memory_total_bytes: int | None = None
    memory_available_bytes: int | None = None


@dataclass
class CdiSpec:
    path: str
    kind: str  # "nvidia.com/gpu"
    devices: list[str] = field(default_factory=list)  # "nvidia.com/gpu=0", "...=all"


@dataclass
class Engine:
    name: str  # "docker" | "podman"
    client_path: str | None = None
    client_version: str | None = None
    server_version: str | None = None  # None: the daemon did not answer
    buildx_version: str | None = None
    buildkit_usable: bool = False
    rootless: bool | None = None
    runtimes: list[str] = field(default_factory=list)  # "runc", "nvidia", "crun"
    data_root: str | None = None  # "/var/lib/docker"
    cdi_enabled: bool | None = None
    # docker: "buildx" | "buildkit" (built into a client < 23.0) | "legacy"; None: unknown
    build_mode: str | None = None


@dataclass
class ContainerSide:
    engines: list[Engine] = field(default_factory=list)
    nvidia_ctk_version: str | None = None
    nvidia_container_runtime: str | None = None  # path when present
    cdi_specs: list[CdiSpec] = field(default_factory=list)


@dataclass
class DeviceAccess:
    path: str  # "/dev/kfd"
    exists: bool
    readable: bool = False
    writable: bool = False
    group: str | None = None  # owning group name, e.g. "render"
    gid: int | None = None
    mode: str | None = None  # "0660"


@dataclass
class Disk:
    path: str  # where images are kept, e.g. /var/lib/docker
    total_bytes: int | None = None
    free_bytes: int | None = None


@dataclass
class HostReport:
    hostname: str | None = None
    kernel: str | None = None
    os_release: str | None = None  # PRETTY_NAME
    wsl: bool = False
    jetson_release: str | None = None  # /etc/nv_tegra_release, "R36 (release), REVISION: 3.0"
    accelerators: list[Accelerator] = field(default_factory=list)
    drivers: list[Driver] = field(default_factory=list)
    cpu: Cpu = field(default_factory=Cpu)
    disks: list[Disk] = field(default_factory=list)
    container: ContainerSide = field(default_factory=ContainerSide)
    device_access: list[DeviceAccess] = field(default_factory=list)
    user_groups: list[int] = field(default_factory=list)  # gids of the user who ran the probe
    # CUDA/ROCR/HIP_VISIBLE_DEVICES, HSA_OVERRIDE_GFX_VERSION as set when probing
    env: dict[str, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    source: str = "live"  # "live" or "capture:<dir>"

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        return {"kind": "host-report", "schema_version": SCHEMA_VERSION, **body}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> HostReport:
        """A report read back from its JSON; every field is type-checked (`InputError`
        naming the field, e.g. `accelerators[0].numa_node`)."""
        from hwdock.errors import InputError
        from hwdock.jsonin import from_data

        if not isinstance(d, dict):
            raise InputError("not a host report (expected a JSON object)")
        if d.get("kind") not in (None, "host-report"):
            raise InputError(
                f"not a host report (kind {d.get('kind')!r})",
                hint="make one with `hwdock probe --json > host.json`",
            )
        version = d.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or isinstance(version, bool):
            raise InputError(f"host report schema_version {version!r} is not an integer")
        if version > SCHEMA_VERSION:
            raise InputError(
                f"host report schema_version {version!r} is newer than this hwdock understands "
                f"({SCHEMA_VERSION})",
                hint="upgrade hwdock, or probe the host again with this version",
            )
        report = from_data(cls, d)
        if "source" not in d:
            report.source = "report"
        return report
