"""`hwdock plan` as a user runs it: a host report file, a tree, --json / --script / people."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from hwdock.errors import ExitCode
from tests.support import hosts as H

ROOT = Path(__file__).resolve().parent.parent
TREES = ROOT / "tests" / "fixtures" / "trees"


def hwdock(*args: str) -> subprocess.CompletedProcess[str]:
    env = {"PYTHONPATH": str(ROOT / "src"), "PATH": "/usr/bin:/bin", "HOME": "/tmp"}
    return subprocess.run(
        [sys.executable, "-m", "hwdock", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


@pytest.fixture()
def host_file(tmp_path):
    def write(host) -> str:
        path = tmp_path / f"{host.hostname}.json"
        path.write_text(json.dumps(host.to_dict()))
        return str(path)

    return write


def test_json_plan_for_recorded_host(host_file):
    proc = hwdock(
        "plan",
        str(TREES / "vllm-current"),
        "--host",
        host_file(H.mi300x_8()),
        "--json",
        "--no-engine",
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "plan" and doc["schema_version"] == 1
    assert doc["route"] == "build-app-on-published-base"
    assert doc["steps"][-1]["build_args"]["ARG_PYTORCH_ROCM_ARCH"] == "gfx942"


def test_people_output_lists_steps_and_reasons(host_file):
    proc = hwdock(
        "plan", str(TREES / "vllm-current"), "--host", host_file(H.h100_8()), "--no-engine"
    )
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "route" in out and "build-app-on-published-base" in out
    assert "torch_cuda_arch_list=9.0" in out
    assert "docker build" in out and "docker run" in out


def test_incompatible_plan_exit_code(host_file):
    proc = hwdock(
        "plan",
        str(TREES / "vllm-current"),
        "--host",
        host_file(H.v100_old()),
        "--json",
        "--no-engine",
    )
    assert proc.returncode == ExitCode.INCOMPATIBLE
    doc = json.loads(proc.stdout)
    assert any(v["code"] == "driver-too-old" for v in doc["verdicts"])


def test_script_output(host_file):
    proc = hwdock(
        "plan",
        str(TREES / "vllm-current"),
        "--host",
        host_file(H.cpu_avx2()),
        "--script",
        "--build-arg",
        "EXTRA=a b $(c)",
        "--no-engine",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("#!/bin/sh\n")
    assert "'EXTRA=a b $(c)'" in proc.stdout


def test_ambiguous_vendors_is_a_usage_error(host_file):
    proc = hwdock(
        "plan",
        str(TREES / "vllm-current"),
        "--host",
        host_file(H.mixed_amd_nvidia()),
        "--no-engine",
    )
    assert proc.returncode == ExitCode.USAGE
    assert "--gpu" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_host_report(tmp_path):
    bad = tmp_path / "h.json"
    bad.write_text("{not json")
    proc = hwdock("plan", str(TREES / "generic"), "--host", str(bad), "--no-engine")
    assert proc.returncode == ExitCode.INPUT
    assert f"{bad}:1:" in proc.stderr and "Traceback" not in proc.stderr


def test_bad_build_arg(host_file):
    proc = hwdock(
        "plan",
        str(TREES / "generic"),
        "--host",
        host_file(H.rtx4090()),
        "--build-arg",
        "NOEQ",
        "--no-engine",
    )
    assert proc.returncode == ExitCode.USAGE and "KEY=VALUE" in proc.stderr


def test_missing_source_folder(host_file, tmp_path):
    proc = hwdock("plan", str(tmp_path / "nope"), "--host", host_file(H.rtx4090()))
    assert proc.returncode == ExitCode.INPUT and "not a folder" in proc.stderr


def test_generic_tree_without_dockerfile(host_file, tmp_path):
    proc = hwdock("plan", str(tmp_path), "--host", host_file(H.rtx4090()), "--no-engine")
    assert proc.returncode == ExitCode.INPUT and "no Dockerfile" in proc.stderr


def test_unknown_customize(host_file):
    proc = hwdock(
        "plan",
        str(TREES / "vllm-current"),
        "--host",
        host_file(H.mi250()),
        "--customize",
        "kernel",
        "--no-engine",
    )
    assert proc.returncode == ExitCode.USAGE and "choose from" in proc.stderr


def test_plan_command_registered_lazily():
    # cli.py imports only typer; the plan modules load when the command runs
    code = (
        "import sys, hwdock.cli as c; c._register([]); "
        "print('hwdock.plan.make' in sys.modules, 'rich' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT / "src")},
    )
    assert proc.stdout.split() == ["False", "False"], proc.stderr


def test_from_capture():
    capture = ROOT / "tests" / "fixtures" / "hosts" / "mi250-2gcd"
    if not capture.is_dir():
        pytest.skip("no recorded hosts in this checkout")
    proc = hwdock(
        "plan", str(TREES / "vllm-current"), "--from", str(capture), "--json", "--no-engine"
    )
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["steps"][-1]["build_args"]["ARG_PYTORCH_ROCM_ARCH"] == "gfx90a"
    assert len(doc["accelerators"]) == 2


def test_host_and_from_together(host_file):
    proc = hwdock("plan", "--host", host_file(H.mi250()), "--from", "/tmp", "--no-engine")
    assert proc.returncode == ExitCode.USAGE


def test_json_fast_path_matches_typer(host_file, monkeypatch):
    """`plan --json` is parsed by hand (entry.py); an argv it hands over gives the same plan."""
    from hwdock.commands.plan import fast_path

    host = host_file(H.mi300x_8())
    opts = ["--host", host, "--no-engine", "--gpu", "0", "--build-arg", "A=1", "-t", "me/x:1"]
    quick = hwdock("plan", str(TREES / "vllm-current"), *opts, "--port=9000", "--json")
    # a repeated single option is not the fast path's: typer parses this argv (the last wins)
    typed = hwdock(
        "plan", str(TREES / "vllm-current"), *opts, "--port", "1", "--port", "9000", "--json"
    )
    assert quick.returncode == typed.returncode == 0, quick.stderr + typed.stderr
    doc = json.loads(quick.stdout)
    assert doc == json.loads(typed.stdout)
    assert doc["steps"][-1]["image"] == "me/x:1" and doc["steps"][-1]["build_args"]["A"] == "1"
    assert doc["run"]["ports"] == [[9000, 8000]]
    ran: list[object] = []
    monkeypatch.setattr("hwdock.commands.plan.run_plan", lambda *a, **kw: ran.append(kw))
    for args in (
        ["--host", host],  # the people's view
        ["--json", "--help"],
        ["--json", "--port", "x"],
        ["--json", "a", "b"],
        ["--json", "--json"],
        ["--json", "--host"],
        ["--json", "--bogus"],
    ):
        assert fast_path(args) is None, args
    assert ran == []
    bad = hwdock("plan", "--json", "--port", "x", "--host", host)
    assert bad.returncode == ExitCode.USAGE and "Traceback" not in bad.stderr
