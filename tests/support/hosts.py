"""HostReport builders modelled on the recorded hosts (see tests/fixtures/hosts/ when present).

Facts (gfx targets, capabilities, driver versions, render nodes, group ids) follow the shapes
of the probe issue's fixtures; these builders let plan tests run without the probe.
"""

from __future__ import annotations

from hwdock.probe.model import (
    Accelerator,
    CdiSpec,
    ContainerSide,
    Cpu,
    DeviceAccess,
    Driver,
    HostReport,
)

GIB = 1024**3
VIDEO_GID, RENDER_GID = 44, 109
AVX2 = ["sse4_2", "avx", "avx2", "fma"]
AVX512 = [*AVX2, "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"]


def _cpu(
    cores: int = 64, mem_gib: int = 512, flags: list[str] | None = None, arch: str = "x86_64"
) -> Cpu:
    level = "avx512" if flags is not None and "avx512f" in flags else "avx2"
    if arch != "x86_64":
        level = "neon"
    return Cpu(
        architecture=arch,
        vendor="AuthenticAMD" if arch == "x86_64" else "ARM",
        logical_cores=cores,
        isa_flags=list(AVX512 if flags is None else flags),
        isa_level=level,
        memory_total_bytes=mem_gib * GIB,
        memory_available_bytes=int(mem_gib * 0.9) * GIB,
    )


def _amd(
    pci: str, gfx: str, name: str, render: int, *, integrated: bool = False, vram_gib: int = 192
) -> Accelerator:
    return Accelerator(
        vendor="amd",
        pci_address=pci,
        vendor_id="0x1002",
        name=name,
        kernel_driver="amdgpu",
        integrated=integrated,
        memory_total_bytes=(512 * 1024**2) if integrated else vram_gib * GIB,
        gfx_target=gfx,
        render_node=f"/dev/dri/renderD{render}",
        device_nodes=["/dev/kfd", f"/dev/dri/renderD{render}"],
    )


def _amd_access(renders: list[int]) -> list[DeviceAccess]:
    out = [DeviceAccess("/dev/kfd", True, True, True, "render", RENDER_GID, "0660")]
    out += [
        DeviceAccess(f"/dev/dri/renderD{r}", True, True, True, "render", RENDER_GID, "0660")
        for r in renders
    ]
    out += [DeviceAccess("/dev/dri/card0", True, True, True, "video", VIDEO_GID, "0660")]
    return out


def mi300x_8() -> HostReport:
    accs = [
        _amd(f"0000:{bus:02x}:00.0", "gfx942", "AMD Instinct MI300X", 128 + 8 * i)
        for i, bus in enumerate([0x11, 0x2F, 0x46, 0x5D, 0x8B, 0xAA, 0xC2, 0xDA])
    ]
    return HostReport(
        hostname="mi300x-8",
        accelerators=accs,
        drivers=[Driver("amd", "6.8.5", "dkms")],
        cpu=_cpu(192, 2048),
        device_access=_amd_access([128 + 8 * i for i in range(8)]),
    )


def rx7900xtx_igpu() -> HostReport:
    return HostReport(
        hostname="rx7900xtx",
        accelerators=[
            _amd("0000:03:00.0", "gfx1100", "AMD Radeon RX 7900 XTX", 128, vram_gib=24),
            _amd("0000:12:00.0", "gfx1036", "AMD Radeon Graphics", 129, integrated=True),
        ],
        drivers=[Driver("amd", None, "in-kernel")],
        cpu=_cpu(32, 64),
        device_access=_amd_access([128, 129]),
    )


def mi250() -> HostReport:
    return HostReport(
        hostname="mi250",
        accelerators=[
            _amd("0000:c1:00.0", "gfx90a", "AMD Instinct MI250X", 128, vram_gib=64),
            _amd("0000:c6:00.0", "gfx90a", "AMD Instinct MI250X", 136, vram_gib=64),
        ],
        drivers=[Driver("amd", "6.3.6", "dkms")],
        cpu=_cpu(128, 512),
        device_access=_amd_access([128, 136]),
    )


def strix_halo() -> HostReport:
    return HostReport(
        hostname="strix-halo",
        accelerators=[_amd("0000:c5:00.0", "gfx1151", "AMD Radeon 8060S", 128, integrated=True)],
        drivers=[Driver("amd", None, "in-kernel")],
        cpu=_cpu(32, 128),
        device_access=_amd_access([128]),
    )


