"""The planner's Dockerfile facts reader and knowledge look-ups."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwdock.errors import HwdockError
from hwdock.knowledge import load
from hwdock.plan import facts as kb
from hwdock.plan.dockerfile_facts import read_facts

TREES = Path(__file__).parent / "fixtures" / "trees"


def test_rocm_app_dockerfile_facts():
    text = (TREES / "vllm-current" / "docker" / "Dockerfile.rocm").read_text()
    f = read_facts(text, "docker/Dockerfile.rocm")
    assert f.global_args["BASE_IMAGE"].value == "rocm/vllm-dev:base"
    assert f.stages[0].base == "rocm/vllm-dev:base" and f.stages[0].name == "base"
    assert f.stage("fetch_vllm").base == "fetch_vllm_0"  # FROM fetch_vllm_${REMOTE_VLLM}
    assert f.last_stage.name == "final"
    # ENV PYTORCH_ROCM_ARCH=${ARG_PYTORCH_ROCM_ARCH:-${PYTORCH_ROCM_ARCH}}: nothing known yet
    assert f.stages[0].env["PYTORCH_ROCM_ARCH"] == ""
    g = read_facts(text, "x", {"ARG_PYTORCH_ROCM_ARCH": "gfx1100", "REMOTE_VLLM": "1"})
    assert g.stages[0].env["PYTORCH_ROCM_ARCH"] == "gfx1100"
    assert g.stage("fetch_vllm").base == "fetch_vllm_1"


def test_global_arg_reaches_stage_only_when_redeclared():
    text = "ARG V=1\nARG W=2\nFROM a:${V} AS s\nARG V\nENV X=$V Y=${W:-none}\n"
    f = read_facts(text)
    assert f.stages[0].base == "a:1"
    assert f.stages[0].env["X"] == "1" and f.stages[0].env["Y"] == "none"
    assert "W" not in f.stages[0].args  # not redeclared: not visible in the stage


def test_continuations_comments_heredocs():
    text = (
        "FROM busybox AS one\n"
        "RUN echo a \\\n"
        "# a comment inside\n"
        "    && echo b\n"
        "RUN <<EOF\n"
        "ARG NOT_AN_ARG=1\n"
        "FROM not-a-stage\n"
        "EOF\n"
        "ARG REAL=2\n"
        "EXPOSE 8000/tcp 9000\n"
    )
    f = read_facts(text)
    assert [s.label for s in f.stages] == ["one"]
    assert set(f.stages[0].args) == {"REAL"}
    assert f.stages[0].expose == ["8000/tcp", "9000"]


def test_crlf_bom_and_legacy_env():
    f = read_facts("\ufeffFROM x AS a\r\nENV KEY some value\r\n")
    assert f.stages[0].env == {"KEY": "some value"}


def test_user_build_arg_and_quoted_defaults():
    text = "ARG L='7.0 8.0'\nFROM x AS a\nARG L\nARG M=\"1\"\n"
    f = read_facts(text, "D", {"M": "4"})
    assert f.global_args["L"].default == "7.0 8.0"
    assert f.stages[0].args["L"].value == "7.0 8.0"
    assert f.stages[0].args["M"].value == "4" and f.stages[0].args["M"].default == "1"
    assert f.find_arg("M")[1] == "a"


def test_stage_selector_args():
    text = (TREES / "vllm-old" / "Dockerfile.rocm").read_text()
    f = read_facts(text, "Dockerfile.rocm")
    assert f.stage_selector_args() == {"FINAL_BASE": "base"}
    assert f.stage("final").base_kind == "stage"


def test_cuda_coverage_rules():
    assert kb.cuda_list_covers("7.0 8.0 9.0", "9.0")
    assert kb.cuda_list_covers("8.0", "8.6")  # same major, lower minor: SASS runs
    assert not kb.cuda_list_covers("8.6", "8.0")
    assert not kb.cuda_list_covers("8.0 8.9", "9.0")
    assert kb.cuda_list_covers("8.0 9.0+PTX", "12.0")  # PTX JIT forward
    assert kb.cuda_list_covers("80-real;90-real", "9.0")
    assert kb.cuda_list_covers("sm_90", "9.0")
    assert not kb.cuda_list_covers(None, "9.0")


def test_versions_from_image_refs():
    assert kb.rocm_version_of("rocm/pytorch:rocm6.0_ubuntu20.04_py3.9_pytorch_2.1.1") == "6.0"
    assert kb.rocm_version_of("rocm/dev-ubuntu-22.04:7.2.1-complete") == "7.2.1"
    assert kb.rocm_version_of("rocm/vllm-dev:base") is None
    assert kb.cuda_version_of("nvidia/cuda:12.8.1-devel-ubuntu22.04") == "12.8.1"


def test_driver_floors_from_release_notes():
    assert kb.toolkit("12.0.1")["min_driver"] == "525.60.13"
    assert kb.toolkit("12.4.1")["min_driver"] == "550.54.14"
    assert kb.toolkit("12.8.1")["min_driver"] == "570.26"
    assert kb.toolkit("13.0.0")["min_driver"] == "580.65.06"
    assert kb.toolkit("13.0")["min_capability"] == "7.5"  # Volta dropped
    assert kb.major_floor("12.9") == "525.60.13"


def test_rocm_floors():
    assert kb.rocm_min("gfx950") == "7.0"
    assert kb.rocm_min("gfx1151") == "7.0.2"
    assert kb.rocm_min("gfx1036") is None


@pytest.mark.parametrize("name", ["rocm", "cuda", "cpu_isa", "vllm"])
def test_every_fact_has_a_source(name):
    data = load(name)

    def walk(node, path):
        if isinstance(node, dict):
            leaf = any(not isinstance(v, dict | list) for v in node.values())
            if leaf and path and path[0] != "meta":
                assert "source" in node or path[-1] in ("major_floor",), f"{name}: {path}"
            for k, v in node.items():
                walk(v, [*path, k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, [*path, str(i)])

    walk(data, [])


@given(st.text(max_size=300))
def test_reader_raises_only_hwdock_errors(text):
    try:
        read_facts(text)
    except HwdockError as err:
        assert err.message


def test_generic_arg_names_include_explains_table():
    assert "GPU_TARGETS" in kb.generic_arch_args("rocm")
    assert "CMAKE_CUDA_ARCHITECTURES" in kb.generic_arch_args("cuda")
    assert "torch_cuda_arch_list" in kb.generic_arch_args("cuda")
    assert "nvcc_threads" not in kb.generic_jobs_args()
    assert "NVCC_THREADS" in kb.generic_threads_args()


def test_cmake_style_arch_value(tmp_path):
    from hwdock.plan import make_plan
    from hwdock.plan.options import PlanOptions
    from tests.support import hosts as H

    (tmp_path / "Dockerfile").write_text(
        "FROM nvidia/cuda:12.8.1-devel-ubuntu22.04\nARG CMAKE_CUDA_ARCHITECTURES=80;90\n"
        "ARG GPU_TARGETS\nRUN make\n"
    )
    p = make_plan(H.h200(), PlanOptions(source=tmp_path))
    assert p.steps[0].build_args["CMAKE_CUDA_ARCHITECTURES"] == "90"
    assert "GPU_TARGETS" not in p.steps[0].build_args  # an AMD list on a CUDA plan
