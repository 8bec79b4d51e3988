"""`hwdock doctor` as a process: saved host report and plan in, table or JSON out."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.doctor_hosts import GB, h100x8, rocm_plan, rx7900_with_igpu


def _doctor(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hwdock", "doctor", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def _write(tmp: Path, name: str, doc: dict) -> str:
    path = tmp / name
    path.write_text(json.dumps(doc))
    return str(path)


def test_failing_check_exits_1_and_names_the_fix(tmp_path: Path) -> None:
    host = rx7900_with_igpu()
    host.disks[0].free_bytes = 50 * GB
    plan = rocm_plan(host, ["0000:03:00.0"])
    out = _doctor(
        "--host",
        _write(tmp_path, "h.json", host.to_dict()),
        "--plan",
        _write(tmp_path, "p.json", plan.to_dict()),
    )
    assert out.returncode == 1, out.stderr
    assert "disk" in out.stdout and "fail" in out.stdout
    assert "docker system prune" in out.stdout


def test_json_document(tmp_path: Path) -> None:
    host = h100x8(cuda_driver="12.8")
    out = _doctor("--host", _write(tmp_path, "h.json", host.to_dict()), "--json")
    assert out.returncode == 0, out.stdout + out.stderr
    doc = json.loads(out.stdout)
    assert doc["kind"] == "doctor-report" and doc["schema_version"] == 1
    assert doc["ok"] is True and doc["plan"] is None
    assert doc["host_source"].startswith("report:")
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["gpu-runtime"]["status"] == "ok"
    assert checks["disk"]["status"] == "skip"


def test_bad_inputs_are_input_errors_without_traceback(tmp_path: Path) -> None:
    out = _doctor("--host", str(tmp_path / "missing.json"))
    assert out.returncode == 3 and "missing.json: no such file" in out.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    out = _doctor("--host", str(bad))
    assert out.returncode == 3 and "bad.json:1: not JSON" in out.stderr
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"kind": "host-report"}))
    out = _doctor("--host", _write(tmp_path, "h.json", h100x8().to_dict()), "--plan", str(plan))
    assert out.returncode == 3 and "not a plan" in out.stderr
    for o in (out,):
        assert "Traceback" not in o.stderr


def test_host_and_capture_together_is_a_usage_error(tmp_path: Path) -> None:
    out = _doctor("--host", "a.json", "--from", str(tmp_path))
    assert out.returncode == 2
    assert "not both" in out.stderr


def test_source_and_capture_make_the_plan() -> None:
    from tests.conftest import FIXTURES, HOSTS

    out = _doctor(
        str(FIXTURES / "trees" / "vllm-current"), "--from", str(HOSTS / "strix-halo"), "--json"
    )
    assert out.returncode == 1, out.stderr
    doc = json.loads(out.stdout)
    assert doc["plan"]["platform"] == "rocm"
    assert doc["host_source"].startswith("capture:")
    checks = {c["id"]: c for c in doc["checks"]}
    assert checks["plan:rocm-too-old"]["status"] == "fail"
    assert "gfx1151" in checks["plan:rocm-too-old"]["message"]
