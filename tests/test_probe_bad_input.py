"""Bad input never stops the report: garbage files, directories where files belong, escaping
symlinks, missing folders, tools that hang or fail."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwdock.probe.context import User
from hwdock.probe.host import probe_host
from hwdock.probe.nvidia import SMI_FIELDS, smi_argv
from hwdock.probe.root import Root
from hwdock.probe.runner import CommandResult, LiveRunner, ReplayRunner
from tests.support.fakehost import FakeHost, codes

FILES = [
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/etc/os-release",
    "/proc/driver/nvidia/version",
    "/sys/module/nvidia/version",
    "/sys/bus/pci/devices/0000:01:00.0/class",
    "/sys/bus/pci/devices/0000:01:00.0/vendor",
    "/sys/bus/pci/devices/0000:01:00.0/device",
    "/sys/bus/pci/devices/0000:01:00.0/mem_info_vram_total",
    "/sys/class/kfd/kfd/topology/nodes/1/properties",
    "/sys/class/kfd/kfd/topology/nodes/1/mem_banks/0/properties",
    "/proc/driver/nvidia/gpus/0000:01:00.0/information",
    "/etc/nv_tegra_release",
    "/proc/device-tree/compatible",
    "/etc/cdi/nvidia.yaml",
    "/var/run/cdi/amd.json",
]


def test_empty_capture_gives_an_empty_report(tmp_path: Path) -> None:
    r = FakeHost(tmp_path / "cap").report()
    assert r.accelerators == [] and r.hostname == "fake" and r.kernel == "6.8.0-test"
    assert r.cpu.logical_cores is None and r.device_access == []


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.dictionaries(st.sampled_from(FILES), st.binary(max_size=300), min_size=1))
def test_garbage_files_never_raise(tmp_path: Path, files: dict[str, bytes]) -> None:
    d = tmp_path / f"cap{time.monotonic_ns()}"
    h = FakeHost(d)
    for path, data in files.items():
        h.file(path, data)
    r = h.report()
    json.dumps(r.to_dict())  # always serialisable
    assert "probe-collector-failed" not in codes(r), [f.message for f in r.findings]


def test_truncated_and_binary_files(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap")
    h.file("/proc/cpuinfo", "processor\t: 0\nflags\t\t: avx2 av")  # cut mid-line
    h.file("/sys/bus/pci/devices/0000:01:00.0/class", "0x030200")
    h.file("/sys/bus/pci/devices/0000:01:00.0/vendor", b"\xff\xfe\x00garbage")
    h.file("/sys/class/kfd/kfd/topology/nodes/1/properties", "")
    h.file("/proc/driver/nvidia/version", "NVRM version: something new\n")
    r = h.report()
    assert r.cpu.logical_cores == 1 and r.cpu.isa_level == "avx2"
    assert {"probe-read-failed", "kfd-properties-unreadable", "nvidia-version-unparsed"} <= set(
        codes(r)
    )
    read = next(f for f in r.findings if f.code == "probe-read-failed")
    assert "0000:01:00.0/vendor" in read.message and "UTF-8" in read.message


def test_directory_where_a_file_belongs_and_escaping_symlink(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap")
    h.dir_("/proc/cpuinfo")
    secret = tmp_path / "secret"
    secret.write_text("MemTotal: 1 kB\n")
    h.link("/proc/meminfo", str(secret))
    r = h.report()
    msgs = [f.message for f in r.findings if f.code == "probe-read-failed"]
    assert any("/proc/cpuinfo: is a directory" in m for m in msgs)
    assert any("/proc/meminfo: points outside the captured tree" in m for m in msgs)
    assert r.cpu.memory_total_bytes is None


def test_unreadable_file_is_a_warning(tmp_path: Path) -> None:
    base = tmp_path / "root"
    (base / "proc").mkdir(parents=True)
    f = base / "proc" / "cpuinfo"
    f.write_text("processor: 0\n")
    f.chmod(0)
    root = Root(base, devices=[])
    if os.geteuid() == 0:  # root reads anything; simulate the error through the same path
        root._problem("/proc/cpuinfo", "permission denied")
    else:
        assert root.read_text("/proc/cpuinfo") is None
    r = probe_host(root, ReplayRunner([]), {}, User(1000, 1000, []))
    assert any(
        f.code == "probe-read-failed" and "permission denied" in f.message for f in r.findings
    )


class ExplodingRunner:
    live = False

    def run(self, argv: list[str], timeout: float = 10.0) -> CommandResult:
        raise RuntimeError("boom")


def test_a_collector_that_raises_becomes_a_finding(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.file("/sys/module/nvidia/version", "550.54.15\n")
    cap = h.write()
    from hwdock.probe.capture import load

    c = load(cap)
    r = probe_host(c.root, ExplodingRunner(), {}, c.user)
    failed = [f for f in r.findings if f.code == "probe-collector-failed"]
    assert {f.evidence[0] for f in failed} == {"nvidia", "engines"}
    assert "RuntimeError: boom" in failed[0].message
    assert r.cpu.logical_cores == 4  # the other collectors still ran


def test_nonzero_exits_and_garbage_outputs(tmp_path: Path) -> None:
    h = FakeHost(tmp_path / "cap").cpu()
    h.file("/sys/module/nvidia/version", "550.54.15\n")
    h.command(smi_argv(SMI_FIELDS), "\x00\x01 not csv at all\n")
    h.command(
        ["docker", "version", "--format", "{{json .}}"],
        "{broken",
        returncode=1,
        stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock.",
    )
    h.command(["podman", "version", "--format", "json"], "[]", returncode=125)
    r = h.report()
    assert {"nvidia-smi-unparsed", "docker-daemon-unreachable"} <= set(codes(r))
    docker = next(e for e in r.container.engines if e.name == "docker")
    assert docker.server_version is None and docker.client_version is None


def test_live_runner_timeout_kills_the_tool(tmp_path: Path) -> None:
    script = tmp_path / "hang"
    script.write_text(
        f"#!{sys.executable}\nimport subprocess, time\n"
        "subprocess.Popen(['/bin/sleep', '30'])\ntime.sleep(30)\n"
    )
    script.chmod(0o755)
    runner = LiveRunner({"PATH": str(tmp_path)})  # nothing else (docker...) is found
    start = time.monotonic()
    result = runner.run(["hang"], timeout=0.5)
    assert time.monotonic() - start < 5
    assert result.timed_out and result.returncode == 124 and not result.ok
    assert runner.run(["no-such-tool-hwdock"]).returncode == 127
    out = LiveRunner({"PATH": "/usr/bin:/bin"}).run(["sh", "-c", "echo hi; echo err >&2; exit 3"])
    assert (out.stdout, out.stderr, out.returncode) == ("hi\n", "err\n", 3)


def test_hanging_tool_gives_a_warning_not_a_hang(tmp_path: Path) -> None:
    script = tmp_path / "nvidia-smi"
    script.write_text("#!/bin/sh\nexec /bin/sleep 30\n")
    script.chmod(0o755)
    base = tmp_path / "root"
    (base / "sys/module/nvidia").mkdir(parents=True)
    (base / "sys/module/nvidia/version").write_text("550.54.15\n")
    runner = LiveRunner({"PATH": str(tmp_path)})  # nothing else (docker...) is found
    start = time.monotonic()
    r = probe_host(Root(base, devices=[]), runner, {}, User(), timeout=0.5)
    assert time.monotonic() - start < 10
    assert "command-timed-out" in codes(r)
    assert r.drivers[0].version == "550.54.15"
