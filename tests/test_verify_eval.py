"""verify without an engine: the run spec, the script's own Python part, the evaluation."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hwdock.doctor import verify as v
from hwdock.doctor.model import Check
from hwdock.plan.model import RunSpec
from hwdock.probe.model import Accelerator, HostReport
from tests.support.doctor_hosts import h100x8, rx7900_with_igpu

FAKE_TORCH = Path(__file__).parent / "support" / "fake_torch"
DGPU = "0000:03:00.0"


def by_id(checks: list[Check]) -> dict[str, Check]:
    return {c.id: c for c in checks}


def _req(devices: list[str] | None = None, **kw: Any) -> v.VerifyRequest:
    spec = RunSpec(image="img", devices=devices or [], group_add=[109])
    return v.prepare("img", spec, exists=lambda p: True, **kw)


def _records(*docs: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"check": "start", "uid": "0", "gids": "0 109"}, *docs, {"check": "end"}]


def _eval(
    records: list[dict[str, Any]], host: HostReport | None = None, **kw: Any
) -> dict[str, Check]:
    host = host or rx7900_with_igpu()
    kw.setdefault("req", _req(["/dev/kfd"]))
    kw.setdefault("image_environment", {})
    chosen = kw.pop("chosen", [a for a in host.accelerators if a.key == DGPU])
    raw = kw.pop("raw", [])
    return by_id(v.evaluate(records, raw, host=host, plan=None, returncode=0, chosen=chosen, **kw))


TORCH_ROCM = {"check": "torch", "found": True, "version": "2.5.1", "hip": "6.2", "cuda": None}
PY = {"check": "python", "found": True, "path": "/usr/bin/python3"}


def _gpu(arch: str = "gfx1100", count: int = 1) -> dict[str, Any]:
    devs = [{"index": 0, "name": "RX 7900 XTX", "gcn_arch": arch, "capability": "11.0"}]
    return {"check": "gpu", "count": count, "available": bool(count), "devices": devs[:count]}


def test_parse_output_keeps_log_lines_apart() -> None:
    out = (
        '{"check":"start","uid":"0","gids":"0"}\nhello\n{"not":"ours"}\n{"check":"end"}\n{broken\n'
    )
    records, raw = v.parse_output(out)
    assert [r["check"] for r in records] == ["start", "end"]
    assert raw == ["hello", '{"not":"ours"}', "{broken"]


def test_container_that_does_not_start_gets_the_known_fix() -> None:
    stderr = (
        "docker: Error response from daemon: "
        'could not select device driver "" with capabilities: [[gpu]].'
    )
    host = h100x8()
    checks = by_id(
        v.evaluate(
            [],
            [],
            host=host,
            plan=None,
            req=_req(),
            image_environment={},
            returncode=125,
            stderr=stderr,
        )
    )
    assert checks["container"].status == "fail"
    assert "nvidia-ctk runtime configure" in (checks["container"].fix or "")
    assert checks["log:nvidia-toolkit-missing"].status == "fail"


def test_no_gpu_visible_is_a_failure_with_the_device_fix() -> None:
    checks = _eval(_records(PY, TORCH_ROCM, {"check": "arch-list", "items": []}, _gpu(count=0)))
    c = checks["gpu-visible"]
    assert c.status == "fail" and "torch sees no GPU" in c.message
    assert "device flags" in (c.fix or "")
    assert checks["kernel"].status == "skip"


def test_no_gpu_on_host_says_so() -> None:
    checks = _eval(_records(PY, TORCH_ROCM, _gpu(count=0)), host=HostReport(), chosen=[])
    assert checks["gpu-visible"].status == "fail"
    assert "no GPU on this host" in checks["gpu-visible"].message
    assert checks["arch-coverage"].status == "skip"


def test_no_python_and_no_torch_are_skips_with_reasons() -> None:
    checks = _eval(_records({"check": "python", "found": False}))
    assert (checks["python"].status, checks["python"].message) == ("skip", "no python in image")
    assert checks["gpu-visible"].message == "could not check: no python in image"
    assert checks["kernel"].status == "skip"
    checks = _eval(_records(PY, {"check": "torch", "found": False, "error": "ModuleNotFoundError"}))
    assert (checks["torch"].status, checks["torch"].message) == ("skip", "no torch in image")
    assert checks["gpu-visible"].message == "could not check: no torch in image"


def test_arch_not_covered_by_torch_list() -> None:
    recs = _records(PY, TORCH_ROCM, {"check": "arch-list", "items": ["gfx90a", "gfx942"]}, _gpu())
    c = _eval(recs)["arch-coverage"]
    assert c.status == "fail"
    assert "gfx1100" in c.message and "not covered by torch.cuda.get_arch_list()" in c.message
    assert "PYTORCH_ROCM_ARCH" in (c.fix or "")


def test_image_env_must_cover_too() -> None:
    recs = _records(PY, TORCH_ROCM, {"check": "arch-list", "items": ["gfx1100", "gfx942"]}, _gpu())
    c = _eval(recs, image_environment={"PYTORCH_ROCM_ARCH": "gfx90a;gfx942"})["arch-coverage"]
    assert c.status == "fail" and "image ENV PYTORCH_ROCM_ARCH" in c.message
    c = _eval(recs, image_environment={"PYTORCH_ROCM_ARCH": "gfx942;gfx1100"})["arch-coverage"]
    assert c.status == "ok"


def test_arch_label_of_an_hwdock_image_is_read() -> None:
    """Images hwdock built carry dev.hwdock.arch; verify reads it when no ENV names a list."""
    inspect = {
        "Config": {
            "Env": ["PATH=/usr/bin"],
            "Labels": {"dev.hwdock.arch": "gfx90a;gfx942", "org.other.arch": "gfx1100"},
        }
    }
    env = v.image_env(inspect)
    assert env == {"PATH": "/usr/bin", "dev.hwdock.arch": "gfx90a;gfx942"}
    recs = _records(PY, TORCH_ROCM, _gpu())
    c = _eval(recs, image_environment=env)["arch-coverage"]
    assert c.status == "fail" and "image label dev.hwdock.arch" in c.message


def test_labels_hwdock_plans_use_one_namespace() -> None:
    from hwdock import label_names
    from hwdock.engine.labels import PLAN_HASH_LABEL
    from hwdock.plan.decide_build_args import CPU_ISA_LABEL
    from hwdock.plan.decide_route import ARCH_LABEL, PLATFORM_LABEL

    names = [ARCH_LABEL, PLATFORM_LABEL, CPU_ISA_LABEL, PLAN_HASH_LABEL, label_names.VERSION]
    assert all(n.startswith("dev.hwdock.") for n in names)
    assert PLAN_HASH_LABEL == label_names.PLAN_HASH


def test_hsa_override_changes_the_target() -> None:
    recs = _records(PY, TORCH_ROCM, {"check": "arch-list", "items": ["gfx1030"]}, _gpu("gfx1030"))
    env_rec = {"check": "env", "name": "HSA_OVERRIDE_GFX_VERSION", "value": "10.3.0"}
    assert _eval(recs)["arch-coverage"].status == "fail"
    assert _eval([*recs[:-1], env_rec, recs[-1]])["arch-coverage"].status == "ok"


@pytest.mark.parametrize(
    ("items", "cc", "ok"),
    [
        (["sm_80", "sm_86", "sm_90"], "8.9", True),
        (["sm_80", "sm_90"], "12.0", False),
        (["sm_80", "compute_90"], "12.0", True),
        (["sm_90a"], "9.0", True),
        (["sm_90a"], "10.0", False),
    ],
)
def test_cuda_coverage(items: list[str], cc: str, ok: bool) -> None:
    host = h100x8()
    acc = Accelerator(vendor="nvidia", pci_address="0000:01:00.0", compute_capability=cc)
    torch = {"check": "torch", "found": True, "version": "2.6", "hip": None, "cuda": "12.6"}
    gpu = {"check": "gpu", "count": 1, "devices": [{"name": "GPU", "capability": cc}]}
    recs = _records(PY, torch, {"check": "arch-list", "items": items}, gpu)
    c = _eval(recs, host=host, chosen=[acc], req=_req())["arch-coverage"]
    assert c.status == ("ok" if ok else "fail")


def test_platform_mismatch() -> None:
    torch = {"check": "torch", "found": True, "version": "2.6", "hip": None, "cuda": "12.6"}
    c = _eval(_records(PY, torch, _gpu()))["gpu-visible"]
    assert c.status == "fail" and "built for CUDA" in c.message


def test_kernel_error_is_explained() -> None:
    kernel = {"check": "kernel", "ok": False, "error": "HIP error: invalid device function"}
    c = _eval(_records(PY, TORCH_ROCM, _gpu(), kernel))["kernel"]
    assert c.status == "fail"
    assert "PYTORCH_ROCM_ARCH" in (c.fix or "")


def test_devices_inside_the_container() -> None:
    req = _req(["/dev/kfd", "/dev/dri/renderD128"])
    recs = _records(
        {
            "check": "device",
            "path": "/dev/kfd",
            "exists": True,
            "char": True,
            "readable": True,
            "writable": True,
        },
        {
            "check": "device",
            "path": "/dev/dri/renderD128",
            "exists": True,
            "char": True,
            "readable": False,
            "writable": False,
        },
    )
    checks = _eval(recs, req=req)
    assert checks["device:/dev/kfd"].status == "ok"
    assert checks["device:/dev/dri/renderD128"].status == "fail"
    assert "--group-add" in (checks["device:/dev/dri/renderD128"].fix or "")


def test_groups_missing_warn() -> None:
    recs = [{"check": "start", "uid": "1000", "gids": "1000"}, {"check": "end"}]
    assert _eval(recs)["groups"].status == "warn"


def test_log_lines_are_explained() -> None:
    checks = _eval(_records(PY), raw=["Illegal instruction (core dumped)"])
    assert checks["log:illegal-instruction"].status == "fail"


def test_prepare_drops_missing_nodes_and_lets_explicit_devices_replace() -> None:
    spec = RunSpec(image="x", devices=["/dev/kfd", "/dev/dri/renderD128"], command=["--model", "m"])
    req = v.prepare(
        "img",
        spec,
        extra_devices=["/tmp/fake:/dev/kfd"],
        exists=lambda p: p == "/tmp/fake",
        serve=True,
        port=8001,
        image_config={"Entrypoint": ["vllm", "serve"], "Cmd": ["--help"]},
    )
    assert req.spec.devices == ["/tmp/fake:/dev/kfd"]
    assert req.missing_on_host == ["/dev/dri/renderD128"]
    assert req.expected_devices == ["/dev/kfd"]
    assert req.spec.env["HWDOCK_DEVICES"] == "/dev/kfd"
    assert req.spec.env["HWDOCK_SERVE_PORT"] == "8001"
    assert req.serve_command == ["vllm", "serve", "--model", "m"]
    assert req.entrypoint == "/bin/sh"
    assert spec.devices == ["/dev/kfd", "/dev/dri/renderD128"]


def test_default_run_spec_per_vendor() -> None:
    host = rx7900_with_igpu()
    spec = v.default_run_spec(host, [a for a in host.accelerators if a.key == DGPU], "img")
    assert spec.devices == ["/dev/kfd", "/dev/dri/renderD128"]
    assert spec.group_add == [109]
    nv = h100x8()
    assert v.default_run_spec(nv, nv.accelerators, "img").gpus == "all"
    nv_cdi = h100x8(cdi=True)
    assert v.default_run_spec(nv_cdi, nv_cdi.accelerators, "img").cdi_devices == [
        "nvidia.com/gpu=all"
    ]


def test_script_is_valid_sh_with_the_python_part_inside() -> None:
    script = v.check_script()
    assert "@HWDOCK_PYTHON_PART@" not in script
    assert "get_arch_list" in script
    out = subprocess.run(["sh", "-n", "-c", script], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def _python_part(env: dict[str, str]) -> list[dict[str, Any]]:
    code = (Path(v.__file__).parent / "verify_check.py").read_text()
    full = {**os.environ, **env}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=full, timeout=60
    )
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()]


def test_python_part_without_torch() -> None:
    recs = _python_part({"PYTHONPATH": ""})
    assert recs[0]["check"] == "torch" and recs[0]["found"] is False


def test_python_part_with_a_framework_that_sees_no_gpu() -> None:
    recs = _python_part({"PYTHONPATH": str(FAKE_TORCH), "FAKE_TORCH_DEVICES": "0"})
    kinds = {r["check"]: r for r in recs}
    assert kinds["torch"]["hip"] == "6.2.41133"
    assert kinds["gpu"]["count"] == 0
    assert "kernel" not in kinds


def test_python_part_with_a_gpu_and_a_failing_kernel() -> None:
    recs = _python_part(
        {
            "PYTHONPATH": str(FAKE_TORCH),
            "FAKE_TORCH_DEVICES": "1",
            "FAKE_TORCH_ARCH": "gfx1100",
            "FAKE_TORCH_ARCH_LIST": "gfx90a,gfx942",
            "FAKE_TORCH_KERNEL_ERROR": "HIP error: invalid device function",
        }
    )
    kinds = {r["check"]: r for r in recs}
    assert kinds["gpu"]["devices"][0]["gcn_arch"] == "gfx1100"
    assert kinds["arch-list"]["items"] == ["gfx90a", "gfx942"]
    assert kinds["kernel"] == {
        "check": "kernel",
        "ok": False,
        "error": "HIP error: invalid device function",
    }
    checks = _eval(_records(PY, *recs))
    assert checks["arch-coverage"].status == "fail"
    assert checks["kernel"].status == "fail"


def test_python_part_kernel_runs() -> None:
    recs = _python_part({"PYTHONPATH": str(FAKE_TORCH), "FAKE_TORCH_DEVICES": "1"})
    assert {"check": "kernel", "ok": True, "value": 1047552.0} in recs


def test_cli_runner_argv() -> None:
    from hwdock.doctor.runner import CliRunner

    spec = RunSpec(
        image="img",
        name="n1",
        devices=["/tmp/f:/dev/kfd"],
        group_add=[109],
        ipc="host",
        shm_size="8g",
        env={"A": "1"},
        env_passthrough=["HF_TOKEN"],
    )
    argv = CliRunner("/usr/bin/docker").run_argv(spec, ["-c", "true"], entrypoint="/bin/sh")
    assert argv[:5] == ["/usr/bin/docker", "run", "--rm", "--name", "n1"]
    joined = " ".join(argv)
    assert "--entrypoint /bin/sh" in joined and "--device /tmp/f:/dev/kfd" in joined
    assert "--group-add 109" in joined and "--ipc host" in joined
    assert "--shm-size" not in joined  # meaningless with --ipc=host
    assert "-e A=1" in joined and "-e HF_TOKEN" in joined and "HF_TOKEN=" not in joined
    assert argv[-3:] == ["img", "-c", "true"]


def test_engine_runner_passes_the_entrypoint_and_names_the_container() -> None:
    from hwdock.doctor.runner import EngineRunner

    seen: dict[str, Any] = {}

    class FakeEngine:
        name = "docker"

        def run_argv(
            self, spec: RunSpec, command: list[str] | None, *, entrypoint: str | None
        ) -> list[str]:
            seen.update(name=spec.name, entrypoint=entrypoint, command=command)
            return ["sh", "-c", "echo ran"]

        def image_inspect(self, ref: str) -> dict[str, Any] | None:
            return {"Config": {"Env": ["PYTORCH_ROCM_ARCH=gfx942"]}}

    runner = EngineRunner(FakeEngine())
    done = runner.run(RunSpec(image="img"), ["x"], timeout=30, entrypoint="/bin/sh")
    assert done.stdout.strip() == "ran"
    assert seen["entrypoint"] == "/bin/sh" and seen["command"] == ["x"]
    assert str(seen["name"]).startswith("hwdock-verify-")
    assert v.image_env(runner.image_inspect("img")) == {"PYTORCH_ROCM_ARCH": "gfx942"}


def test_python_crash_and_early_stop_are_failures() -> None:
    recs = _records(PY, {"check": "python-exit", "code": 132})
    c = _eval(recs, raw=["Illegal instruction (core dumped)"])
    assert c["python-crash"].status == "fail"
    assert "SIGILL" in c["python-crash"].message
    assert c["log:illegal-instruction"].status == "fail"
    assert "finished" not in c
    stopped = _eval(_records(PY)[:-1], stderr="timed out after 5s")
    assert stopped["finished"].status == "fail"
    assert "timed out after 5s" in stopped["finished"].evidence


def test_missing_bind_mounts_are_left_out_and_reported() -> None:
    from hwdock.plan.model import Mount

    spec = RunSpec(
        image="x",
        mounts=[
            Mount("/models/absent", "/models", read_only=True),
            Mount("hwdock-hf-cache", "/root/.cache/huggingface", kind="volume"),
        ],
    )
    req = v.prepare("img", spec, exists=lambda p: False)
    assert [m.kind for m in req.spec.mounts] == ["volume"]
    assert req.skipped_mounts == ["/models/absent"]
    checks = _eval(_records(), req=req)
    assert checks["mounts"].status == "warn" and "/models/absent" in checks["mounts"].message
