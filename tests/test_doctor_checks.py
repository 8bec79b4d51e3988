"""`run_checks(host, plan)`: each check's verdict on hosts and plans built in code."""

from __future__ import annotations

import dataclasses

import pytest

from hwdock.doctor.checks import parse_size, run_checks, tensor_parallel_size
from hwdock.doctor.model import Check, document
from hwdock.findings import Finding
from hwdock.plan.model import Plan, RunSpec
from hwdock.probe.model import ContainerSide, Engine, HostReport
from tests.support.doctor_hosts import (
    GB,
    GIB,
    access,
    cuda_plan,
    docker,
    h100x8,
    rocm_plan,
    rx7900_with_igpu,
)

DGPU = "0000:03:00.0"


def by_id(checks: list[Check]) -> dict[str, Check]:
    return {c.id: c for c in checks}


def test_healthy_rocm_host_and_plan_has_no_failure() -> None:
    host = rx7900_with_igpu()
    checks = by_id(run_checks(host, rocm_plan(host, [DGPU])))
    assert [c.id for c in checks.values() if c.status == "fail"] == []
    assert checks["engine"].status == "ok"
    assert checks["device-access"].status == "ok"
    assert "2 device node" in checks["device-access"].message
    assert checks["igpu-order"].status == "ok"
    assert checks["build-memory"].status == "ok"


def test_kfd_not_writable_on_rootless_engine_fails_with_group_to_join() -> None:
    host = rx7900_with_igpu(kfd_ok=False)
    host.container.engines[0].rootless = True
    c = by_id(run_checks(host, rocm_plan(host, [DGPU])))["device-access"]
    assert c.status == "fail"
    assert "/dev/kfd" in c.message
    assert c.fix == "sudo usermod -aG render $USER, then log in again"


def test_kfd_not_writable_on_rootful_engine_warns() -> None:
    host = rx7900_with_igpu(kfd_ok=False)
    c = by_id(run_checks(host, rocm_plan(host, [DGPU])))["device-access"]
    assert c.status == "warn"
    assert "usermod -aG render" in (c.fix or "")


def test_missing_kfd_fails_with_driver_fix() -> None:
    host = rx7900_with_igpu()
    host.device_access[0] = access("/dev/kfd", exists=False)
    c = by_id(run_checks(host, rocm_plan(host, [DGPU])))["device-access"]
    assert c.status == "fail"
    assert "/dev/kfd does not exist" in c.message
    assert "modprobe amdgpu" in (c.fix or "")


def test_run_flags_without_the_render_group_warn() -> None:
    host = rx7900_with_igpu()
    run = RunSpec(image="x", devices=["/dev/kfd", "/dev/dri/renderD128"], group_add=[], ipc="host")
    c = by_id(run_checks(host, rocm_plan(host, [DGPU], run=run)))["device-access"]
    assert c.status == "warn"
    assert c.fix == "add `--group-add 109` to the run flags"


def test_whole_dri_passes_the_igpu_that_rocm_enumerates_first() -> None:
    host = rx7900_with_igpu()
    run = RunSpec(image="x", devices=["/dev/kfd", "/dev/dri"], group_add=[109], ipc="host")
    c = by_id(run_checks(host, rocm_plan(host, [DGPU], run=run)))["igpu-order"]
    assert c.status == "fail"
    assert "device 0 would be the iGPU" in c.message
    assert "--device /dev/dri/renderD128" in (c.fix or "")


def test_igpu_before_discrete_without_plan_suggests_visible_devices() -> None:
    c = by_id(run_checks(rx7900_with_igpu(), None))["igpu-order"]
    assert c.status == "warn"
    assert "ROCR_VISIBLE_DEVICES=1" in (c.fix or "")


def test_hidden_igpu_is_not_a_problem() -> None:
    host = rx7900_with_igpu()
    host.accelerators[0].visible = False
    host.env["ROCR_VISIBLE_DEVICES"] = "1"
    checks = by_id(run_checks(host, None))
    assert checks["igpu-order"].status == "ok"
    assert checks["visible-devices"].status == "ok"


