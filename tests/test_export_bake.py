"""Bake export: JSON validated against a schema of the bake file format, HCL read back with
hwdock's reader, named contexts for dependencies, and extension of a project's bake file."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwdock.errors import InputError
from hwdock.export import hcl
from hwdock.export.bake import Variant, build_bake, project_targets, render
from tests.support.export_plans import cuda_plan, rocm_plan

SCHEMA = json.loads((Path(__file__).parent / "support" / "bake.schema.json").read_text())

# A project bake file in the shape of vLLM's docker/docker-bake.hcl (written for this test):
# variables, a conditional expression, interpolation with escaped quotes, inherits chains.
PROJECT_BAKE = r"""
# project bake file
variable "MAX_JOBS" {
  default = 16
}
variable "ARCHES" { default = "8.0 9.0 10.0" }
variable "COMMIT" {
  default = ""
}

group "default" {
  targets = ["openai"]
}

target "_common" {
  dockerfile = "docker/Dockerfile"
  context    = "."
  args = {
    max_jobs             = MAX_JOBS
    torch_cuda_arch_list = ARCHES
    BUILD_COMMIT         = COMMIT != "" ? COMMIT : "unknown"   // trailing comment
  }
}

target "_labels" {
  labels = {
    "org.opencontainers.image.source" = "https://example.invalid/vllm"
    "org.opencontainers.image.revision" = COMMIT != "" ? COMMIT : "unknown"
  }
  annotations = [
    "index,manifest:org.opencontainers.image.revision=${COMMIT != \"\" ? COMMIT : \"unknown\"}",
  ]
}

/* test image */
target "test" {
  inherits = ["_common", "_labels"]
  target   = "test"
  tags     = ["vllm:test"]
}

