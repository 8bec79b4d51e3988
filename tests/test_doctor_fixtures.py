"""`hwdock doctor` against every recorded host (tests/fixtures/hosts), with and without a plan.

Each host's expected findings are listed below (checks not named must be ok or skip); a
recorded host without an entry here fails the test, so new fixtures get expectations.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hwdock.doctor.checks import run_checks
from hwdock.doctor.model import Check
from tests.conftest import FIXTURES, HOSTS

TREE = FIXTURES / "trees" / "vllm-current"

# host -> (findings without a plan, findings with a plan for the vLLM tree): {check: status}
EXPECTED: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    # no engine recorded on these hosts
    "amd-old-kernel": ({"engine": "fail"}, {"engine": "fail"}),
    # the plan passes only the Arc card's render node, not the UHD 630 iGPU's
    "intel-arc-igpu": ({"engine": "fail"}, {"engine": "fail"}),
    "wsl2-nvidia": ({"engine": "fail"}, {"engine": "fail", "plan:driver-minor-compat": "warn"}),
    "cpu-avx2": ({}, {}),
    "cpu-avx512": ({}, {}),
    # CUDA_VISIBLE_DEVICES=0,1,2,3 hides four of the eight GPUs; the plan takes the visible four
    "h100-8-no-nvml": (
        {"visible-devices": "warn"},
        {"plan:driver-minor-compat": "warn"},
    ),
    # no buildx on the Jetson; vLLM's Dockerfile needs BuildKit (RUN --mount)
    "jetson-orin": ({"buildkit": "warn"}, {"buildkit": "fail"}),
    # the user is not in group render: /dev/kfd and the render nodes are 0660 root:render
    # free disk (invented figures): 72 GB leaves under the 5 GB margin after ~70 GB of images
    "mi250-2gcd": (
        {"buildkit": "warn", "device-access": "warn"},
        {"buildkit": "warn", "device-access": "warn", "disk": "warn"},
    ),
    "mi300x-8": ({}, {}),
    # amdgpu is loaded but bound to none of the eight GPUs: no render nodes
    "mi300x-unbound": (
        {"gpu": "fail", "device-access": "fail"},
        {"gpu": "fail", "device-access": "fail", "plan:gpu-driver-unbound": "fail"},
    ),
    "rtx4090": ({}, {"plan:driver-minor-compat": "warn"}),
    # ROCR_VISIBLE_DEVICES=0 hides the gfx1036 iGPU;
    # HSA_OVERRIDE_GFX_VERSION=11.0.0 is the 7900 XTX's own target
    # 43 GB free (invented) cannot hold the ROCm base and app images (~70 GB)
    "rx7900xtx-igpu": ({}, {"disk": "fail"}),
    # gfx1151 needs a newer ROCm than the published base
    "strix-halo": ({}, {"plan:rocm-too-old": "fail"}),
    # /dev/nvidia* are 0660 root:video and the user is not in video; driver 470 is too old
    "v100-old-driver": (
        {"device-access": "warn"},
        {"device-access": "warn", "plan:driver-too-old": "fail"},
    ),
}


def _hosts() -> list[str]:
    return (
        sorted(p.name for p in HOSTS.iterdir() if (p / "meta.json").is_file())
        if HOSTS.is_dir()
        else []
    )


def _findings(checks: list[Check]) -> dict[str, str]:
    return {c.id: c.status for c in checks if c.status in ("warn", "fail")}


def _need_hosts() -> None:
    if not _hosts():
        pytest.skip("tests/fixtures/hosts is not in this checkout yet")


def test_every_recorded_host_has_expectations() -> None:
    _need_hosts()
    assert sorted(set(_hosts()) - set(EXPECTED)) == []
    assert sorted(set(EXPECTED) - set(_hosts())) == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_doctor_on_recorded_host(name: str) -> None:
    _need_hosts()
    from hwdock.plan import make_plan
    from hwdock.plan.options import PlanOptions
    from hwdock.probe.capture import replay

    host = replay(HOSTS / name)
    without, with_plan = EXPECTED[name]
    checks = run_checks(host, None)
    assert _findings(checks) == without
    for c in checks:
        if c.status in ("warn", "fail"):
            assert c.fix or c.id.startswith("plan:"), f"{c.id} has no fix"
    plan = make_plan(host, PlanOptions(source=Path(TREE)))
    assert _findings(run_checks(host, plan)) == with_plan


def test_device_access_fix_names_the_group() -> None:
    _need_hosts()
    from hwdock.probe.capture import replay

    c = {c.id: c for c in run_checks(replay(HOSTS / "mi250-2gcd"), None)}["device-access"]
    assert c.fix == "sudo usermod -aG render $USER, then log in again"
    v100 = {c.id: c for c in run_checks(replay(HOSTS / "v100-old-driver"), None)}["device-access"]
    assert v100.fix == "sudo usermod -aG video $USER, then log in again"


@pytest.mark.parametrize(
    ("name", "status", "text"),
    [
        ("mi300x-8", "ok", "2901 GB free on /var/lib/docker"),
        ("rtx4090", "ok", "850 GB free on /var/lib/docker"),
        ("mi250-2gcd", "warn", "leaves less than 5 GB free on /var/lib/docker"),
        ("rx7900xtx-igpu", "fail", "~70 GB needed, 43 GB free on /var/lib/docker"),
    ],
)
def test_disk_check_on_hosts_with_disk_figures(name: str, status: str, text: str) -> None:
    _need_hosts()
    from hwdock.plan import make_plan
    from hwdock.plan.options import PlanOptions
    from hwdock.probe.capture import replay

    host = replay(HOSTS / name)
    disk = {c.id: c for c in run_checks(host, make_plan(host, PlanOptions(source=TREE)))}["disk"]
    assert (disk.status, text in disk.message) == (status, True), disk.message
    assert disk.evidence[0].startswith("/var/lib/docker: ")
    if status != "ok":
        assert disk.fix and "/var/lib/docker" in disk.fix
