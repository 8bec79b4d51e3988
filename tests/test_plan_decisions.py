"""Expected decisions for recorded-host shapes × vLLM-shaped trees (tests/fixtures/trees)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwdock.errors import UsageError
from hwdock.plan import make_plan
from hwdock.plan.decide_route import ARCH_LABEL
from hwdock.plan.model import Plan
from hwdock.plan.options import PlanOptions
from tests.support import hosts as H

TREES = Path(__file__).parent / "fixtures" / "trees"


def plan(host, tree: str | None, **kw) -> Plan:
    source = TREES / tree if tree else None
    return make_plan(host, PlanOptions(source=source, **kw))


def decision(p: Plan, key: str) -> str:
    found = [d.what for d in p.decisions if d.key == key]
    assert found, f"no {key} decision in {[d.key for d in p.decisions]}"
    return found[0]


def codes(p: Plan) -> set[str]:
    return {f.code for f in [*p.verdicts, *p.warnings]}


# ---------------------------------------------------------------- AMD


def test_mi300x_current_tree_builds_app_on_published_base():
    p = plan(H.mi300x_8(), "vllm-current", model=Path("/models/llama"))
    assert p.platform == "rocm"
    assert p.route == "build-app-on-published-base"
    base, app = p.steps
    assert (base.id, base.action, base.image) == ("base", "pull", "rocm/vllm-dev:base")
    assert "Dockerfile.rocm_base build is skipped" in base.reason
    assert app.dockerfile == "docker/Dockerfile.rocm"
    assert app.depends_on == ["base"]
    assert app.build_args["ARG_PYTORCH_ROCM_ARCH"] == "gfx942"
    assert app.build_args["max_jobs"] == "192"
    assert app.image == "vllm-rocm:gfx942-local"
    assert not [v for v in p.verdicts if v.severity == "error"]
    # AITER and CK flash-attention cover gfx942: nothing to say
    assert "rocm-feature-unavailable" not in codes(p)
    run = p.run
    assert run is not None
    assert run.devices[0] == "/dev/kfd" and len(run.devices) == 9
    assert run.group_add == [H.RENDER_GID]
    assert run.command[:3] == ["vllm", "serve", "/models/llama"]
    assert run.command[-2:] == ["--tensor-parallel-size", "8"]
    assert run.privileged is False and run.cap_add == []


def test_mi300x_base_known_from_local_image_env():
    env = {"PYTORCH_ROCM_ARCH": "gfx942;gfx950"}
    p = make_plan(
        H.mi300x_8(),
        PlanOptions(source=TREES / "vllm-current"),
        local_images=lambda ref: ref == "rocm/vllm-dev:base",
        image_env=lambda ref: env if ref == "rocm/vllm-dev:base" else None,
    )
    base = p.steps[0]
    assert base.action == "use-local"
    assert base.labels[ARCH_LABEL] == "gfx942;gfx950"
    assert any("local image rocm/vllm-dev:base" in e for d in p.decisions for e in d.evidence)


def test_rx7900_excludes_igpu_and_narrows_to_gfx1100():
    p = plan(H.rx7900xtx_igpu(), "vllm-current")
    assert p.accelerators == ["0000:03:00.0"]
    assert "integrated" in decision(p, "integrated-gpu")
    app = p.steps[-1]
    assert app.build_args["ARG_PYTORCH_ROCM_ARCH"] == "gfx1100"
    assert p.run is not None and p.run.devices == ["/dev/kfd", "/dev/dri/renderD128"]
    assert "rocm-feature-unavailable" in codes(p)
    assert {v.message.split(" is limited")[0] for v in p.verdicts} >= {
        "CK flash-attention",
        "AITER",
    }


def test_local_base_lacking_gfx_switches_to_base_and_app():
    p = make_plan(
        H.rx7900xtx_igpu(),
        PlanOptions(source=TREES / "vllm-current"),
        local_images=lambda ref: ref == "rocm/vllm-dev:base",
        image_env=lambda ref: {"PYTORCH_ROCM_ARCH": "gfx90a;gfx942"},
    )
    assert p.route == "build-base-and-app"
    base, app = p.steps
    assert base.action == "build" and base.skip_if_present
    assert base.dockerfile == "docker/Dockerfile.rocm_base"
    assert base.build_args["PYTORCH_ROCM_ARCH"] == "gfx1100"
    assert app.build_args["BASE_IMAGE"] == base.image
    why = next(d.why for d in p.decisions if d.key == "route")
    assert "built for gfx90a;gfx942, not gfx1100" in why


def test_customize_pytorch_builds_base_and_app():
    p = plan(H.mi250(), "vllm-current", customize=["pytorch"])
    assert p.route == "build-base-and-app"
    assert p.steps[0].build_args["PYTORCH_ROCM_ARCH"] == "gfx90a"
    assert any("--customize pytorch" in d.why for d in p.decisions if d.key == "route")


def test_old_tree_navi_stage_and_no_flash_attention():
    p = plan(H.rx7900xtx_igpu(), "vllm-old")
    app = p.steps[-1]
    assert app.dockerfile == "Dockerfile.rocm"
    assert app.build_args["PYTORCH_ROCM_ARCH"] == "gfx1100"
    assert app.build_args["BUILD_FA"] == "0"
    assert app.build_args["FINAL_BASE"] == "navi_base"
    assert p.steps[0].image.startswith("rocm/pytorch:rocm6.0")


def test_old_tree_on_mi250_keeps_flash_attention():
    p = plan(H.mi250(), "vllm-old")
    app = p.steps[-1]
    assert "BUILD_FA" not in app.build_args
    assert "FINAL_BASE" not in app.build_args


def test_strix_halo_old_tree_rocm_too_old():
    p = plan(H.strix_halo(), "vllm-old")
    errs = [v for v in p.verdicts if v.code == "rocm-too-old"]
    assert errs and "7.0.2" in errs[0].message and "6.0" in errs[0].message


def test_strix_halo_current_tree_builds_its_base():
    p = plan(H.strix_halo(), "vllm-current")
    assert p.route == "build-base-and-app"  # the base list has no gfx1151
    assert p.steps[0].build_args["PYTORCH_ROCM_ARCH"] == "gfx1151"
    # the fixture's base recipe is on ROCm 7.0: below gfx1151's 7.0.2
    err = next(v for v in p.verdicts if v.code == "rocm-too-old")
    assert "Dockerfile.rocm_base" in (err.fix or "")


def test_rocm_published_image_without_source():
    p = plan(H.mi250(), None)
    assert p.route == "pull"
    assert p.steps[0].image == "rocm/vllm:latest"


def test_no_published_image_for_radeon_without_source():
    with pytest.raises(UsageError, match="no published vLLM image fits"):
        plan(H.rx7900xtx_igpu(), None)


def test_gpu_selection_of_integrated_gpu_is_unsupported():
    p = plan(H.rx7900xtx_igpu(), "vllm-current", gpu=["12:00.0"])
    assert p.accelerators == ["0000:12:00.0"]
    assert "rocm-unsupported-target" in codes(p)


def test_hsa_override_warned():
    host = H.rx7900xtx_igpu()
    host.env["HSA_OVERRIDE_GFX_VERSION"] = "11.0.0"
    assert "hsa-override" in codes(plan(host, "vllm-current"))


def test_render_node_and_groups_unknown():
    host = H.mi250()
    host.accelerators[1].render_node = None
    host.device_access = []
    p = plan(host, "vllm-current")
    assert {"render-node-unknown", "device-group-unknown"} <= codes(p)
    assert p.run is not None and p.run.group_add == []


# ---------------------------------------------------------------- NVIDIA


def test_h100_current_tree_target_and_narrowed_arch():
    p = plan(H.h100_8(), "vllm-current")
    assert p.route == "build-app-on-published-base"
    app = p.steps[0]
    assert app.target == "vllm-openai"  # not the last, non-root stage
    assert "vllm-openai-nonroot" in " ".join(e for d in p.decisions for e in d.evidence)
    assert app.build_args["torch_cuda_arch_list"] == "9.0"
    assert app.build_args["nvcc_threads"] == "1"
    assert app.labels[ARCH_LABEL] == "9.0"
    assert "driver-minor-compat" in codes(p)  # 550 < 570.26 for CUDA 12.8, >= 525.60.13
    assert p.run is not None and p.run.gpus == "all"


def test_h100_cdi_devices_for_chosen_gpus():
    p = plan(H.h100_8(cdi=True), "vllm-current", gpu=["0", "1"])
    assert p.run is not None
    assert p.run.cdi_devices == ["nvidia.com/gpu=0", "nvidia.com/gpu=1"]
    assert p.run.gpus is None


def test_nvidia_subset_without_cdi_uses_uuids():
    p = plan(H.h100_8(), "vllm-current", gpu=["0000:2a:00.0"])
    assert p.run is not None and p.run.gpus == "device=GPU-h100-1"


def test_h100_published_image_without_source():
    p = plan(H.h200(), None)
    assert p.route == "pull"
    assert p.steps[0].image == "vllm/vllm-openai:latest"
    assert p.run is not None and p.run.command == []  # no model given
    assert "no-model" in codes(p)


def test_v100_old_driver_too_old():
    p = plan(H.v100_old(), "vllm-current")
    err = next(v for v in p.verdicts if v.code == "driver-too-old")
    assert "470.82.01" in err.message and "CUDA driver version is insufficient" in err.message
    assert err.severity == "error"


def test_v100_old_driver_no_published_image():
    with pytest.raises(UsageError):
        plan(H.v100_old(), None)


def test_v100_cuda13_tree_pins_older_cuda():
    p = plan(H.v100_new_driver(), "vllm-cuda13")
    app = p.steps[0]
    assert app.build_args["CUDA_VERSION"] == "12.9.1"
    assert "dropped compute capability 7.0" in next(
        d.why for d in p.decisions if d.key == "cuda-version"
    )
    assert not [v for v in p.verdicts if v.severity == "error"]


def test_cuda_drops_capability_when_user_forces_cuda13():
    p = plan(H.v100_new_driver(), "vllm-cuda13", build_args={"CUDA_VERSION": "13.0.0"})
    assert "cuda-drops-capability" in codes(p)


def test_cuda_too_old_for_blackwell_in_generic_tree():
    host = H.rtx4090()
    host.accelerators[0].compute_capability = "12.0"
    host.drivers[0].version = "575.64"
    p = plan(host, "generic")
    assert "cuda-too-old-for-gpu" in codes(p)


def test_driver_unknown_warned():
    host = H.rtx4090()
    host.drivers = []
    assert "driver-unknown" in codes(plan(host, "vllm-current"))


def test_user_arch_list_not_covering_gpu_is_an_error():
    p = plan(H.h100_8(), "vllm-current", build_args={"torch_cuda_arch_list": "8.0"})
    assert p.steps[0].build_args["torch_cuda_arch_list"] == "8.0"  # theirs wins
    err = next(v for v in p.verdicts if v.code == "arch-not-covered")
    assert "no kernel image is available" in err.message
    assert "kept your --build-arg" in decision(p, "build-args")


def test_rocm_user_base_not_covering_is_invalid_device_function():
    p = make_plan(
        H.rx7900xtx_igpu(),
        PlanOptions(source=TREES / "vllm-current", build_args={"BASE_IMAGE": "my/base:1"}),
        local_images=lambda ref: ref == "my/base:1",
        image_env=lambda ref: {"PYTORCH_ROCM_ARCH": "gfx942"},
    )
    err = next(v for v in p.verdicts if v.code == "arch-not-covered")
    assert "invalid device function" in err.message


def test_arch_unknown_when_capability_missing():
    host = H.rtx4090()
    host.accelerators[0].compute_capability = None
    p = plan(host, "vllm-current")
    assert "arch-unknown" in codes(p)
    assert "torch_cuda_arch_list" not in p.steps[0].build_args


def test_arch_list_unknown_for_dockerfile_without_arch_args(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM ubuntu:24.04\nRUN true\n")
    p = make_plan(H.mi250(), PlanOptions(source=tmp_path))
    assert p.recipe == "generic" and p.route == "build"
    assert "arch-list-unknown" in codes(p)


def test_jetson_builds_from_source_in_vendor_image():
    p = plan(H.jetson_orin(), "vllm-current")
    assert p.route == "build-from-source"
    step = p.steps[0]
    assert step.generated_dockerfile is not None and "-igpu" in step.generated_dockerfile
    assert "COPY . ." in step.generated_dockerfile
    assert step.build_args["TORCH_CUDA_ARCH_LIST"] == "8.7"
    assert "jetson-jetpack" in codes(p)


def test_customize_pytorch_on_cuda_builds_from_source():
    p = plan(H.rtx4090(), "vllm-current", customize=["pytorch"])
    assert p.route == "build-from-source"
    assert "nvidia/pytorch" in (p.steps[0].generated_dockerfile or "")


def test_generic_tree_narrowed():
    p = plan(H.rtx4090(), "generic")
    assert p.recipe == "generic" and p.route == "build"
    assert p.steps[0].build_args == {
        "TORCH_CUDA_ARCH_LIST": "8.9",
        "MAX_JOBS": "7",
    }  # 57 GiB free / 8
    assert p.run is not None and p.run.ports == [(7860, 7860)]


# ---------------------------------------------------------------- CPU


def test_cpu_avx2_disables_avx512():
    p = plan(H.cpu_avx2(), "vllm-current")
    assert p.platform == "cpu"
    assert p.steps[0].build_args["VLLM_CPU_DISABLE_AVX512"] == "true"
    assert p.steps[0].target == "vllm-openai"  # the last stage is a test stage
    assert not p.verdicts


def test_cpu_avx512_uses_it_and_says_not_portable():
    p = plan(H.cpu_avx512(), "vllm-current")
    args = p.steps[0].build_args
    assert args["VLLM_CPU_AVX512BF16"] == "true" and args["VLLM_CPU_AVX512VNNI"] == "true"
    assert "cpu-image-not-portable" in codes(p)


def test_cpu_illegal_instruction_when_forced_avx512_on_avx2():
    p = plan(H.cpu_avx2(), "vllm-current", build_args={"VLLM_CPU_DISABLE_AVX512": "false"})
    err = next(v for v in p.verdicts if v.code == "cpu-isa-mismatch")
    assert "Illegal instruction" in err.message


def test_cpu_without_avx2():
    host = H.cpu_avx2()
    host.cpu.isa_flags = ["sse4_2", "avx"]
    assert "cpu-isa-missing" in codes(plan(host, "vllm-current"))


def test_old_cpu_dockerfile():
    p = plan(H.cpu_avx2(), "vllm-old")
    assert p.steps[0].dockerfile == "Dockerfile.cpu"
    assert p.steps[0].build_args["VLLM_CPU_DISABLE_AVX512"] == "true"


# ---------------------------------------------------------------- platform choice


def test_mixed_vendors_need_a_choice():
    with pytest.raises(UsageError, match="several vendors") as exc:
        plan(H.mixed_amd_nvidia(), "vllm-current")
    assert "--gpu" in str(exc.value)


def test_mixed_vendors_with_platform():
    p = plan(H.mixed_amd_nvidia(), "vllm-current", platform="rocm")
    assert p.platform == "rocm" and p.accelerators == ["0000:03:00.0"]


def test_gpu_of_two_vendors_refused():
    with pytest.raises(UsageError, match="different vendors"):
        plan(H.mixed_amd_nvidia(), "vllm-current", gpu=["0", "1"])


def test_unknown_gpu_selector():
    with pytest.raises(UsageError, match="matches no accelerator"):
        plan(H.mi250(), "vllm-current", gpu=["7"])


def test_debug_adds_ptrace_with_note():
    p = plan(H.mi250(), "vllm-current", debug=True)
    assert p.run is not None
    assert p.run.cap_add == ["SYS_PTRACE"]
    assert p.run.security_opt == ["seccomp=unconfined"]
    assert p.run.notes and "--debug" in p.run.notes[0]
    assert p.run.privileged is False


def test_hf_token_by_name_and_model_read_only(tmp_path):
    p = plan(H.h200(), "vllm-current", model=tmp_path, hf_cache=Path("/cache/hf"))
    assert p.run is not None
    assert p.run.env_passthrough == ["HF_TOKEN"] and "HF_TOKEN" not in p.run.env
    model = next(m for m in p.run.mounts if m.target.startswith("/models/"))
    assert model.read_only and model.source == str(tmp_path)
    assert any(m.source == "/cache/hf" for m in p.run.mounts)
    assert p.run.ipc == "host" and p.run.ports == [(8000, 8000)]
    assert p.run.health_path == "/health"


def test_options_not_mutated():
    opts = PlanOptions(source=TREES / "vllm-current", build_args={"X": "1"})
    make_plan(H.strix_halo(), opts)
    assert opts.build_args == {"X": "1"}


def test_version_from_git_head(tmp_path):
    (tmp_path / "vllm").mkdir()
    (tmp_path / "vllm" / "__init__.py").write_text("")
    (tmp_path / "Dockerfile.rocm").write_text((TREES / "vllm-old" / "Dockerfile.rocm").read_text())
    (tmp_path / ".git" / "refs" / "heads").mkdir(parents=True)
    (tmp_path / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (tmp_path / ".git" / "refs" / "heads" / "main").write_text("0123456789abcdef\n")
    p = make_plan(H.mi250(), PlanOptions(source=tmp_path))
    assert p.steps[-1].image == "vllm-rocm:gfx90a-0123456"


def test_plan_json_round_trip():
    p = plan(H.mi300x_8(), "vllm-current", debug=True)
    again = Plan.from_dict(p.to_dict())
    assert again.to_dict() == p.to_dict()
    assert p.to_dict()["kind"] == "plan"


def test_base_arch_from_knowledge_when_tree_lacks_base_recipe(tmp_path):
    (tmp_path / "vllm").mkdir()
    (tmp_path / "vllm" / "__init__.py").write_text("")
    (tmp_path / "docker").mkdir()
    text = (TREES / "vllm-current" / "docker" / "Dockerfile.rocm").read_text()
    (tmp_path / "docker" / "Dockerfile.rocm").write_text(text)
    p = make_plan(H.mi300x_8(), PlanOptions(source=tmp_path))
    assert p.route == "build-app-on-published-base"
    assert "gfx942" in p.steps[0].labels[ARCH_LABEL]
    assert any("hwdock's knowledge" in e for d in p.decisions for e in d.evidence)
    # gfx908 is not in it, and there is no base recipe to build: an error, with the fix
    host = H.mi250()
    for acc in host.accelerators:
        acc.gfx_target = "gfx908"
    q = make_plan(host, PlanOptions(source=tmp_path))
    err = next(v for v in q.verdicts if v.code == "arch-not-covered")
    assert "--base-dockerfile" in (err.fix or "")


@pytest.mark.parametrize("platform", ["cuda", "rocm", "cpu", "xpu"])
def test_generated_dockerfile_reads_cleanly(platform):
    from hwdock.dockerfile import analyze
    from hwdock.plan.decide_route import generated_dockerfile

    text = generated_dockerfile(platform, "vendor/pytorch:1", use_existing_torch=True)
    graph = analyze(text, "hwdock.Dockerfile", {"MAX_JOBS": "4"})
    assert [f for f in graph.findings if f.severity == "error"] == []
    stage = graph.stages[-1]
    assert stage.base.resolved == "vendor/pytorch:1"
    assert stage.env["MAX_JOBS"] == "4"
    assert "python3 use_existing_torch.py" in text


def test_jetson_generated_dockerfile_builds_on_the_igpu_image():
    from hwdock.dockerfile import analyze

    p = plan(H.jetson_orin(), "vllm-current")
    text = p.steps[0].generated_dockerfile or ""
    graph = analyze(text, "hwdock.Dockerfile", p.steps[0].build_args)
    assert graph.stages[-1].base.resolved.endswith("-igpu")
    assert graph.stages[-1].env["TORCH_CUDA_ARCH_LIST"] == "8.7"
    assert "python3 use_existing_torch.py" in text  # the tree has it: keep the image's torch
