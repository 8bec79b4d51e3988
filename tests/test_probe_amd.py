"""AMD hosts built file by file: KFD topology, DRM memory files, tables, integrated rule."""

from __future__ import annotations

from pathlib import Path

from tests.support.fakehost import FakeHost, by_address, codes

GIB = 1024**3


def mi300x_host(tmp_path: Path, count: int = 2) -> FakeHost:
    h = FakeHost(tmp_path / "cap").cpu()
    h.pci("0000:02:00.0", "0x1a03", "0x2000", "0x030000", driver="ast")  # the BMC's VGA
    h.kfd_cpu_node(0)
    h.device("/dev/kfd", major=234, minor=0, mode="0666")
    for i in range(count):
        bus = 0x11 + 0x10 * i
        addr = f"0000:{bus:02x}:00.0"
        h.pci(
            addr,
            "0x1002",
            "0x74a1",
            "0x120000",
            driver="amdgpu",
            numa=i // 4,
            drm=[f"card{i + 1}", f"renderD{128 + i}"],
            mem_info_vram_total=str(206141652992),
            mem_info_gtt_total=str(1000 * GIB),
        )
        h.kfd_node(
            i + 1,
            {
                "simd_count": 1216,
                "simd_per_cu": 4,
                "gfx_target_version": 90402,
                "location_id": bus << 8,
                "domain": 0,
                "drm_render_minor": 128 + i,
                "device_id": 0x74A1,
                "vendor_id": 0x1002,
                "unique_id": 0x1234ABCD00 + i,
            },
            banks=[(1, 206158430208)],
        )
        h.device(f"/dev/dri/renderD{128 + i}", minor=128 + i)
    h.file("/sys/module/amdgpu/version", "6.10.5\n")
    return h


def test_mi300x_host(tmp_path: Path) -> None:
    r = mi300x_host(tmp_path).report()
    assert [a.pci_address for a in r.accelerators] == ["0000:11:00.0", "0000:21:00.0"]
    a = by_address(r)["0000:11:00.0"]
    assert (a.vendor, a.gfx_target, a.gfx_target_version, a.compute_units) == (
        "amd",
        "gfx942",
        90402,
        304,
    )
    assert a.name == "AMD Instinct MI300X"
    assert a.pci_class == "0x120000" and a.kernel_driver == "amdgpu" and a.numa_node == 0
    assert a.memory_total_bytes == 206141652992  # DRM file read after the KFD banks
    assert a.sources["memory_total_bytes"].endswith("mem_info_vram_total")
    assert a.sources["gfx_target"].startswith("sysfs:/sys/class/kfd")
    assert a.render_node == "/dev/dri/renderD128" and a.card_node == "/dev/dri/card1"
    assert a.integrated is False
    assert a.uuid == "GPU-0000001234abcd00"
    assert a.device_nodes == ["/dev/dri/renderD128", "/dev/kfd"]
    assert by_address(r)["0000:21:00.0"].numa_node == 0
    assert [(d.vendor, d.version, d.flavor) for d in r.drivers] == [("amd", "6.10.5", "dkms")]
    assert "kfd-not-writable" not in codes(r)
    assert all(x.readable and x.writable for x in r.device_access if x.path == "/dev/kfd")


def test_render_group_missing_gives_fix(tmp_path: Path) -> None:
    h = mi300x_host(tmp_path, 1)
    h.devices[0]["mode"] = "0660"  # /dev/kfd, group render, user not in it
    r = h.report()
    kfd = next(f for f in r.findings if f.code == "kfd-not-writable")
    assert kfd.message.startswith("/dev/kfd not writable by uid 1000: add yourself to group render")
    assert kfd.fix == "sudo usermod -aG render $USER, then log in again"
    assert "render-node-not-writable" in codes(r)
    h2 = mi300x_host(tmp_path / "b", 1)
    h2.devices[0]["mode"] = "0660"
    h2.meta["user"]["groups"] = [1000, 109]
    assert "kfd-not-writable" not in codes(h2.report())


