"""NVIDIA hosts: module versions, procfs, nvidia-smi (with and without compute_cap), tables,
Jetson and WSL."""

from __future__ import annotations

from pathlib import Path

from hwdock.probe.nvidia import SMI_FIELDS, smi_argv
from tests.support.fakehost import FakeHost, by_address, codes

PROP = (
    "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 22:23:56 UTC 2024\n"
    "GCC version:  gcc version 12.3.0 (Ubuntu 12.3.0-1ubuntu1~22.04)\n"
)
OPEN = (
    "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  570.86.15  Release Build  "
    "(dvs-builder@U16-I3-B03-4-3)  Thu Jan 23 22:50:36 UTC 2025\n"
)
NO_CC = [f for f in SMI_FIELDS if f != "compute_cap"]


def h100_host(tmp_path: Path, n: int = 2, *, smi: bool = True) -> FakeHost:
    h = FakeHost(tmp_path / "cap").cpu()
    h.file("/sys/module/nvidia/version", "550.54.15\n").file("/proc/driver/nvidia/version", PROP)
    rows = []
    for i in range(n):
        addr = f"0000:{0x18 + i * 0x10:02x}:00.0"
        h.pci(addr, "0x10de", "0x2330", "0x030200", driver="nvidia", numa=0)
        h.file(
            f"/proc/driver/nvidia/gpus/{addr}/information",
            f"Model: \t\t NVIDIA H100 80GB HBM3\nIRQ:   \t\t 200\nGPU UUID: \t GPU-aaaa{i}\n"
            f"Bus Type: \t PCIe\nBus Location: \t {addr}\nDevice Minor: \t {i}\n",
        )
        h.device(f"/dev/nvidia{i}", major=195, minor=i, mode="0666", gid=0, group="root")
        rows.append(
            f"0000{addr.upper()}, NVIDIA H100 80GB HBM3, 9.0, 81559, 550.54.15, GPU-aaaa{i}"
        )
    h.device("/dev/nvidiactl", major=195, minor=255, mode="0666", gid=0, group="root")
    if smi:
        h.command(smi_argv(SMI_FIELDS), "\n".join(rows) + "\n")
    return h


def test_h100_with_nvidia_smi(tmp_path: Path) -> None:
    r = h100_host(tmp_path).report()
    assert len(r.accelerators) == 2
    a = by_address(r)["0000:18:00.0"]
    assert (a.name, a.compute_capability, a.memory_total_bytes) == (
        "NVIDIA H100 80GB HBM3",
        "9.0",
        81559 * 1024**2,
    )
    assert a.sources["compute_capability"] == "nvidia-smi"
    assert a.sources["name"] == "nvidia-smi"  # the table's name never overwrites it
    assert a.minor_number == 0 and a.uuid == "GPU-aaaa0" and a.pci_class == "0x030200"
    assert a.device_nodes == ["/dev/nvidia0", "/dev/nvidiactl"]
    (d,) = r.drivers
    assert (d.vendor, d.version, d.flavor, d.cuda_driver_version) == (
        "nvidia",
        "550.54.15",
        "proprietary",
        "12.4",
    )


def test_h100_without_nvml_or_smi_uses_table(tmp_path: Path) -> None:
    r = h100_host(tmp_path, smi=False).report()
    a = r.accelerators[0]
    assert a.compute_capability == "9.0" and a.sources["compute_capability"] == "table:nvidia_gpus"
    assert a.name == "NVIDIA H100 80GB HBM3"  # procfs beats the table
    assert a.memory_total_bytes is None
    assert not [f for f in r.findings if f.severity != "info"]


