"""AMD GPUs: KFD topology, DRM memory files, the device table, amdgpu's version and the
integrated-GPU rule. MI250's two GCDs are two PCI functions, hence two devices here."""

from __future__ import annotations

from hwdock.probe import tables
from hwdock.probe.context import Context
from hwdock.probe.merge import put
from hwdock.probe.model import Accelerator, Driver

KFD_NODES = "/sys/class/kfd/kfd/topology/nodes"
PCI_DIR = "/sys/bus/pci/devices"
GIB = 1024**3
FB_HEAPS = {1, 2}  # HSA_HEAPTYPE_FRAME_BUFFER_PUBLIC / _PRIVATE; 0 is system memory


def parse_properties(text: str | None) -> dict[str, int]:
    """KFD `properties`: one "name value" pair per line, values decimal integers.

    Lines that are not a name and an integer are skipped.
    """
    out: dict[str, int] = {}
    if not text:
        return out
    for line in text.splitlines():
        parts = line.split()
        if len(parts) != 2:
            continue
        try:
            out[parts[0]] = int(parts[1], 10)
        except ValueError:
            continue
    return out


def decode_gfx_target_version(value: int | None) -> str | None:
    """KFD's major*10000 + minor*100 + stepping -> "gfx<major><minor hex><stepping hex>".

    90010 -> gfx90a, 90402 -> gfx942, 110000 -> gfx1100, 100300 -> gfx1030.
    """
    if value is None or value <= 0:
        return None
    major, rest = divmod(value, 10000)
    minor, stepping = divmod(rest, 100)
    if major == 0 or minor > 15 or stepping > 15:
        return None
    return f"gfx{major}{minor:x}{stepping:x}"


def encode_gfx_target(gfx: str) -> int | None:
    """The inverse of `decode_gfx_target_version` ("gfx942" -> 90402)."""
    body = gfx[3:] if gfx.startswith("gfx") else ""
    if len(body) < 3 or not body[:-2].isdigit():
        return None
    try:
        return int(body[:-2]) * 10000 + int(body[-2], 16) * 100 + int(body[-1], 16)
    except ValueError:
        return None


def location_to_address(domain: int | None, location_id: int | None) -> str | None:
    """KFD location_id is bus<<8 | device<<3 | function."""
    if location_id is None or location_id < 0 or location_id > 0xFFFF:
        return None
    d = domain if domain is not None and 0 <= domain <= 0xFFFF else 0
    bus, devfn = divmod(location_id, 256)
    return f"{d:04x}:{bus:02x}:{devfn >> 3:02x}.{devfn & 7:x}"


def collect(ctx: Context) -> None:
    gpu_nodes = _kfd(ctx)
    amd = ctx.devices.of("amd")
    for acc in amd:
        _drm_and_table(ctx, acc)
    if not amd and not gpu_nodes:
        return
    _driver(ctx, amd)
    igpus = [a for a in amd if a.integrated]
    if igpus and len(igpus) < len(amd):
        ctx.warn(
            "igpu-present",
            f"an integrated AMD GPU ({', '.join(a.key for a in igpus)}, "
            f"{', '.join(sorted({a.gfx_target or '?' for a in igpus}))}) sits beside the discrete "
            "one(s); ROCm enumerates both, and images built only for the discrete target fail "
            "on it",
            severity="info",
            fix="hide it from ROCm: ROCR_VISIBLE_DEVICES=<discrete GPU UUIDs or indices>",
            evidence=[a.key for a in igpus],
        )
    override = ctx.env.get("HSA_OVERRIDE_GFX_VERSION")
    if override:
        targets = sorted({a.gfx_target for a in amd if a.gfx_target})
        ctx.warn(
            "hsa-override-gfx-version",
            f"HSA_OVERRIDE_GFX_VERSION={override} makes ROCm treat "
            f"{', '.join(targets) or 'the GPUs'} as another target; kernels built for the "
            "override run on hardware they were not compiled for",
            severity="info",
            fix="unset HSA_OVERRIDE_GFX_VERSION unless the GPU needs it",
            evidence=[f"HSA_OVERRIDE_GFX_VERSION={override}"],
        )


