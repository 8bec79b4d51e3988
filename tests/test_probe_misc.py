"""Intel and other vendors, container engines, CDI, disks, NVML (faked), Jetson/WSL edges."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path

import pytest

from hwdock.probe.capture import load
from hwdock.probe.host import probe_host
from tests.support.fakehost import FakeHost, by_address, codes

DOCKER_VERSION = ["docker", "version", "--format", "{{json .}}"]
DOCKER_INFO = ["docker", "info", "--format", "{{json .}}"]


def test_intel_and_other_vendors(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.pci("0000:00:02.0", "0x8086", "0xa780", "0x030000", driver="i915", drm=["renderD128"])
    h.pci("0000:03:00.0", "0x8086", "0x56a0", "0x030000", driver="xe", drm=["renderD129"])
    h.pci("0000:4d:00.0", "0x1da3", "0x1020", "0x120000", driver="habanalabs")
    h.pci("0000:5e:00.0", "0x1e52", "0xb140", "0x120000")
    h.pci("0000:02:00.0", "0x1a03", "0x2000", "0x030000", driver="ast")  # BMC: left out
    h.pci("0000:06:00.0", "0x8086", "0x1572", "0x020000", driver="i40e")  # a NIC: left out
    r = h.report()
    acc = by_address(r)
    assert sorted(acc) == ["0000:00:02.0", "0000:03:00.0", "0000:4d:00.0", "0000:5e:00.0"]
    assert acc["0000:00:02.0"].integrated and not acc["0000:03:00.0"].integrated
    assert acc["0000:03:00.0"].device_nodes == ["/dev/dri/renderD129"]
    assert (acc["0000:4d:00.0"].vendor, acc["0000:5e:00.0"].vendor) == ("habana", "tenstorrent")
    assert acc["0000:4d:00.0"].name == "Habana Labs (Intel Gaudi) device 0x1020"
    assert sorted((d.vendor, d.source) for d in r.drivers) == [
        ("intel", "sysfs:driver i915"),
        ("intel", "sysfs:driver xe"),
    ]
    unknown = FakeHost(tmp_path / "u").cpu()
    unknown.pci("0000:07:00.0", "0xabcd", "0x0001", "0x0b4000")
    (a,) = unknown.report().accelerators
    assert a.vendor == "pci-abcd" and a.name == "PCI vendor 0xabcd device 0x0001"


def test_docker_info_runtimes_cdi_and_disk(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.command(
        DOCKER_VERSION,
        json.dumps({"Client": {"Version": "27.3.1"}, "Server": {"Version": "27.3.1"}}),
    )
    h.command(["docker", "buildx", "version"], "github.com/docker/buildx v0.17.1 257815a\n")
    h.command(
        DOCKER_INFO,
        json.dumps(
            {
                "DockerRootDir": "/data/docker",
                "Runtimes": {"runc": {}, "nvidia": {"path": "x"}},
                "SecurityOptions": ["name=seccomp,profile=builtin", "name=rootless"],
                "CDISpecDirs": ["/etc/cdi", "/var/run/cdi"],
            }
        ),
    )
    h.command(["nvidia-ctk", "--version"], "NVIDIA Container Toolkit CLI version 1.17.3\n")
    h.command(
        ["nvidia-container-runtime", "--version"], "NVIDIA Container Runtime version 1.17.3\n"
    )
    h.file(
        "/var/run/cdi/nvidia.yaml",
        "cdiVersion: 0.5.0\nkind: nvidia.com/gpu\ndevices:\n"
        '  - name: "0"\n    containerEdits: {}\n  - name: all\n',
    )
    h.file("/etc/cdi/broken.json", "{nope")
    h.file("/etc/cdi/README", "not a spec")
    h.meta["disks"] = [{"path": "/data", "total_bytes": 10**12, "free_bytes": 20 * 1024**3}]
    r = h.report()
    (e,) = r.container.engines
    assert (e.client_version, e.server_version, e.buildx_version, e.buildkit_usable) == (
        "27.3.1",
        "27.3.1",
        "0.17.1",
        True,
    )
    assert (e.runtimes, e.rootless, e.data_root, e.cdi_enabled) == (
        ["nvidia", "runc"],
        True,
        "/data/docker",
        True,
    )
    assert r.container.nvidia_ctk_version == "1.17.3"
    assert r.container.nvidia_container_runtime == "x"  # the path docker info names
    assert [(s.path, s.devices) for s in r.container.cdi_specs] == [
        ("/var/run/cdi/nvidia.yaml", ["nvidia.com/gpu=0", "nvidia.com/gpu=all"])
    ]
    assert [(d.path, d.free_bytes) for d in r.disks] == [("/data/docker", 20 * 1024**3)]
    assert {"cdi-spec-unreadable", "low-disk-space"} <= set(codes(r))
    assert "no-buildx" not in codes(r)


@pytest.mark.parametrize(
    ("stderr", "code"),
    [
        (
            "permission denied while trying to connect to the Docker daemon socket",
            "docker-permission-denied",
        ),
        (
            "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.",
            "docker-daemon-unreachable",
        ),
    ],
)
def test_docker_daemon_problems(tmp_path: Path, stderr: str, code: str) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.command(
        DOCKER_VERSION,
        '{"Client":{"Version":"24.0.7"},"Server":null}\n',
        returncode=1,
        stderr=stderr,
    )
    r = h.report()
    assert code in codes(r)
    assert r.container.engines[0].server_version is None


def test_old_docker_client_has_buildkit_built_in_and_podman(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.command(
        DOCKER_VERSION,
        json.dumps(
            {"Client": {"Version": "20.10.24+dfsg1"}, "Server": {"Version": "20.10.24+dfsg1"}}
        ),
    )
    h.command(
        ["docker", "buildx", "version"], "docker: 'buildx' is not a docker command.\n", returncode=1
    )
    h.command(
        ["podman", "version", "--format", "json"], json.dumps({"Client": {"Version": "4.3.1"}})
    )
    h.command(
        ["podman", "info", "--format", "json"],
        json.dumps(
            {
                "host": {"ociRuntime": {"name": "crun"}, "security": {"rootless": True}},
                "store": {"graphRoot": "/home/u/.local/share/containers/storage"},
            }
        ),
    )
    r = h.report()
    docker, podman = r.container.engines
    assert docker.buildkit_usable and docker.buildx_version is None
    assert "no-buildx" not in codes(r)
    assert (podman.client_version, podman.server_version, podman.runtimes, podman.rootless) == (
        "4.3.1",
        "4.3.1",
        ["crun"],
        True,
    )
    assert podman.data_root == "/home/u/.local/share/containers/storage"


def test_nvidia_gpu_without_container_runtime(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.file("/sys/module/nvidia/version", "550.54.15\n")
    h.pci("0000:01:00.0", "0x10de", "0x2684", "0x030000", driver="nvidia")
    h.command(DOCKER_VERSION, '{"Client":{"Version":"26.0.0"},"Server":{"Version":"26.0.0"}}')
    h.command(DOCKER_INFO, '{"Runtimes":{"runc":{}}}')
    assert "nvidia-runtime-missing" in codes(h.report())


class FakeNvml(types.ModuleType):
    def __init__(self) -> None:
        super().__init__("pynvml")
        self.shutdown = False

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None:
        self.shutdown = True

    def nvmlSystemGetCudaDriverVersion_v2(self) -> int:
        return 12080

    def nvmlSystemGetDriverVersion(self) -> str:
        return "570.124.06"

    def nvmlDeviceGetCount(self) -> int:
        return 1

    def nvmlDeviceGetHandleByIndex(self, i: int) -> int:
        return i

    def nvmlDeviceGetPciInfo(self, h: int) -> types.SimpleNamespace:
        return types.SimpleNamespace(busId=b"00000000:C1:00.0")

    def nvmlDeviceGetName(self, h: int) -> bytes:
        return b"NVIDIA H200"

    def nvmlDeviceGetCudaComputeCapability(self, h: int) -> tuple[int, int]:
        return (9, 0)

    def nvmlDeviceGetMemoryInfo(self, h: int) -> types.SimpleNamespace:
        return types.SimpleNamespace(total=150754820096)

    def nvmlDeviceGetUUID(self, h: int) -> str:
        return "GPU-0b6e"


def test_nvml_when_live(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.pci("0000:c1:00.0", "0x10de", "0x2335", "0x030200", driver="nvidia")
    h.file(
        "/proc/driver/nvidia/version",
        "NVRM version: NVIDIA UNIX Open Kernel Module for "
        "x86_64  570.124.06  Release Build  (dvs-builder@U16)  Thu Jan 23 2025\n",
    )
    cap = load(h.write())
    nvml = FakeNvml()
    monkeypatch.setitem(sys.modules, "pynvml", nvml)
    cap.runner.live = True  # NVML is only tried on a live host
    r = probe_host(cap.root, cap.runner, {}, cap.user, use_nvml=True)
    (a,) = r.accelerators
    assert (a.name, a.compute_capability, a.memory_total_bytes, a.uuid) == (
        "NVIDIA H200",
        "9.0",
        150754820096,
        "GPU-0b6e",
    )
    assert a.sources["compute_capability"] == "nvml" and nvml.shutdown
    assert r.drivers[0].cuda_driver_version == "12.8"
    assert not [c for c in cap.runner.calls if c[0] == "nvidia-smi"]  # NVML answered
    assert "compute-cap-from-table" not in codes(r)


def _docker_version(client: str, server: str) -> str:
    return json.dumps({"Client": {"Version": client}, "Server": {"Version": server}})


def test_probe_reports_the_docker_client_the_engine_uses(tmp_path: Path) -> None:
    """This VM's shape: a new client without buildx first on PATH, Debian's 20.10 client (with
    BuildKit built in) behind it, reachable twice through merged-usr /bin -> usr/bin."""
    h = FakeHost(tmp_path / "cap").cpu()
    h.link("/bin", "usr/bin")
    h.command(["which", "-a", "docker"], "/usr/local/bin/docker\n/usr/bin/docker\n/bin/docker\n")
    h.command(DOCKER_VERSION, _docker_version("28.2.2", "20.10.24+dfsg1"))
    h.command(["docker", "buildx", "version"], "", returncode=1, stderr="unknown command")
    h.command(
        ["/usr/bin/docker", "version", "--format", "{{json .}}"],
        _docker_version("20.10.24+dfsg1", "20.10.24+dfsg1"),
    )
    h.command(["/usr/bin/docker", "buildx", "version"], "", returncode=1)
    h.command(["/usr/bin/docker", "info", "--format", "{{json .}}"], '{"Runtimes":{"runc":{}}}')
    replay = load(h.write())
    r = probe_host(replay.root, replay.runner, {}, replay.user)
    (docker,) = [e for e in r.container.engines if e.name == "docker"]
    assert (docker.client_path, docker.client_version) == ("/usr/bin/docker", "20.10.24+dfsg1")
    assert (docker.build_mode, docker.buildkit_usable, docker.runtimes) == (
        "buildkit",
        True,
        ["runc"],
    )
    assert "no-buildx" not in codes(r)
    assert ("/bin/docker", "version", "--format", "{{json .}}") not in replay.runner.calls


def test_no_buildkit_route_names_a_fix_that_exists(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.command(["which", "-a", "docker"], "/usr/bin/docker\n")
    h.command(DOCKER_VERSION, _docker_version("24.0.5", "24.0.5"))
    h.command(["docker", "buildx", "version"], "", returncode=1, stderr="not a docker command")
    r = h.report()
    (docker,) = r.container.engines
    assert (docker.client_path, docker.build_mode, docker.buildkit_usable) == (
        "/usr/bin/docker",
        "legacy",
        False,
    )
    (finding,) = [f for f in r.findings if f.code == "no-buildx"]
    assert "docker-buildx-plugin" in (finding.fix or "")
    assert "apt install docker-buildx" not in (finding.fix or "")
    assert finding.evidence == ["not a docker command"]


def test_buildx_on_a_later_client_wins(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.command(["which", "-a", "docker"], "/usr/local/bin/docker\n/opt/d/docker\n")
    h.command(DOCKER_VERSION, _docker_version("20.10.5", "26.1.0"))
    h.command(["docker", "buildx", "version"], "", returncode=1)
    h.command(["docker", "info", "--format", "{{json .}}"], "{}")
    h.command(
        ["/opt/d/docker", "version", "--format", "{{json .}}"], _docker_version("26.1.0", "26.1.0")
    )
    h.command(["/opt/d/docker", "buildx", "version"], "github.com/docker/buildx v0.14.0 171fcbe\n")
    h.command(["/opt/d/docker", "info", "--format", "{{json .}}"], '{"DockerRootDir":"/d"}')
    (docker,) = h.report().container.engines
    assert (docker.client_path, docker.build_mode, docker.buildx_version, docker.data_root) == (
        "/opt/d/docker",
        "buildx",
        "0.14.0",
        "/d",
    )
