"""`hwdock probe` and `hwdock capture` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from hwdock.probe.model import HostReport
from tests.test_probe_amd import mi300x_host

SRC = str(Path(__file__).resolve().parent.parent / "src")


def hwdock(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": SRC, "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "hwdock", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def test_probe_json_from_capture(tmp_path: Path) -> None:
    cap = mi300x_host(tmp_path, 2).write()
    out = hwdock("probe", "--json", "--from", str(cap))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["kind"] == "host-report" and doc["schema_version"] == 1
    assert [a["gfx_target"] for a in doc["accelerators"]] == ["gfx942", "gfx942"]
    assert HostReport.from_dict(doc).to_dict() == doc


def test_probe_tables_for_people(tmp_path: Path) -> None:
    h = mi300x_host(tmp_path, 1)
    h.devices[0]["mode"] = "0660"
    out = hwdock("probe", "--from", str(h.write()))
    assert out.returncode == 0, out.stderr
    for text in (
        "0000:11:00.0",
        "AMD Instinct MI300X",
        "gfx942",
        "192.0 GiB",
        "/dev/dri/renderD128",
        "kfd-not-writable",
        "fix: sudo usermod -aG render $USER, then log in again",
        "Fake Xeon",
    ):
        assert text in out.stdout, text


def test_probe_from_a_missing_dir_is_an_input_error(tmp_path: Path) -> None:
    out = hwdock("probe", "--from", str(tmp_path / "missing"))
    assert out.returncode == 3
    assert "no such capture directory" in out.stderr and "Traceback" not in out.stderr


def test_capture_then_probe_from(tmp_path: Path) -> None:
    dest = tmp_path / "cap"
    out = hwdock("capture", str(dest), "--description", "cli test")
    assert out.returncode == 0, out.stderr
    assert "replay with `hwdock probe --from" in out.stdout
    assert json.loads((dest / "meta.json").read_text())["description"] == "cli test"
    again = hwdock("capture", str(dest))
    assert again.returncode == 3 and "--force" in again.stderr
    replayed = hwdock("probe", "--json", "--from", str(dest))
    assert replayed.returncode == 0
    assert json.loads(replayed.stdout)["cpu"]["logical_cores"] == os.cpu_count()


def test_live_probe_of_this_machine() -> None:
    out = hwdock("probe", "--json")
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["source"] == "live" and doc["cpu"]["logical_cores"] == os.cpu_count()
    assert doc["kernel"] == os.uname().release
    assert "probe-collector-failed" not in {f["code"] for f in doc["findings"]}
    assert "probe-read-failed" not in {f["code"] for f in doc["findings"]}


def test_fast_path_matches_typer(tmp_path: Path) -> None:
    from hwdock.commands.probe import fast_path

    cap = str(mi300x_host(tmp_path, 2).write())
    quick = hwdock("probe", "--json", f"--from={cap}")
    typed = hwdock("probe", "--json", "--from", cap, "--timeout", "5")  # typer parses this one
    assert quick.returncode == typed.returncode == 0
    assert json.loads(quick.stdout) == json.loads(typed.stdout)
    for args in (
        ["--from", cap],
        ["--json", "--from"],
        ["--json", "--bogus"],
        ["--json", "--json"],
        ["--help"],
        ["--json", "--from", "--json"],
    ):
        assert fast_path(args) is None, args
    bad = hwdock("probe", "--json", "--bogus")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
