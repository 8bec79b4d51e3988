"""The GPU knowledge tables: every fact sourced, ids well-formed and consistent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hwdock.knowledge import load
from hwdock.probe import tables
from hwdock.probe.amd import decode_gfx_target_version, encode_gfx_target

ID = re.compile(r"^0x[0-9a-f]{4}$")


@pytest.mark.parametrize("name", ["amd_gpus", "nvidia_gpus", "pci_vendors"])
def test_every_entry_has_a_source_url(name: str) -> None:
    data = load(name)
    entries = [e for section in data.values() if isinstance(section, list) for e in section]
    assert entries
    for e in entries:
        assert e.get("source", "").startswith("https://"), e


def test_amd_table() -> None:
    data = load("amd_gpus")
    ids = [d["id"] for d in data["devices"]]
    assert len(ids) == len(set(ids)) and all(ID.match(i) for i in ids)
    targets = {t["gfx_target"]: t for t in data["targets"]}
    for t in targets.values():
        assert decode_gfx_target_version(t["kfd_version"]) == t["gfx_target"]
        assert encode_gfx_target(t["gfx_target"]) == t["kfd_version"]
    for d in data["devices"]:
        assert d["gfx_target"] in targets, d
    expect = {
        "0x74a1": ("gfx942", False),
        "0x74a0": ("gfx942", True),
        "0x740c": ("gfx90a", False),
        "0x7408": ("gfx90a", False),
        "0x740f": ("gfx90a", False),
        "0x738c": ("gfx908", False),
        "0x744c": ("gfx1100", False),
        "0x75a3": ("gfx950", False),
        "0x74a5": ("gfx942", False),
        "0x1586": ("gfx1151", True),
        "0x15bf": ("gfx1103", True),
        "0x164e": ("gfx1036", True),
    }
    for dev, (gfx, apu) in expect.items():
        entry = tables.amd_device(dev)
        assert entry is not None and (entry["gfx_target"], entry["apu"]) == (gfx, apu), dev


def test_nvidia_table() -> None:
    data = load("nvidia_gpus")
    ids = [d["id"] for d in data["devices"]]
    assert len(ids) == len(set(ids)) and all(ID.match(i) for i in ids)
    expect = {
        "0x2330": "9.0",
        "0x2331": "9.0",
        "0x2335": "9.0",
        "0x20b0": "8.0",
        "0x20b2": "8.0",
        "0x20f1": "8.0",
        "0x1db1": "7.0",
        "0x1db4": "7.0",
        "0x1db5": "7.0",
        "0x2684": "8.9",
        "0x2204": "8.6",
        "0x26b9": "8.9",
        "0x27b8": "8.9",
        "0x1eb8": "7.5",
        "0x2901": "10.0",
    }
    for dev, cc in expect.items():
        assert tables.nvidia_device(dev)["compute_capability"] == cc, dev
    assert tables.nvidia_by_name("NVIDIA GeForce RTX 4090")["id"] == "0x2684"
    assert tables.nvidia_by_name("Tesla V100-SXM2-32GB")["id"] == "0x1db5"
    assert tables.nvidia_by_name("Some Future GPU") is None


@pytest.mark.parametrize(
    ("driver", "cuda"),
    [
        ("550.54.15", "12.4"),
        ("550.54.14", "12.4"),
        ("535.183.01", "12.2"),
        ("570.86.15", "12.8"),
        ("418.87.01", "10.1"),
        ("580.65.06", "13.0"),
        ("300.1", None),
        ("junk", None),
    ],
)
def test_cuda_for_driver(driver: str, cuda: str | None) -> None:
    entry = tables.cuda_for_driver(driver)
    assert (entry["version"] if entry else None) == cuda


def test_jetson_socs_and_vendors() -> None:
    assert (
        tables.jetson_soc(["nvidia,p3737-0000", "nvidia,tegra234"])["compute_capability"] == "8.7"
    )
    assert tables.jetson_soc(["raspberrypi,4"]) is None
    assert tables.vendor("0x1002")["key"] == "amd"
    assert tables.vendor("0x1a03")["accelerator"] is False


def test_cuda_for_windows_driver_under_wsl() -> None:
    assert tables.cuda_for_driver("551.88", windows=True)["version"] == "12.4"
    assert tables.cuda_for_driver("536.99", windows=True)["version"] == "12.2"
    assert tables.cuda_for_driver("551.88")["version"] == "12.4"
    assert tables.cuda_for_driver("527.40", windows=True)["version"] == "11.8"


@pytest.mark.parametrize("name", ["amd_gpus", "nvidia_gpus", "pci_vendors"])
def test_compiled_twins_are_current(name: str) -> None:
    """The JSON twin must match its TOML (regenerate: python -m hwdock.knowledge)."""
    import json
    import tomllib
    import zlib

    from hwdock.knowledge import DATA

    raw = (Path(DATA) / f"{name}.toml").read_bytes()
    twin = json.loads((Path(DATA) / f"{name}.compiled.json").read_text())
    assert twin["toml_crc32"] == zlib.crc32(raw), "stale twin: run python -m hwdock.knowledge"
    assert twin["data"] == tomllib.loads(raw.decode())


def test_a_stale_twin_is_ignored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hwdock.knowledge as k

    (tmp_path / "t.toml").write_text('[[x]]\nid = "new"\nsource = "https://example.org"\n')
    (tmp_path / "t.compiled.json").write_text('{"toml_crc32": 1, "data": {"x": [{"id": "old"}]}}')
    monkeypatch.setattr(k, "DATA", str(tmp_path))
    k.load.cache_clear()
    try:
        assert k.load("t")["x"][0]["id"] == "new"
        k.compile_twin("t")
        k.load.cache_clear()
        assert k.load("t")["x"][0]["id"] == "new"
        assert '"new"' in (tmp_path / "t.compiled.json").read_text()
    finally:
        k.load.cache_clear()


def test_one_cuda_driver_table() -> None:
    """CUDA -> minimum driver lives only in cuda.toml; probe, plan and doctor agree on it."""
    from hwdock.doctor.checks import cuda_driver_floor
    from hwdock.knowledge import load
    from hwdock.plan import facts

    assert "cuda" not in load("nvidia_gpus")
    rows = load("cuda")["toolkit"]
    assert all(r["source"].startswith("https://docs.nvidia.com/") for r in rows)
    assert all("min_driver" in r and "min_windows_driver" in r for r in rows)
    for tk in facts.toolkits():  # every toolkit the plan can build on
        probe_row = tables.cuda_for_driver(tk["min_driver"])
        assert probe_row is not None and probe_row["version"] == tk["version"]
        assert cuda_driver_floor(tk["version"])[0] == tk["min_driver"]
    assert all("image_tag" in t for t in facts.toolkits())
    assert facts.toolkit("11.7") is None  # floors only: nothing the plan would build on
    assert tables.cuda_for_driver("516.01", windows=True)["version"] == "11.7"
