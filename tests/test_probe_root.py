"""The filesystem view: live device nodes and disks, replayed devices, listings and links."""

from __future__ import annotations

import os
from pathlib import Path

from hwdock.probe.root import DeviceNode, DiskUsage, Root


def test_live_device_node_and_disk() -> None:
    root = Root("/")
    null = root.device("/dev/null")
    assert null is not None and (null.type, null.major, null.minor) == ("char", 1, 3)
    assert null.mode == 0o666 and null.readable and null.writable
    assert root.device("/dev/hwdock-no-such-node") is None
    usage = root.disk_usage("/no/such/dir/below/root")  # falls back to the nearest ancestor
    assert usage is not None and 0 < usage.free_bytes <= usage.total_bytes
    assert "null" in root.device_names("/dev")


def test_replayed_devices_and_disks(tmp_path: Path) -> None:
    nodes = [
        DeviceNode.from_dict(
            {
                "path": "/dev/dri/renderD128",
                "type": "char",
                "major": 226,
                "minor": 128,
                "mode": "0660",
                "uid": 0,
                "gid": 109,
            }
        ),
        DeviceNode("/dev/kfd", "char", 234, 0, 0o666),
    ]
    root = Root(
        tmp_path,
        devices=nodes,
        disks=[DiskUsage("/", 100, 50), DiskUsage("/var/lib/docker", 10, 5)],
    )
    assert root.device_names("/dev/dri") == ["renderD128"]
    assert root.device_names("/dev") == ["kfd"]
    assert root.device("/dev/kfd") == DeviceNode.from_dict(nodes[1].to_dict())
    assert root.disk_usage("/var/lib/docker/overlay2").total_bytes == 10
    assert root.disk_usage("/home").total_bytes == 100
    assert Root(tmp_path, devices=[]).devices_known is False


def test_listing_links_and_escapes(tmp_path: Path) -> None:
    (tmp_path / "sys/x").mkdir(parents=True)
    (tmp_path / "sys/x/b").write_text("2")
    (tmp_path / "sys/x/a").write_text("1")
    os.symlink("../../../bus/pci/drivers/amdgpu", tmp_path / "sys/x/driver")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    outside.mkdir()
    os.symlink(outside, tmp_path / "sys/out")
    root = Root(tmp_path, devices=[])
    assert root.listdir("/sys/x") == ["a", "b", "driver"]
    assert root.readlink("/sys/x/driver") == "../../../bus/pci/drivers/amdgpu"
    assert root.readlink("/sys/x/a") is None and root.problems == []
    assert root.read_text("/sys/x/b") == "2" and root.read_text("/sys/x/none") is None
    assert root.listdir("/sys/out") is None
    assert root.problems == [("/sys/out", "points outside the captured tree; ignored")]
