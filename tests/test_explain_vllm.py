"""`analyze()` on vLLM-shaped Dockerfiles (tests/fixtures/dockerfiles/vllm-like, our own files
written in the shape of vLLM's docker/ folder)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwdock.dockerfile import analyze
from hwdock.dockerfile.graph import set_image_status
from hwdock.dockerfile.model import BuildGraph
from hwdock.dockerfile.recipes import find_base_recipes, parse_base_dockerfile_options
from tests.conftest import FIXTURES

TREE = FIXTURES / "dockerfiles" / "vllm-like"


def _graph(name: str, **kw) -> BuildGraph:
    path = TREE / "docker" / name
    return analyze(path.read_text(), str(path), kw.pop("build_args", {}), **kw)


def test_rocm_base_image_comes_from_an_arg_default_and_is_built_by_a_sibling() -> None:
    recipes = find_base_recipes(TREE)
    g = _graph("Dockerfile.rocm", target=None, platform=None, base_recipes=recipes)
    base = g.stages[0].base
    assert base.raw == "${BASE_IMAGE}"
    assert base.resolved == "rocm/vllm-dev:base"
    assert base.normalized == "docker.io/rocm/vllm-dev:base"
    [prov] = base.provenance
    assert (prov.arg, prov.source, prov.line, prov.value) == (
        "BASE_IMAGE",
        "default",
        6,
        "rocm/vllm-dev:base",
    )
    [img] = g.images
    assert img.status == "build"
    assert img.recipe == "docker/Dockerfile.rocm_base"
    assert img.recipe_evidence == "docs/rocm-build.md:7"
    # the engine has it: local wins, the recipe stays known
    set_image_status(g, lambda ref: ref == "rocm/vllm-dev:base")
    assert g.images[0].status == "local"
    assert g.images[0].recipe == "docker/Dockerfile.rocm_base"
    set_image_status(g, lambda ref: False, {})
    assert g.images[0].status == "build"


def test_rocm_build_arg_override_and_fetch_stage_selected_by_arg() -> None:
    g = _graph(
        "Dockerfile.rocm",
        build_args={"BASE_IMAGE": "rocm/vllm-dev:nightly", "REMOTE_VLLM": "1"},
        target=None,
        platform=None,
    )
    assert g.stages[0].base.resolved == "rocm/vllm-dev:nightly"
    assert g.stages[0].base.provenance[0].source == "build-arg"
    fetch = g.stage_by_name("fetch_vllm")
    assert fetch is not None and fetch.base.stage == g.stage_by_name("fetch_vllm_1").index
    used = {s.display for s in g.stages if s.used}
    assert used == {"base", "fetch_vllm_1", "fetch_vllm", "build_vllm", "export_vllm", "final"}
    assert not g.stage_by_name("fetch_vllm_0").used
    assert not g.stage_by_name("test").used
    assert g.images[0].status == "unknown"  # no engine asked, no recipe given


def test_rocm_arch_arg_falls_back_to_the_base_image_env() -> None:
    g = _graph("Dockerfile.rocm", target=None, platform=None)
    arch = {(a.name, a.stage): a for a in g.arch_args}
    env_arch = arch[("PYTORCH_ROCM_ARCH", 0)]
    assert env_arch.source == "env" and env_arch.depends_on_base_env
    g2 = _graph(
        "Dockerfile.rocm",
        build_args={"ARG_PYTORCH_ROCM_ARCH": "gfx942", "max_jobs": "12"},
        target=None,
        platform=None,
    )
    arch2 = {(a.name, a.stage): a for a in g2.arch_args}
    assert arch2[("ARG_PYTORCH_ROCM_ARCH", 0)].value == "gfx942"
    assert arch2[("ARG_PYTORCH_ROCM_ARCH", 0)].source == "build-arg"
    assert arch2[("PYTORCH_ROCM_ARCH", 0)].value == "gfx942"
    assert not arch2[("PYTORCH_ROCM_ARCH", 0)].depends_on_base_env
    assert g2.stages[0].config_env["MAX_JOBS"] == "12"
    assert g2.unused_build_args == []


def test_rocm_base_arch_list_version_and_inline_comment_args() -> None:
    g = _graph("Dockerfile.rocm_base", target=None, platform=None)
    base = g.stages[0]
    assert base.args["PYTORCH_ROCM_ARCH"].value == ("gfx90a;gfx942;gfx1100;gfx1101;gfx1200;gfx1201")
    assert {(t.toolkit, t.version) for t in g.toolkits} >= {("rocm", "6.3.1"), ("python", "3.12")}
    # BuildKit reads `ARG X="v" # comment` as several ARGs: the comment words too
    assert {"#", "release", "branch,", "pinned"} <= set(g.global_args)
    assert g.global_args["PYTORCH_BRANCH"].value == "6c0b4f1c"
    final = g.stage_by_name("final")
    assert final is not None and final.args["BASE_IMAGE"].source == "global"
    assert final.args["BASE_IMAGE"].value == "rocm/dev-ubuntu-22.04:6.3.1-complete"
    assert all(s.used for s in g.stages)


def test_cuda_dockerfile_chain_arch_lists_and_checks() -> None:
    g = _graph("Dockerfile", target=None, platform=None)
    assert g.target_stage.display == "vllm-openai"
    used = {s.display for s in g.stages if s.used}
    assert used == {"base", "build", "vllm-base", "vllm-openai-base", "vllm-openai"}
    assert [i.familiar for i in g.images] == [
        "nvidia/cuda:12.8.1-devel-ubuntu20.04",
        "nvidia/cuda:12.8.1-devel-ubuntu22.04",
    ]
    build = g.stage_by_name("build")
    assert build is not None
    assert build.env["TORCH_CUDA_ARCH_LIST"] == "7.0 7.5 8.0 8.9 9.0 10.0+PTX"  # from base
    assert build.config_env["MAX_JOBS"] == "2" and build.config_env["NVCC_THREADS"] == "8"
    codes = {(f.code, f.line) for f in g.findings}
    assert ("FromAsCasing", 66) in codes
    features = {(f.code, f.line) for f in g.features}
    assert {("heredoc", 29), ("run-mount-cache", 26), ("run-mount-bind", 77)} <= features
    assert ("cuda", "12.8.1") in {(t.toolkit, t.version) for t in g.toolkits}


def test_cuda_version_build_arg_flows_into_both_base_images_and_target_dev() -> None:
    g = _graph("Dockerfile", build_args={"CUDA_VERSION": "12.4.1"}, target="dev", platform=None)
    assert g.target_stage.display == "dev"
    assert {s.display for s in g.stages if s.used} == {"base", "dev"}
    assert [i.familiar for i in g.images] == ["nvidia/cuda:12.4.1-devel-ubuntu20.04"]
    prov = g.stages[0].base.provenance[0]
    assert prov.arg == "BUILD_BASE_IMAGE" and prov.value.endswith("12.4.1-devel-ubuntu20.04")
    assert g.global_args["BUILD_BASE_IMAGE"].depends_on == ["CUDA_VERSION"]


def test_cpu_dockerfile_platform_args_follow_the_target_platform() -> None:
    g = _graph("Dockerfile.cpu", target=None, platform="linux/arm64")
    base = g.stage_by_name("base-common")
    assert base is not None and base.config_env["TARGETARCH"] == "arm64"
    assert g.target_platform == "linux/arm64"
    g2 = _graph("Dockerfile.cpu", target=None, platform=None, host_machine="x86_64")
    assert g2.stage_by_name("base-common").config_env["TARGETARCH"] == "amd64"


def test_base_dockerfile_option_and_bad_value() -> None:
    m = parse_base_dockerfile_options(["rocm/vllm-dev:base=docker/Dockerfile.rocm_base"])
    assert m == {
        "docker.io/rocm/vllm-dev:base": ("docker/Dockerfile.rocm_base", "--base-dockerfile")
    }
    with pytest.raises(ValueError, match="IMAGE=PATH"):
        parse_base_dockerfile_options(["nonsense"])


def test_bake_file_targets_are_recipes(tmp_path: Path) -> None:
    (tmp_path / "docker").mkdir()
    (tmp_path / "docker" / "Dockerfile.base").write_text("FROM scratch\n")
    (tmp_path / "docker-bake.hcl").write_text(
        'target "base" {\n  dockerfile = "docker/Dockerfile.base"\n'
        '  tags = ["example/base:1", "${REG}/x"]\n}\n'
    )
    found = find_base_recipes(tmp_path)
    assert found == {"docker.io/example/base:1": ("docker/Dockerfile.base", "docker-bake.hcl:1")}