def test_old_driver_without_compute_cap_retries(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.file("/proc/driver/nvidia/version", PROP.replace("550.54.15", "418.87.01"))
    h.pci("0000:3b:00.0", "0x10de", "0x1db4", "0x030200", driver="nvidia")
    h.command(
        smi_argv(SMI_FIELDS), 'Field "compute_cap" is not a valid field to query.\n\n', returncode=2
    )
    h.command(
        smi_argv(tuple(NO_CC)),
        "00000000:3B:00.0, Tesla V100-PCIE-16GB, 16130, 418.87.01, GPU-bbbb\n",
    )
    r = h.report()
    a = r.accelerators[0]
    assert a.compute_capability == "7.0" and a.sources["compute_capability"] == "table:nvidia_gpus"
    assert a.memory_total_bytes == 16130 * 1024**2 and a.name == "Tesla V100-PCIE-16GB"
    assert r.drivers[0].cuda_driver_version == "10.1"
    assert not [c for c in codes(r) if c.startswith("nvidia-smi")]


def test_smi_not_supported_fields(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.file("/proc/driver/nvidia/version", OPEN)
    h.pci("0000:01:00.0", "0x10de", "0x2684", "0x030000", driver="nvidia")
    h.command(
        smi_argv(SMI_FIELDS),
        "00000000:01:00.0, NVIDIA GeForce RTX 4090, [Not Supported], [N/A], 570.86.15, GPU-c\n",
    )
    r = h.report()
    a = r.accelerators[0]
    assert a.compute_capability == "8.9" and a.memory_total_bytes is None
    assert (r.drivers[0].flavor, r.drivers[0].version, r.drivers[0].cuda_driver_version) == (
        "open",
        "570.86.15",
        "12.8",
    )


def test_smi_failure_and_timeout_warn(tmp_path: Path) -> None:
    h = h100_host(tmp_path, 1, smi=False)
    h.command(
        smi_argv(SMI_FIELDS),
        "",
        returncode=9,
        stderr="NVIDIA-SMI has failed because it couldn't communicate with the driver",
    )
    r = h.report()
    assert "nvidia-smi-failed" in codes(r)
    assert r.accelerators[0].compute_capability == "9.0"
    h2 = h100_host(tmp_path / "b", 1, smi=False)
    h2.command(smi_argv(SMI_FIELDS), "", returncode=124, timed_out=True)
    r2 = h2.report()
    assert "command-timed-out" in codes(r2) and "nvidia-smi-failed" not in codes(r2)


def test_cuda_visible_devices_by_index_and_uuid(tmp_path: Path) -> None:
    h = h100_host(tmp_path, 2)
    h.meta["env"] = {"CUDA_VISIBLE_DEVICES": "GPU-aaaa1"}
    r = h.report()
    assert [a.visible for a in r.accelerators] == [False, True]
    f = next(f for f in r.findings if f.code == "devices-hidden-by-env")
    assert "0000:18:00.0" in f.message and "CUDA_DEVICE_ORDER" in f.message
    h2 = h100_host(tmp_path / "b", 2)
    h2.meta["env"] = {"CUDA_VISIBLE_DEVICES": ""}
    assert [a.visible for a in h2.report().accelerators] == [False, False]
    h3 = h100_host(tmp_path / "c", 2)
    h3.meta["env"] = {"CUDA_VISIBLE_DEVICES": "0,1"}
    assert [a.visible for a in h3.report().accelerators] == [True, True]


def test_gpu_without_driver(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.pci("0000:01:00.0", "0x10de", "0x2204", "0x030000")
    r = h.report()
    assert "nvidia-driver-missing" in codes(r)
    assert r.accelerators[0].compute_capability == "8.6"
    assert r.accelerators[0].kernel_driver is None


def test_jetson_orin(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap")
    h.file(
        "/proc/cpuinfo",
        "processor\t: 0\nFeatures\t: fp asimd evtstrm aes sha1 sha2 crc32 "
        "atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp\nCPU implementer\t: 0x41\n",
    )
    h.file(
        "/etc/nv_tegra_release",
        "# R36 (release), REVISION: 3.0, GCID: 36191598, BOARD: generic, EABI: aarch64, "
        "DATE: Mon May  6 17:34:21 UTC 2024\n",
    )
    h.file("/proc/device-tree/model", b"NVIDIA Jetson AGX Orin Developer Kit\x00")
    h.file("/proc/device-tree/compatible", b"nvidia,p3737-0000+p3701-0005\x00nvidia,tegra234\x00")
    h.device("/dev/nvmap", major=10, minor=120, mode="0666", group="root", gid=0)
    r = h.report()
    assert r.jetson_release == "R36 (release), REVISION: 3.0"
    (a,) = r.accelerators
    assert (a.vendor, a.pci_address, a.integrated, a.compute_capability) == (
        "nvidia",
        None,
        True,
        "8.7",
    )
    assert a.name == "NVIDIA Jetson AGX Orin Developer Kit" and a.device_nodes == ["/dev/nvmap"]
    assert r.cpu.architecture == "aarch64" and r.cpu.isa_level == "neon"
    assert "asimddp" in r.cpu.isa_flags
    assert [d.flavor for d in r.drivers] == ["jetson"]


def test_wsl_gpu_from_nvidia_smi(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.meta["kernel"] = "5.15.153.1-microsoft-standard-WSL2"
    h.file("/proc/version", "Linux version 5.15.153.1-microsoft-standard-WSL2 (root@...)\n")
    h.device("/dev/dxg", major=10, minor=63, mode="0666", gid=0, group="root")
    h.command(
        smi_argv(SMI_FIELDS),
        "00000000:01:00.0, NVIDIA GeForce RTX 4090, 8.9, 24564, 551.61, GPU-dddd\n",
    )
    r = h.report()
    assert r.wsl is True
    (a,) = r.accelerators
    assert a.pci_address == "0000:01:00.0" and a.compute_capability == "8.9"
    assert r.drivers[0].version == "551.61" and r.drivers[0].source == "nvidia-smi"


def test_mig_uuids_are_not_guessed(tmp_path: Path) -> None:
    h = h100_host(tmp_path, 2)
    h.meta["env"] = {"CUDA_VISIBLE_DEVICES": "MIG-5c89852c-d268-c3f3-1b07-005d5ae1dc3f"}
    r = h.report()
    assert [a.visible for a in r.accelerators] == [True, True]
    assert "devices-hidden-unknown" in codes(r) and "devices-hidden-by-env" not in codes(r)