target "openai" {
  inherits = ["_common", "_labels"]
  target   = "vllm-openai"
  tags     = ["vllm:openai"]
  output   = ["type=docker"]
}
"""


def check_bake(doc: dict, project: dict | None = None) -> None:
    """Schema plus the references bake resolves: groups, inherits, target: contexts, tags."""
    jsonschema.validate(doc, SCHEMA)
    targets = doc["target"]
    known = set(targets) | set(project or {})
    for group in doc.get("group", {}).values():
        assert set(group["targets"]) <= set(targets)
    tags: list[str] = []
    for t in targets.values():
        for parent in t.get("inherits", []):
            assert parent in known
        for value in t.get("contexts", {}).values():
            if value.startswith("target:"):
                assert value[len("target:") :] in targets
        tags += t.get("tags", [])
    assert len(tags) == len(set(tags)), "two targets push the same tag"


def test_rocm_plan_bake_has_base_context_and_secret() -> None:
    res = render(rocm_plan())
    doc = json.loads(res.json_text)
    check_bake(doc)
    app = doc["target"]["hwdock-app"]
    assert app["contexts"] == {"rocm/vllm-dev:base": "target:hwdock-base"}
    assert app["secret"] == ["id=HF_TOKEN,env=HF_TOKEN"]
    assert app["dockerfile"] == "docker/Dockerfile.rocm" and app["target"] == "final"
    assert app["args"]["PYTORCH_ROCM_ARCH"] == "gfx942"
    assert app["tags"] == ["vllm-rocm:gfx942-0.9"]
    assert doc["group"]["default"]["targets"] == ["hwdock-app"]


def test_hcl_form_reads_back_as_the_json_form() -> None:
    res = render(rocm_plan())
    body = hcl.loads(res.hcl_text, "out.hcl")
    targets = {b.labels[0]: b.attrs for b in body.find("target")}
    assert targets == json.loads(res.json_text)["target"]
    groups = {b.labels[0]: b.attrs for b in body.find("group")}
    assert groups == json.loads(res.json_text)["group"]


def test_reader_handles_a_project_bake_file() -> None:
    body = hcl.loads(PROJECT_BAKE, "docker/docker-bake.hcl")
    targets = project_targets(body)
    assert targets["openai"]["dockerfile"] == "docker/Dockerfile"
    assert targets["openai"]["target"] == "vllm-openai"
    assert targets["openai"]["tags"] == ["vllm:openai"]
    assert isinstance(targets["openai"]["args"]["max_jobs"], hcl.Raw)
    assert targets["openai"]["args"]["BUILD_COMMIT"].text == 'COMMIT != "" ? COMMIT : "unknown"'
    ann = targets["openai"]["annotations"][0]
    assert ann.startswith("index,manifest:") and ann.endswith("}")
    variables = {b.labels[0]: b.attrs for b in body.find("variable")}
    assert variables["MAX_JOBS"] == {"default": 16}
    assert variables["ARCHES"] == {"default": "8.0 9.0 10.0"}


def test_extends_the_project_bake_file_by_inheritance() -> None:
    project = hcl.loads(PROJECT_BAKE, "docker/docker-bake.hcl")
    res = render(cuda_plan(), project=project, project_path="docker/docker-bake.hcl")
    doc = json.loads(res.json_text)
    check_bake(doc, project_targets(project))
    ours = doc["target"]["hwdock-app"]
    assert ours["inherits"] == ["openai"]
    assert "dockerfile" not in ours and "context" not in ours  # taken from the project
    assert ours["args"]["torch_cuda_arch_list"] == "9.0"
    assert res.inherited == {"hwdock-app": "openai"}
    assert "default" not in doc["group"]  # the project's default group stays the project's
    assert "-f docker/docker-bake.hcl -f docker-bake.hwdock.hcl hwdock" in res.hcl_text


def test_no_matching_project_target_is_said() -> None:
    project = hcl.loads(PROJECT_BAKE, "docker/docker-bake.hcl")
    res = render(rocm_plan(), project=project, project_path="docker/docker-bake.hcl")
    assert res.inherited == {}
    assert any("no target in docker/docker-bake.hcl" in n for n in res.notes)


def test_matrix_over_variants_expands_to_the_json_targets() -> None:
    variants = [
        Variant("cuda-sm80", cuda_plan(image="vllm:sm80", arch="8.0")),
        Variant("cuda-sm90", cuda_plan(image="vllm:sm90", arch="9.0")),
        Variant("cuda-sm120", cuda_plan(image="vllm:sm120", arch="12.0")),
    ]
    res = build_bake(variants)
    doc = json.loads(res.json_text)
    check_bake(doc)
    body = hcl.loads(res.hcl_text)
    (mt,) = [b for b in body.find("target") if "matrix" in b.attrs]
    # expand the matrix the way bake does: one target per element, v.* substituted
    expanded = {}
    for el in mt.attrs["matrix"]["v"]:

        def sub(x, el=el):
            if isinstance(x, hcl.Raw):
                assert x.text.startswith("v.")
                return el[x.text[2:]]
            if isinstance(x, dict):
                return {k: sub(v) for k, v in x.items()}
            if isinstance(x, list):
                return [sub(v) for v in x]
            return x

        t = {k: sub(v) for k, v in mt.attrs.items() if k not in ("matrix", "name")}
        expanded[el["name"]] = t
    assert expanded == doc["target"]


def test_hcl_errors_name_the_line() -> None:
    with pytest.raises(InputError, match=r"bake.hcl:3: "):
        hcl.loads('target "a" {\n  tags = ["x"]\n  args = {\n', "bake.hcl")
    with pytest.raises(InputError, match=r"bake.hcl:2: unterminated string"):
        hcl.loads('target "a" {\n  tags = ["x]\n}\n', "bake.hcl")


_value = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=150, deadline=None)
@given(
    args=st.dictionaries(st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_]{0,10}\Z"), _value, max_size=4),
    tag=_value,
)
def test_any_values_round_trip_through_hcl(args: dict[str, str], tag: str) -> None:
    block = hcl.Block("target", ["t"], {"args": args, "tags": [tag], "labels": {tag: tag}})
    back = hcl.loads(hcl.dumps(hcl.Body(blocks=[block])))
    assert back.find("target")[0].attrs == block.attrs


def test_interpolation_in_values_is_escaped() -> None:
    text = hcl.dumps(hcl.Body(blocks=[hcl.Block("target", ["t"], {"tags": ["${HOME}%{x}"]})]))
    assert "$${HOME}%%{x}" in text
    assert hcl.loads(text).find("target")[0].attrs["tags"] == ["${HOME}%{x}"]


def test_buildx_bake_print_accepts_it(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    probe = subprocess.run([docker, "buildx", "version"], capture_output=True) if docker else None
    if probe is None or probe.returncode != 0:
        pytest.skip(
            "docker buildx is not installed here (Debian's docker.io has no buildx "
            "plugin); the bake file is checked against the format's schema instead"
        )
    (tmp_path / "docker-bake.hwdock.hcl").write_text(render(rocm_plan()).hcl_text)
    proc = subprocess.run(
        [docker, "buildx", "bake", "-f", "docker-bake.hwdock.hcl", "--print", "hwdock"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    printed = json.loads(proc.stdout)
    assert printed["target"]["hwdock-app"]["tags"] == ["vllm-rocm:gfx942-0.9"]
