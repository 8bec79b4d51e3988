"""`hwdock export ...` from a saved plan (`--plan`) and a host report (`--host`): output on
stdout or written atomically, `--json` documents, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support.export_plans import amd_host, rocm_plan


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    from hwdock.cli import main

    with pytest.raises(SystemExit) as e:
        main(args)
    out = capsys.readouterr()
    return int(e.value.code or 0), out.out, out.err


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps(rocm_plan().to_dict()))
    host = tmp_path / "host.json"
    host.write_text(json.dumps(amd_host("mi300-a", "gfx942", "0x74a1", count=2).to_dict()))
    return plan, host


def test_k8s_to_stdout_pinned_by_host(files, capsys) -> None:
    plan, host = files
    code, out, _ = run_cli(["export", "k8s", "--plan", str(plan), "--host", str(host)], capsys)
    assert code == 0
    deploy = next(d for d in yaml.safe_load_all(out) if d and d["kind"] == "Deployment")
    aff = deploy["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
    terms = aff["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": "amd.com/gpu.device-id", "operator": "In", "values": ["74a1"]} in (
        terms[0]["matchExpressions"]
    )


def test_k8s_without_host_says_it_is_not_pinned(files, capsys) -> None:
    plan, _ = files
    code, out, err = run_cli(["export", "k8s", "--plan", str(plan)], capsys)
    assert code == 0
    assert "not pinned" in err
    deploy = next(d for d in yaml.safe_load_all(out) if d and d["kind"] == "Deployment")
    assert "affinity" not in deploy["spec"]["template"]["spec"]


def test_compose_json_document(files, tmp_path: Path, capsys) -> None:
    plan, _ = files
    out_file = tmp_path / "compose.yaml"
    code, out, _ = run_cli(
        ["export", "compose", "--plan", str(plan), "--out", str(out_file), "--json"], capsys
    )
    assert code == 0
    doc = json.loads(out)
    assert doc["kind"] == "export" and doc["schema_version"] == 1
    assert doc["format"] == "compose" and doc["path"] == str(out_file)
    assert yaml.safe_load(out_file.read_text()) == yaml.safe_load(doc["content"])


def test_bake_json_format(files, capsys) -> None:
    plan, _ = files
    code, out, _ = run_cli(["export", "bake", "--plan", str(plan), "--format", "json"], capsys)
    assert code == 0
    assert json.loads(out)["target"]["hwdock-app"]["tags"] == ["vllm-rocm:gfx942-0.9"]
    code, _, err = run_cli(["export", "bake", "--plan", str(plan), "--format", "yaml"], capsys)
    assert code == 2 and "use hcl or json" in err


def test_bad_plan_file_is_a_clear_error(tmp_path: Path, capsys) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{\n  nope")
    code, _, err = run_cli(["export", "script", "--plan", str(bad)], capsys)
    assert code == 3 and f"{bad}:2: not JSON" in err
    code, _, err = run_cli(["export", "script", "--plan", str(tmp_path / "missing.json")], capsys)
    assert code == 3 and "cannot read" in err


def test_out_into_a_missing_directory_writes_nothing(files, tmp_path: Path, capsys) -> None:
    plan, _ = files
    code, _, err = run_cli(
        ["export", "script", "--plan", str(plan), "--out", str(tmp_path / "no" / "run.sh")], capsys
    )
    assert code == 2 and "does not exist" in err
    assert not (tmp_path / "no").exists()


def test_failed_write_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    import os

    from hwdock.export import writeout

    target = tmp_path / "compose.yaml"
    target.write_text("old\n")

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        writeout.write_atomic(target, "new\n")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["compose.yaml"]


def test_write_tree_refuses_paths_outside(tmp_path: Path) -> None:
    from hwdock.errors import UsageError
    from hwdock.export.writeout import write_tree

    with pytest.raises(UsageError, match="outside"):
        write_tree(tmp_path / "out", {"../evil": "x"})
    assert not (tmp_path / "out").exists()
