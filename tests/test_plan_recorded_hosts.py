"""Plans for the recorded hosts (tests/fixtures/hosts, replayed by the probe) against the
vLLM-shaped trees: the decisions each must get."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwdock.plan import make_plan
from hwdock.plan.decide_route import ARCH_LABEL, host_covered
from hwdock.plan.options import PlanOptions

ROOT = Path(__file__).parent / "fixtures"
HOSTS = ROOT / "hosts"
TREES = ROOT / "trees"

pytestmark = pytest.mark.skipif(not HOSTS.is_dir(), reason="no recorded hosts in this checkout")


def host(name: str):
    from hwdock.probe import probe_capture

    return probe_capture(HOSTS / name)


def plan(name: str, tree: str = "vllm-current", **kw):
    return make_plan(host(name), PlanOptions(source=TREES / tree, **kw))


def codes(p) -> set[str]:
    return {f.code for f in [*p.verdicts, *p.warnings]}


def test_mi300x_8():
    p = plan("mi300x-8")
    assert p.route == "build-app-on-published-base"
    assert len(p.accelerators) == 8
    assert p.steps[-1].build_args["ARG_PYTORCH_ROCM_ARCH"] == "gfx942"
    assert p.run is not None and len(p.run.devices) == 9 and p.run.devices[0] == "/dev/kfd"


def test_mi250_two_gcds_are_two_gpus():
    p = plan("mi250-2gcd")
    assert len(p.accelerators) == 2
    assert p.steps[-1].build_args["ARG_PYTORCH_ROCM_ARCH"] == "gfx90a"


def test_rx7900_igpu_left_out_and_override_warned():
    p = plan("rx7900xtx-igpu")
    assert p.accelerators == ["0000:03:00.0"]  # the iGPU is hidden by ROCR_VISIBLE_DEVICES
    assert any(d.key == "hidden-gpus" for d in p.decisions)
    assert p.steps[-1].build_args["ARG_PYTORCH_ROCM_ARCH"] == "gfx1100"
    assert "hsa-override" in codes(p)
    assert p.run is not None and p.run.group_add  # numeric render gid from the capture


def test_strix_halo_needs_newer_rocm_than_the_fixture_base():
    p = plan("strix-halo")
    assert p.route == "build-base-and-app"
    assert "rocm-too-old" in codes(p)


def test_old_kernel_gfx908_builds_its_base():
    p = plan("amd-old-kernel")
    assert p.route == "build-base-and-app"
    assert p.steps[0].build_args["PYTORCH_ROCM_ARCH"] == "gfx908"


def test_unbound_gpus_are_an_error():
    p = plan("mi300x-unbound")
    assert "gpu-driver-unbound" in codes(p)
    assert "render-node-unknown" in codes(p)


def test_h100_only_visible_gpus():
    p = plan("h100-8-no-nvml")
    assert len(p.accelerators) == 4  # CUDA_VISIBLE_DEVICES=0,1,2,3 in the capture
    assert p.steps[0].build_args["torch_cuda_arch_list"] == "9.0"
    assert p.run is not None and p.run.gpus and p.run.gpus.startswith("device=")
    assert p.run.runtime is None  # x86: --gpus, no runtime


def test_rtx4090_uses_cdi_when_specs_exist():
    p = plan("rtx4090")
    assert p.steps[0].build_args["torch_cuda_arch_list"] == "8.9"
    assert p.run is not None and p.run.cdi_devices == ["nvidia.com/gpu=all"]


def test_v100_old_driver():
    assert "driver-too-old" in codes(plan("v100-old-driver"))


def test_jetson_from_source():
    p = plan("jetson-orin")
    assert p.route == "build-from-source"
    assert p.steps[0].build_args["TORCH_CUDA_ARCH_LIST"] == "8.7"
    # CSV mode refuses --gpus on Jetson: the nvidia runtime (tests/test_jetson_runtime.py)
    assert p.run is not None and p.run.runtime == "nvidia" and p.run.gpus is None


def test_cpu_hosts():
    avx2 = plan("cpu-avx2")
    assert avx2.platform == "cpu"
    assert avx2.steps[0].build_args["VLLM_CPU_DISABLE_AVX512"] == "true"
    avx512 = plan("cpu-avx512")
    assert avx512.steps[0].build_args["VLLM_CPU_DISABLE_AVX512"] == "false"
    assert "cpu-image-not-portable" in codes(avx512)


def test_intel_arc_is_xpu():
    p = plan("intel-arc-igpu")
    assert p.platform == "xpu"
    assert p.steps[0].dockerfile == "docker/Dockerfile.xpu"
    assert (
        p.run is not None
        and p.run.devices
        and all(d.startswith("/dev/dri/renderD") for d in p.run.devices)
    )


@pytest.mark.parametrize(
    "name", sorted(d.name for d in HOSTS.iterdir() if d.is_dir()) if HOSTS.is_dir() else []
)
@pytest.mark.parametrize("tree", ["vllm-current", "vllm-old"])
def test_every_recorded_host_gets_a_covering_plan(name, tree):
    from hwdock.errors import UsageError
    from hwdock.plan.context import Ctx

    try:
        p = plan(name, tree)
    except UsageError:
        pytest.skip("no plan for this pair (usage error with a hint)")
    errors = {v.code for v in p.verdicts if v.severity == "error"}
    h = host(name)
    chosen = [a for a in h.accelerators if a.key in p.accelerators]
    ctx = Ctx(h, PlanOptions(), None, p.platform, chosen, lambda r: False, lambda r: None)
    for step in p.steps:
        arch = step.labels.get(ARCH_LABEL)
        if arch is not None and p.platform in ("cuda", "rocm"):
            assert host_covered(ctx, arch) or "arch-not-covered" in errors