def _kfd(ctx: Context) -> list[Accelerator]:
    names = ctx.root.listdir(KFD_NODES)
    if names is None:
        return []
    found: list[Accelerator] = []
    for name in sorted(names, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0, n)):
        path = f"{KFD_NODES}/{name}/properties"
        text = ctx.read(path)
        if text is None:
            continue
        props = parse_properties(text)
        if not props:
            ctx.warn("kfd-properties-unreadable", f"{path} holds no properties", evidence=[path])
            continue
        if props.get("simd_count", 0) <= 0:
            continue  # a CPU node
        src = f"sysfs:{path}"
        address = location_to_address(props.get("domain"), props.get("location_id"))
        acc = ctx.devices.ensure("amd", address, key=f"amd:kfd{name}")
        found.append(acc)
        if name.isdigit():
            put(acc, "kfd_node", int(name), src)
        device_id = props.get("device_id")
        if device_id is not None and 0 < device_id <= 0xFFFF and acc.device_id is None:
            put(acc, "device_id", f"0x{device_id:04x}", src)
        if 0 < props.get("vendor_id", 0) <= 0xFFFF and acc.vendor_id is None:
            put(acc, "vendor_id", f"0x{props['vendor_id']:04x}", src)
        version = props.get("gfx_target_version")
        gfx = decode_gfx_target_version(version)
        if gfx:
            put(acc, "gfx_target_version", version, src)
            put(acc, "gfx_target", gfx, src)
        simd, per_cu = props.get("simd_count", 0), props.get("simd_per_cu", 0)
        if per_cu > 0:
            put(acc, "compute_units", simd // per_cu, src)
        minor = props.get("drm_render_minor")
        if minor is not None and 128 <= minor < 1 << 20:
            put(acc, "render_node", f"/dev/dri/renderD{minor}", src)
        if props.get("unique_id", 0) > 0:
            put(acc, "uuid", f"GPU-{props['unique_id']:016x}", src)
        vram = _bank_memory(ctx, f"{KFD_NODES}/{name}")
        if vram:
            put(acc, "memory_total_bytes", vram, f"sysfs:{KFD_NODES}/{name}/mem_banks")
    return found


def _bank_memory(ctx: Context, node: str) -> int:
    total = 0
    for bank in ctx.root.listdir(f"{node}/mem_banks") or []:
        props = parse_properties(ctx.read(f"{node}/mem_banks/{bank}/properties"))
        if props.get("heap_type") in FB_HEAPS:
            total += max(props.get("size_in_bytes", 0), 0)
    return total


def _drm_and_table(ctx: Context, acc: Accelerator) -> None:
    if acc.pci_address:
        base = f"{PCI_DIR}/{acc.pci_address}"
        for attr, field in (
            ("mem_info_vram_total", "memory_total_bytes"),
            ("mem_info_gtt_total", "gtt_total_bytes"),
        ):
            value = ctx.read_int(f"{base}/{attr}", 10)
            if value is not None and value >= 0:
                put(acc, field, value, f"sysfs:{base}/{attr}")
    entry = tables.amd_device(acc.device_id)
    if entry is not None:
        put(acc, "name", entry["name"], "table:amd_gpus")
        put(acc, "gfx_target", entry["gfx_target"], "table:amd_gpus")
    elif acc.name is None:
        put(acc, "name", f"AMD GPU {acc.device_id or '(unknown id)'}", "table:pci_vendors")
    if acc.gfx_target and acc.gfx_target_version is None:
        put(acc, "gfx_target_version", encode_gfx_target(acc.gfx_target), "table:amd_gpus")
    target = tables.amd_target(acc.gfx_target)
    if entry is not None and entry.get("apu"):
        put(acc, "integrated", True, "table:amd_gpus")
    elif target is not None and target.get("apu"):
        put(acc, "integrated", True, "table:amd_gpus targets")
    elif (
        acc.memory_total_bytes is not None
        and acc.gtt_total_bytes is not None
        and acc.memory_total_bytes <= 2 * GIB
        and acc.gtt_total_bytes >= 2 * acc.memory_total_bytes
    ):
        put(acc, "integrated", True, "rule:small-vram-large-gtt")
    nodes = ["/dev/kfd"] if acc.kfd_node is not None or ctx.root.device("/dev/kfd") else []
    if acc.render_node:
        nodes.append(acc.render_node)
    acc.device_nodes = sorted(set(acc.device_nodes) | set(nodes))
    if (
        acc.kernel_driver is None
        and acc.pci_address
        and acc.sources.get("vendor_id", "").startswith("sysfs")
    ):
        ctx.warn(
            "gpu-driver-not-bound",
            f"AMD GPU {acc.pci_address} has no kernel driver bound; ROCm cannot use it",
            fix="load the amdgpu driver (sudo modprobe amdgpu) and check `dmesg | grep amdgpu`",
            evidence=[f"{PCI_DIR}/{acc.pci_address}/driver"],
        )


def _driver(ctx: Context, amd: list[Accelerator]) -> None:
    version = ctx.read_value("/sys/module/amdgpu/version")
    loaded = version is not None or ctx.root.exists("/sys/module/amdgpu")
    if not loaded and not any(a.kernel_driver == "amdgpu" for a in amd):
        return
    ctx.report.drivers.append(
        Driver(
            vendor="amd",
            version=version,
            flavor="dkms" if version else "in-kernel",
            source="sysfs:/sys/module/amdgpu/version" if version else "sysfs:/sys/module/amdgpu",
        )
    )
    bound = [a for a in amd if a.kernel_driver == "amdgpu"]
    if bound and not ctx.root.exists(KFD_NODES):
        ctx.warn(
            "kfd-missing",
            "amdgpu is bound but the KFD topology (/sys/class/kfd) is absent: ROCm will find "
            "no GPU",
            fix="use a kernel built with CONFIG_HSA_AMD, or install the amdgpu-dkms driver",
            evidence=[KFD_NODES],
        )