def test_mi250_two_gcds_are_two_devices(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    for i, addr in enumerate(("0000:29:00.0", "0000:2a:00.0")):
        bus = int(addr[5:7], 16)
        h.pci(
            addr, "0x1002", "0x740c", "0x038000", driver="amdgpu", mem_info_vram_total=str(64 * GIB)
        )
        h.kfd_node(
            i + 1,
            {
                "simd_count": 416,
                "simd_per_cu": 4,
                "gfx_target_version": 90010,
                "location_id": bus << 8,
                "drm_render_minor": 128 + i,
            },
        )
    r = h.report()
    assert len(r.accelerators) == 2
    assert {a.gfx_target for a in r.accelerators} == {"gfx90a"}
    assert [a.compute_units for a in r.accelerators] == [104, 104]
    assert [a.kfd_node for a in r.accelerators] == [1, 2]
    assert r.accelerators[0].name == "AMD Instinct MI250/MI250X"


def test_discrete_beside_igpu(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.pci(
        "0000:03:00.0",
        "0x1002",
        "0x744c",
        "0x030000",
        driver="amdgpu",
        mem_info_vram_total=str(24 * GIB),
        mem_info_gtt_total=str(31 * GIB),
    )
    h.pci(
        "0000:0e:00.0",
        "0x1002",
        "0x164e",
        "0x030000",
        driver="amdgpu",
        mem_info_vram_total=str(512 * 1024**2),
        mem_info_gtt_total=str(31 * GIB),
    )
    h.kfd_node(
        1,
        {
            "simd_count": 192,
            "simd_per_cu": 2,
            "gfx_target_version": 110000,
            "location_id": 0x0300,
            "drm_render_minor": 128,
        },
    )
    h.kfd_node(
        2,
        {
            "simd_count": 4,
            "simd_per_cu": 2,
            "gfx_target_version": 100306,
            "location_id": 0x0E00,
            "drm_render_minor": 129,
        },
    )
    r = h.report()
    d, i = by_address(r)["0000:03:00.0"], by_address(r)["0000:0e:00.0"]
    assert (d.gfx_target, d.integrated, d.compute_units) == ("gfx1100", False, 96)
    assert (i.gfx_target, i.integrated, i.compute_units) == ("gfx1036", True, 2)
    assert i.memory_total_bytes == 512 * 1024**2 and i.gtt_total_bytes == 31 * GIB
    assert [d.flavor for d in r.drivers] == ["in-kernel"]


def test_integrated_rule_without_table(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.pci(
        "0000:c5:00.0",
        "0x1002",
        "0xffff",
        "0x030000",
        driver="amdgpu",
        mem_info_vram_total=str(512 * 1024**2),
        mem_info_gtt_total=str(16 * GIB),
    )
    a = h.report().accelerators[0]
    assert a.integrated is True and a.sources["integrated"] == "rule:small-vram-large-gtt"
    assert a.gfx_target is None and a.name == "AMD GPU 0xffff"


def test_strix_halo_apu_from_table_even_with_large_carveout(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.pci(
        "0000:c5:00.0",
        "0x1002",
        "0x1586",
        "0x030000",
        driver="amdgpu",
        mem_info_vram_total=str(96 * GIB),
        mem_info_gtt_total=str(16 * GIB),
    )
    h.kfd_node(
        1, {"simd_count": 80, "simd_per_cu": 2, "gfx_target_version": 110501, "location_id": 0xC500}
    )
    a = h.report().accelerators[0]
    assert (a.gfx_target, a.integrated, a.compute_units) == ("gfx1151", True, 40)


def test_old_kernel_without_gfx_target_version_uses_the_table(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.pci("0000:43:00.0", "0x1002", "0x738c", "0x038000", driver="amdgpu")
    h.kfd_node(
        1,
        {
            "simd_count": 480,
            "simd_per_cu": 4,
            "location_id": 0x4300,
            "device_id": 0x738C,
            "drm_render_minor": 128,
        },
        banks=[(1, 32 * GIB)],
    )
    a = h.report().accelerators[0]
    assert a.gfx_target == "gfx908" and a.sources["gfx_target"] == "table:amd_gpus"
    assert a.gfx_target_version == 90008
    assert a.memory_total_bytes == 32 * GIB and a.compute_units == 120


def test_hsa_override_and_rocr_visible(tmp_path: Path) -> None:
    h = mi300x_host(tmp_path, 2)
    h.meta["env"] = {"HSA_OVERRIDE_GFX_VERSION": "9.4.2", "ROCR_VISIBLE_DEVICES": "1"}
    r = h.report()
    assert [a.visible for a in r.accelerators] == [False, True]
    assert r.env == {"HSA_OVERRIDE_GFX_VERSION": "9.4.2", "ROCR_VISIBLE_DEVICES": "1"}
    assert {"hsa-override-gfx-version", "devices-hidden-by-env"} <= set(codes(r))


def test_hip_visible_applies_after_rocr(tmp_path: Path) -> None:
    h = mi300x_host(tmp_path, 2)
    h.meta["env"] = {"ROCR_VISIBLE_DEVICES": "GPU-0000001234abcd01,0", "HIP_VISIBLE_DEVICES": "0"}
    r = h.report()
    # ROCR keeps both (by UUID and index); HIP index 0 then keeps only the first of them
    assert [a.visible for a in r.accelerators] == [True, False]


def test_kfd_missing_warns(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.pci("0000:03:00.0", "0x1002", "0x744c", "0x030000", driver="amdgpu")
    h.device("/dev/dri/renderD128")
    r = h.report()
    assert "kfd-missing" in codes(r)
    assert r.accelerators[0].gfx_target == "gfx1100"  # from the table by device id


def test_recorded_access_wins_over_mode_bits(tmp_path: Path) -> None:
    """A seat ACL (systemd-logind) grants a desktop user the render node without the group."""
    h = mi300x_host(tmp_path, 1)
    h.devices[1]["mode"] = "0660"  # /dev/dri/renderD128, group render, user not in it
    h.devices[1]["access"] = {"read": True, "write": True}
    r = h.report()
    assert "render-node-not-writable" not in [f.code for f in r.findings]
    node = next(x for x in r.device_access if x.path == "/dev/dri/renderD128")
    assert node.readable and node.writable