@pytest.mark.parametrize(
    ("override", "arch", "status", "text"),
    [
        ("10.3.0", "gfx1100", "fail", "gfx1030, which the image lacks"),
        ("11.0.0", "gfx1100", "ok", "the GPU's own target gfx1100"),
        ("11.0.0", "gfx1030;gfx1100", "ok", "own target"),
        ("eleven", "gfx1100", "fail", "not a version"),
    ],
)
def test_hsa_override(override: str, arch: str, status: str, text: str) -> None:
    host = rx7900_with_igpu()
    host.env["HSA_OVERRIDE_GFX_VERSION"] = override
    c = by_id(run_checks(host, rocm_plan(host, [DGPU], arch=arch)))["hsa-override"]
    assert (c.status, text in c.message) == (status, True), c.message


def test_hsa_override_that_is_not_needed_warns() -> None:
    host = rx7900_with_igpu()
    host.accelerators[1].gfx_target = "gfx1101"
    host.env["HSA_OVERRIDE_GFX_VERSION"] = "11.0.0"
    c = by_id(run_checks(host, rocm_plan(host, [DGPU], arch="gfx1100;gfx1101")))["hsa-override"]
    assert c.status == "warn" and "already has the GPU's own target" in c.message


def test_hsa_override_on_a_gpu_the_image_lacks_but_the_target_has() -> None:
    host = rx7900_with_igpu()
    host.accelerators[1].gfx_target = "gfx1101"
    host.env["HSA_OVERRIDE_GFX_VERSION"] = "11.0.0"
    c = by_id(run_checks(host, rocm_plan(host, [DGPU], arch="gfx1100")))["hsa-override"]
    assert c.status == "ok"


def test_visible_devices_hiding_the_chosen_gpu_fail() -> None:
    host = rx7900_with_igpu()
    host.accelerators[1].visible = False
    host.env["HIP_VISIBLE_DEVICES"] = "0"
    c = by_id(run_checks(host, rocm_plan(host, [DGPU])))["visible-devices"]
    assert c.status == "fail"
    assert DGPU in c.message
    assert c.fix == "unset HIP_VISIBLE_DEVICES"


def test_empty_visible_devices_in_run_env_hides_everything() -> None:
    host = h100x8()
    plan = cuda_plan(host, cuda="12.4")
    assert plan.run is not None
    plan.run.env["CUDA_VISIBLE_DEVICES"] = ""
    c = by_id(run_checks(host, plan))["visible-devices"]
    assert c.status == "fail" and "every GPU" in c.message


def test_cuda_driver_too_old_for_the_image() -> None:
    host = h100x8(cuda_driver="12.4")
    c = by_id(run_checks(host, cuda_plan(host, cuda="12.8.1")))["driver"]
    assert c.status == "fail"
    assert "supports only 12.4" in c.message
    assert "CUDA 12.8.1" in (c.fix or "")


def test_cuda_driver_new_enough() -> None:
    host = h100x8(cuda_driver="12.8")
    assert by_id(run_checks(host, cuda_plan(host, cuda="12.8.1")))["driver"].status == "ok"


def test_missing_nvidia_toolkit_fails_the_gpus_flag() -> None:
    host = h100x8(toolkit=False)
    c = by_id(run_checks(host, cuda_plan(host, cuda="12.4")))["gpu-runtime"]
    assert c.status == "fail"
    assert "nvidia-ctk runtime configure" in (c.fix or "")


def _cdi_plan(host: HostReport, devices: list[str]) -> Plan:
    run = RunSpec(image="x", cdi_devices=devices, ipc="host")
    return cuda_plan(host, cuda="12.4", run=run)


def test_cdi_spec_missing() -> None:
    host = h100x8(cdi=False)
    c = by_id(run_checks(host, _cdi_plan(host, ["nvidia.com/gpu=all"])))["gpu-runtime"]
    assert c.status == "fail"
    assert "nvidia-ctk cdi generate" in (c.fix or "")


def test_cdi_on_old_docker_fails_and_disabled_cdi_fails() -> None:
    host = h100x8(cdi=True)
    host.container.engines[0] = docker(server_version="24.0.7", runtimes=["runc"])
    c = by_id(run_checks(host, _cdi_plan(host, ["nvidia.com/gpu=0"])))["gpu-runtime"]
    assert c.status == "fail" and "needs 25.0+" in c.message
    host.container.engines[0] = docker(server_version="27.3.1", cdi_enabled=False)
    c = by_id(run_checks(host, _cdi_plan(host, ["nvidia.com/gpu=0"])))["gpu-runtime"]
    assert c.status == "fail" and '"cdi": true' in (c.fix or "")
    host.container.engines[0] = docker(server_version="27.3.1", cdi_enabled=True)
    c = by_id(run_checks(host, _cdi_plan(host, ["nvidia.com/gpu=0"])))["gpu-runtime"]
    assert c.status == "ok"


