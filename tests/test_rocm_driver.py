"""amdgpu kernel driver against the image's ROCm (rocm.toml; plan verdicts; doctor's check)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from hwdock.doctor.checks import run_checks
from hwdock.knowledge import load
from hwdock.plan.amdgpu import kmd_release, rocm_driver_compat
from hwdock.probe.model import Driver
from tests.conftest import FIXTURES, HOSTS
from tests.support.doctor_hosts import rocm_plan, rx7900_with_igpu

DGPU = "0000:03:00.0"


def test_every_driver_fact_has_a_source() -> None:
    doc = load("rocm")
    for row in [*doc["amdgpu_dkms"], *doc["kmd_tested"], doc["kmd_window"]]:
        assert row["source"].startswith("https://")
    releases = doc["kmd_window"]["releases"]
    assert all(r["rocm"] in releases for r in doc["amdgpu_dkms"])
    assert kmd_release("6.10.5") == ("6.3", "https://github.com/ROCm/legacy-rocm-build/issues/4454")
    assert kmd_release("5.6.19") is None


@pytest.mark.parametrize(
    ("driver", "image", "verdict", "text"),
    [
        ("6.10.5", "6.3.1", "ok", "tested by AMD"),
        ("6.10.5", "7.0", "ok", "±2 releases"),
        ("6.8.5", "7.0", "driver-too-old", "ROCm 6.0 to 6.4"),
        ("6.8.5", "6.4.1", "ok", "±2"),
        ("6.16.6", "6.2", "driver-too-new", "ROCm 6.4 to 7.2"),
        ("6.10.5", None, "unknown", "image's ROCm is unknown"),
        ("5.6.19", "6.3", "unknown", "not in hwdock's driver table"),
        (None, "7.0", "unknown", "cannot be known"),
    ],
)
def test_rocm_driver_compat(driver: str | None, image: str | None, verdict: str, text: str) -> None:
    got = rocm_driver_compat(driver, image)
    assert got.verdict == verdict
    assert text in got.message
    if verdict.startswith("driver-"):
        assert got.fix and got.sources


def test_doctor_driver_check_uses_the_table() -> None:
    host = rx7900_with_igpu()  # amdgpu 6.8.5 (ROCm 6.2's driver)
    plan = rocm_plan(host, [DGPU])
    plan.steps[1].build_args["ROCM_VERSION"] = "7.0"
    c = {c.id: c for c in run_checks(host, plan)}["driver"]
    assert c.status == "warn" and "ROCm 6.0 to 6.4" in c.message
    assert "amdgpu-install --usecase=dkms" in (c.fix or "")
    plan.steps[1].build_args["ROCM_VERSION"] = "6.3"
    c = {c.id: c for c in run_checks(host, plan)}["driver"]
    assert c.status == "ok" and "tested by AMD" in c.message
    host = dataclasses.replace(host, drivers=[Driver(vendor="amd", flavor="in-kernel")])
    c = {c.id: c for c in run_checks(host, plan)}["driver"]
    assert c.status == "skip" and "cannot be known" in c.message


def test_plan_verdicts_on_recorded_hosts() -> None:
    from hwdock.plan import make_plan
    from hwdock.plan.options import PlanOptions
    from hwdock.probe.capture import replay

    tree = Path(FIXTURES / "trees" / "vllm-current")
    mi300 = replay(HOSTS / "mi300x-8")  # amdgpu 6.10.5 (ROCm 6.3), image ROCm 7.0
    verdicts = {f.code: f for f in make_plan(mi300, PlanOptions(source=tree)).verdicts}
    assert verdicts["rocm-driver-ok"].severity == "info"
    assert "image ROCm 7.0: " in " ".join(verdicts["rocm-driver-ok"].evidence)
    checks = {c.id: c for c in run_checks(mi300, make_plan(mi300, PlanOptions(source=tree)))}
    assert checks["driver"].status == "ok" and "ROCm 6.3" in checks["driver"].message
    old = dataclasses.replace(mi300, drivers=[Driver(vendor="amd", version="6.3.6")])
    verdicts = {f.code: f for f in make_plan(old, PlanOptions(source=tree)).verdicts}
    assert verdicts["rocm-driver-too-old"].severity == "warning"
    strix = replay(HOSTS / "strix-halo")  # in-kernel amdgpu
    codes = {f.code for f in make_plan(strix, PlanOptions(source=tree)).verdicts}
    assert "rocm-driver-unknown" in codes