def _nv(pci: str, cc: str, name: str, minor: int, uuid: str | None = None) -> Accelerator:
    return Accelerator(
        vendor="nvidia",
        pci_address=pci,
        vendor_id="0x10de",
        name=name,
        kernel_driver="nvidia",
        compute_capability=cc,
        minor_number=minor,
        uuid=uuid,
        device_nodes=[f"/dev/nvidia{minor}", "/dev/nvidiactl", "/dev/nvidia-uvm"],
    )


def h100_8(driver: str = "550.54.15", cuda: str = "12.4", cdi: bool = False) -> HostReport:
    accs = [
        _nv(f"0000:{bus:02x}:00.0", "9.0", "NVIDIA H100 80GB HBM3", i, f"GPU-h100-{i}")
        for i, bus in enumerate([0x18, 0x2A, 0x3A, 0x5D, 0x9A, 0xAB, 0xBA, 0xDB])
    ]
    container = ContainerSide()
    if cdi:
        container.cdi_specs = [
            CdiSpec(
                "/etc/cdi/nvidia.yaml",
                "nvidia.com/gpu",
                [f"nvidia.com/gpu={i}" for i in range(8)] + ["nvidia.com/gpu=all"],
            )
        ]
    return HostReport(
        hostname="h100-8",
        accelerators=accs,
        drivers=[Driver("nvidia", driver, "proprietary", cuda)],
        cpu=_cpu(224, 2048),
        container=container,
    )


def h200() -> HostReport:
    host = h100_8("570.148.08", "12.8")
    host.hostname = "h200"
    host.accelerators = [_nv("0000:00:05.0", "9.0", "NVIDIA H200", 0, "GPU-h200-0")]
    host.cpu = _cpu(16, 128)
    return host


def rtx4090() -> HostReport:
    return HostReport(
        hostname="rtx4090",
        accelerators=[_nv("0000:01:00.0", "8.9", "NVIDIA GeForce RTX 4090", 0)],
        drivers=[Driver("nvidia", "560.35.03", "proprietary", "12.6")],
        cpu=_cpu(24, 64, AVX2),
    )


def v100_old() -> HostReport:
    return HostReport(
        hostname="v100",
        accelerators=[_nv("0000:00:1e.0", "7.0", "Tesla V100-SXM2-16GB", 0)],
        drivers=[Driver("nvidia", "470.82.01", "proprietary", "11.4")],
        cpu=_cpu(8, 61, AVX512),
    )


def v100_new_driver() -> HostReport:
    host = v100_old()
    host.drivers = [Driver("nvidia", "575.57.08", "proprietary", "12.9")]
    return host


def cpu_avx512() -> HostReport:
    return HostReport(hostname="cpu-avx512", cpu=_cpu(32, 128, AVX512))


def cpu_avx2() -> HostReport:
    return HostReport(hostname="cpu-avx2", cpu=_cpu(8, 32, AVX2))


def jetson_orin() -> HostReport:
    acc = Accelerator(
        vendor="nvidia",
        pci_address=None,
        name="Orin (nvgpu)",
        integrated=True,
        compute_capability="8.7",
        device_nodes=["/dev/nvhost-gpu"],
    )
    return HostReport(
        hostname="jetson-orin",
        jetson_release="R36 (release), REVISION: 3.0",
        accelerators=[acc],
        drivers=[Driver("nvidia", "540.3.0", "jetson", "12.6")],
        cpu=_cpu(12, 64, [], arch="aarch64"),
    )


def mixed_amd_nvidia() -> HostReport:
    host = rtx4090()
    host.hostname = "mixed"
    host.accelerators.append(
        _amd("0000:03:00.0", "gfx1100", "AMD Radeon RX 7900 XTX", 128, vram_gib=24)
    )
    host.device_access = _amd_access([128])
    return host


ALL = {
    "mi300x-8": mi300x_8,
    "rx7900xtx-igpu": rx7900xtx_igpu,
    "mi250": mi250,
    "strix-halo": strix_halo,
    "h100-8": h100_8,
    "h200": h200,
    "rtx4090": rtx4090,
    "v100-old": v100_old,
    "v100-new-driver": v100_new_driver,
    "cpu-avx512": cpu_avx512,
    "cpu-avx2": cpu_avx2,
    "jetson-orin": jetson_orin,
}