def test_podman_uses_cdi_natively() -> None:
    host = h100x8(cdi=True, toolkit=False)
    host.container.engines[0] = Engine(name="podman", server_version="5.2.2", runtimes=["crun"])
    checks = by_id(run_checks(host, cuda_plan(host, cuda="12.4")))
    assert checks["gpu-runtime"].status == "ok"
    assert checks["buildkit"].status == "ok"


@pytest.mark.parametrize(
    ("ipc", "shm", "tp", "status"),
    [
        (None, None, 8, "fail"),
        (None, "64m", 2, "fail"),
        (None, "16g", 8, "ok"),
        ("host", None, 8, "ok"),
        (None, None, 1, "warn"),
    ],
)
def test_shared_memory_for_tensor_parallelism(
    ipc: str | None, shm: str | None, tp: int, status: str
) -> None:
    host = h100x8(cuda_driver="12.8")
    run = RunSpec(
        image="x", gpus="all", ipc=ipc, shm_size=shm, command=["--tensor-parallel-size", str(tp)]
    )
    plan = cuda_plan(host, run=run)
    plan.accelerators = plan.accelerators[:tp]
    c = by_id(run_checks(host, plan))["shm"]
    assert c.status == status, c.message
    if status != "ok":
        assert "--ipc=host" in (c.fix or "")


def test_disk_too_small_for_a_rocm_base() -> None:
    host = rx7900_with_igpu()
    host.disks[0].free_bytes = 50 * GB
    c = by_id(run_checks(host, rocm_plan(host, [DGPU])))["disk"]
    assert c.status == "fail"
    assert "50 GB free" in c.message
    assert any("ROCm-docker/issues/120" in e for e in c.evidence)


def test_build_memory_oom_suggests_max_jobs() -> None:
    host = h100x8(cuda_driver="12.8")
    host.cpu.memory_available_bytes = 100 * GIB
    c = by_id(run_checks(host, cuda_plan(host)))["build-memory"]
    assert c.status == "fail"
    assert "max_jobs=32" in " ".join(c.evidence)
    assert c.fix == "build with --build-arg MAX_JOBS=12 and nvcc_threads=1"


def test_max_jobs_unset_means_one_job_per_core() -> None:
    host = rx7900_with_igpu()
    plan = rocm_plan(host, [DGPU])
    del plan.steps[1].build_args["MAX_JOBS"]
    host.cpu.memory_available_bytes = 16 * GIB
    c = by_id(run_checks(host, plan))["build-memory"]
    assert c.status == "fail"
    assert c.evidence[0] == "MAX_JOBS unset: one job per core"
    assert c.fix == "build with --build-arg MAX_JOBS=4"


def test_no_engine_and_silent_engine() -> None:
    host = rx7900_with_igpu()
    host.container = ContainerSide()
    assert by_id(run_checks(host, None))["engine"].status == "fail"
    host.container = ContainerSide(engines=[docker(server_version=None)])
    c = by_id(run_checks(host, None))["engine"]
    assert c.status == "fail" and "did not answer" in c.message
    assert by_id(run_checks(host, None))["buildkit"].status == "skip"


def test_buildkit_needed_but_missing() -> None:
    host = rx7900_with_igpu()
    host.container.engines[0] = docker(buildkit_usable=False, buildx_version=None)
    c = by_id(run_checks(host, rocm_plan(host, [DGPU])))["buildkit"]
    assert c.status == "fail" and "app" in c.message
    assert "docker-buildx-plugin" in (c.fix or "") and "/usr/bin/docker" in (c.fix or "")
    plan = rocm_plan(host, [DGPU])
    plan.steps[1].needs_buildkit = False
    assert by_id(run_checks(host, plan))["buildkit"].status == "warn"


