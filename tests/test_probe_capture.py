"""Capture then replay: the replayed report equals the one seen while capturing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hwdock.errors import InputError
from hwdock.probe.capture import RecordingRoot, load, record, record_with, replay
from hwdock.probe.context import User
from hwdock.probe.nvidia import SMI_FIELDS, smi_argv
from hwdock.probe.root import DeviceNode, DiskUsage
from hwdock.probe.runner import CommandResult, RecordingRunner, ReplayRunner
from tests.test_probe_amd import mi300x_host


def _strip(d: dict) -> dict:
    d = dict(d)
    d.pop("source")
    return d


def test_round_trip_of_a_fake_tree(tmp_path: Path) -> None:
    tree = mi300x_host(tmp_path / "tree", 2)
    tree.file("/etc/unrelated.conf", "never read\n")
    tree.file(
        "/etc/cdi/amd.json",
        json.dumps(
            {
                "cdiVersion": "0.6.0",
                "kind": "amd.com/gpu",
                "devices": [{"name": "0"}, {"name": "all"}],
            }
        ),
    )
    tree.pci("0000:b1:00.0", "0x10de", "0x2335", "0x030200", driver="nvidia")
    tree.file("/sys/module/nvidia/version", "570.124.06\n")
    tree.write()
    devices = [DeviceNode.from_dict(d) for d in tree.devices]
    commands = [
        CommandResult(
            tuple(smi_argv(SMI_FIELDS)),
            "00000000:B1:00.0, NVIDIA H200, 9.0, 143771, 570.124.06, GPU-f00d\n",
        ),
        CommandResult(
            ("docker", "version", "--format", "{{json .}}"),
            '{"Client":{"Version":"26.1.3"},"Server":{"Version":"26.1.3"}}',
        ),
        CommandResult(
            ("docker", "buildx", "version"), "github.com/docker/buildx v0.14.0 171fcbe\n"
        ),
        CommandResult(
            ("docker", "info", "--format", "{{json .}}"),
            '{"DockerRootDir":"/var/lib/docker","Runtimes":{"runc":{},"nvidia":{}}}',
        ),
    ]
    disks = [DiskUsage("/var/lib/docker", 10**12, 4 * 10**11)]
    dest = tmp_path / "capture"
    dest.mkdir()
    rec_root = RecordingRoot(dest, tree.root, devices=devices, disks=disks)
    rec_runner = RecordingRunner(ReplayRunner(commands))
    env = {"CUDA_VISIBLE_DEVICES": "0"}
    seen = record_with(
        dest,
        rec_root,
        rec_runner,
        env,
        User(1000, 1000, [1000, 109]),
        {"machine": "x86_64", "description": "round trip"},
    )
    replayed = replay(dest)
    assert _strip(replayed.to_dict()) == _strip(seen.to_dict())
    assert len(seen.accelerators) == 3 and seen.disks[0].free_bytes == 4 * 10**11
    assert seen.container.cdi_specs[0].devices == ["amd.com/gpu=0", "amd.com/gpu=all"]
    # only what the probe read is in the capture, symlinks stay symlinks
    root = dest / "root"
    assert not (root / "etc/unrelated.conf").exists()
    link = root / "sys/bus/pci/devices/0000:11:00.0/driver"
    assert link.is_symlink() and os.readlink(link).endswith("/amdgpu")
    meta = json.loads((dest / "meta.json").read_text())
    assert meta["format"] == "hwdock-capture" and meta["version"] == 1
    assert meta["env"] == env and meta["user"]["groups"] == [1000, 109]
    assert meta["disks"] == [
        {"path": "/var/lib/docker", "total_bytes": 10**12, "free_bytes": 4 * 10**11}
    ]
    cmds = json.loads((dest / "commands.json").read_text())
    assert [c["argv"][0] for c in cmds].count("docker") == 3
    assert any(c["argv"][0] == "podman" and c["returncode"] == 127 for c in cmds)
    devs = json.loads((dest / "devices.json").read_text())
    assert {d["path"] for d in devs} >= {"/dev/kfd", "/dev/dri/renderD128"}
    assert next(d for d in devs if d["path"] == "/dev/kfd")["mode"] == "0666"


def test_live_capture_replays_to_the_same_report(tmp_path: Path) -> None:
    dest = tmp_path / "live"
    seen = record(dest, description="test machine")
    replayed = replay(dest)
    assert _strip(replayed.to_dict()) == _strip(seen.to_dict())
    assert replayed.source == f"capture:{dest}"
    assert seen.cpu.logical_cores == os.cpu_count()
    assert (dest / "root/proc/cpuinfo").is_file()
    with pytest.raises(InputError, match="not empty"):
        record(dest)
    record(dest, force=True)


def test_load_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such capture directory"):
        load(tmp_path / "nope")
    (tmp_path / "c").mkdir()
    with pytest.raises(InputError, match=r"meta\.json is missing"):
        load(tmp_path / "c")
    (tmp_path / "c/meta.json").write_text('{"format": "hwdock-capture",\n "version": }')
    with pytest.raises(InputError, match=r"meta.json:2: meta.json is not valid JSON"):
        load(tmp_path / "c")
    (tmp_path / "c/meta.json").write_text('{"format": "hwdock-capture", "version": 99}')
    with pytest.raises(InputError, match="newer"):
        load(tmp_path / "c")
    (tmp_path / "c/meta.json").write_text('{"format": "hwdock-capture", "version": 1}')
    (tmp_path / "c/devices.json").write_text('[{"nopath": 1}]')
    with pytest.raises(InputError, match=r"devices\.json entry 0"):
        load(tmp_path / "c")


def test_replay_runner_answers_unknown_commands_as_not_found() -> None:
    r = ReplayRunner([CommandResult(("a", "b"), "out")])
    assert r.run(["a", "b"]).stdout == "out"
    missing = r.run(["a", "c"])
    assert missing.returncode == 127 and missing.missing
    assert r.calls == [("a", "b"), ("a", "c")]