def test_buildkit_built_into_an_old_client_counts() -> None:
    """What the probe reports on a host whose chosen client is Debian's 20.10 (no buildx)."""
    host = rx7900_with_igpu()
    host.container.engines[0] = docker(
        client_version="20.10.24+dfsg1",
        server_version="20.10.24+dfsg1",
        buildx_version=None,
        buildkit_usable=True,
        build_mode="buildkit",
    )
    c = by_id(run_checks(host, rocm_plan(host, [DGPU])))["buildkit"]
    assert c.status == "ok" and "built into the client" in c.message
    assert c.evidence[0] == "/usr/bin/docker client 20.10.24+dfsg1, daemon 20.10.24+dfsg1"


def test_plan_verdicts_become_checks() -> None:
    host = rx7900_with_igpu()
    plan = rocm_plan(host, [DGPU])
    plan.verdicts = [
        Finding(
            "arch-not-covered",
            "gfx1100 is not in the base image's arch list",
            "error",
            "build the base",
        )
    ]
    c = by_id(run_checks(host, plan))["plan:arch-not-covered"]
    assert (c.status, c.fix) == ("fail", "build the base")


def test_cpu_plan_needs_no_gpu() -> None:
    host = rx7900_with_igpu()
    plan = Plan(recipe="vllm", platform="cpu", route="build", run=RunSpec(image="x", shm_size="4g"))
    checks = by_id(run_checks(host, plan))
    assert checks["gpu"].status == "skip"
    assert "device-access" not in checks
    assert "igpu-order" not in checks


def test_plan_for_a_gpu_the_host_lacks() -> None:
    host = rx7900_with_igpu()
    plan = cuda_plan(h100x8())
    assert by_id(run_checks(host, plan))["gpu"].status == "fail"


def test_empty_report_never_raises() -> None:
    checks = run_checks(HostReport(), None)
    assert by_id(checks)["engine"].status == "fail"
    empty_plan = Plan(recipe="generic", platform="rocm", route="build")
    assert run_checks(HostReport(), empty_plan)


def test_document_summary() -> None:
    host = h100x8(cuda_driver="12.4")
    checks = run_checks(host, cuda_plan(host, cuda="12.8.1"))
    doc = document("doctor-report", checks, host="dgx")
    assert doc["kind"] == "doctor-report" and doc["schema_version"] == 1
    assert doc["ok"] is False
    assert doc["summary"]["fail"] == 1
    assert sum(doc["summary"].values()) == len(doc["checks"])
    assert {c["status"] for c in doc["checks"]} <= {"ok", "warn", "fail", "skip"}


def test_helpers() -> None:
    assert parse_size("16g") == 16 * GIB
    assert parse_size("64m") == 64 * 1024**2
    assert parse_size("1gb") == GIB
    assert parse_size("lots") is None
    assert tensor_parallel_size(["--model", "m", "--tensor-parallel-size", "4"]) == 4
    assert tensor_parallel_size(["-tp=2"]) == 2
    assert tensor_parallel_size(["--model", "m"]) is None


def test_checks_do_not_mutate_their_inputs() -> None:
    host = rx7900_with_igpu()
    plan = rocm_plan(host, [DGPU])
    before = (dataclasses.asdict(host), dataclasses.asdict(plan))
    run_checks(host, plan)
    assert (dataclasses.asdict(host), dataclasses.asdict(plan)) == before


def test_gpu_without_a_bound_driver_fails() -> None:
    host = rx7900_with_igpu()
    host.accelerators[1].kernel_driver = None
    host.accelerators[1].render_node = None
    checks = by_id(run_checks(host, rocm_plan(host, [DGPU])))
    assert checks["gpu"].status == "fail" and "no kernel driver bound" in checks["gpu"].message
    assert "modprobe amdgpu" in (checks["gpu"].fix or "")
    assert checks["device-access"].status == "fail"
    assert checks["driver"].status == "skip"


def test_driver_floor_from_cuda_toml_when_the_driver_cuda_is_unknown() -> None:
    host = h100x8(cuda_driver="12.4")
    host.drivers[0].cuda_driver_version = None
    host.drivers[0].version = "535.183.01"
    c = by_id(run_checks(host, cuda_plan(host, cuda="12.8.1")))["driver"]
    assert c.status == "fail"
    assert "needed by CUDA 12.8.1" in c.message
    assert any("docs.nvidia.com" in e for e in c.evidence)
    host.drivers[0].version = "575.51.03"
    assert by_id(run_checks(host, cuda_plan(host, cuda="12.8.1")))["driver"].status == "ok"
