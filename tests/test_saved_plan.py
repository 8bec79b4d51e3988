"""A saved plan read back for `hwdock build` (hwdock.commands.saved_plan): the first read checks
it (`plan_inputs.read_plan`), later reads of the same bytes give a record with the same
attributes and the same `to_dict()`, without importing the plan model."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from hwdock.commands import saved_plan
from hwdock.commands.engine import apply_overrides, refuse_incompatible
from hwdock.commands.plan_inputs import read_plan as checked_read
from hwdock.errors import ExitCode, HwdockError, InputError
from hwdock.findings import Finding
from hwdock.plan.model import ImageStep, Plan, RunSpec
from tests.support.export_plans import rocm_plan


@pytest.fixture(autouse=True)
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    d = tmp_path / "state"
    monkeypatch.setenv("HWDOCK_STATE_DIR", str(d))
    return d


def _write(path: Path, plan: Plan) -> Path:
    path.write_text(json.dumps(plan.to_dict(), indent=2))
    return path


def _entries(state: Path) -> list[str]:
    folder = state / "plans"
    return sorted(os.listdir(folder)) if folder.is_dir() else []


def test_second_read_is_a_record_equal_to_the_plan(tmp_path: Path, state: Path) -> None:
    plan = rocm_plan()
    plan.verdicts.append(Finding("arch-narrowed", "built for gfx942 only", "info", fix="none"))
    path = _write(tmp_path / "plan.json", plan)

    first = saved_plan.read_plan(path)
    assert isinstance(first, Plan)  # a miss: the checked plan itself
    assert len(_entries(state)) == 1
    again = saved_plan.read_plan(path)
    assert isinstance(again, saved_plan.PlanRecord)
    real = checked_read(path)

    assert json.dumps(again.to_dict()) == json.dumps(real.to_dict())
    for f in dataclasses.fields(Plan):
        if f.name not in ("steps", "decisions", "verdicts", "warnings", "run"):
            assert getattr(again, f.name) == getattr(real, f.name), f.name
    assert again.final_image == real.final_image == "vllm-rocm:gfx942-0.9"
    assert len(again.steps) == len(real.steps) == 2
    for rec, step in zip(again.steps, real.steps, strict=True):
        for f in dataclasses.fields(ImageStep):  # every field, also ones added later
            assert getattr(rec, f.name) == getattr(step, f.name), f.name
    for rec_f, f_ in zip(
        again.verdicts + again.warnings, real.verdicts + real.warnings, strict=True
    ):
        assert (rec_f.code, rec_f.severity, rec_f.message) == (f_.code, f_.severity, f_.message)
    assert again.decisions[0].why == real.decisions[0].why
    assert again.run is not None and real.run is not None
    for f in dataclasses.fields(RunSpec):
        if f.name not in ("mounts", "ports"):  # a record keeps these as JSON has them
            assert getattr(again.run, f.name) == getattr(real.run, f.name), f.name


def test_overrides_on_a_record_show_in_its_document(tmp_path: Path) -> None:
    path = _write(tmp_path / "plan.json", rocm_plan())
    saved_plan.read_plan(path)
    record, real = saved_plan.read_plan(path), checked_read(path)
    assert isinstance(record, saved_plan.PlanRecord)
    for p in (record, real):
        apply_overrides(p, {"MAX_JOBS": "4", "NEW": "1"}, "mine:1")
    assert record.to_dict() == json.loads(json.dumps(real.to_dict()))
    assert record.steps[-1].image == "mine:1" and record.run is not None
    assert record.run.image == "mine:1"
    assert record.to_dict()["steps"][-1]["build_args"]["NEW"] == "1"


def test_error_verdicts_refuse_a_record_as_the_plan(tmp_path: Path) -> None:
    plan = rocm_plan()
    plan.verdicts.append(Finding("driver-too-old", "the driver is too old", "error"))
    path = _write(tmp_path / "plan.json", plan)
    saved_plan.read_plan(path)
    record = saved_plan.read_plan(path)
    assert isinstance(record, saved_plan.PlanRecord)
    with pytest.raises(HwdockError) as got:
        refuse_incompatible(record, force=False)
    assert got.value.exit_code == ExitCode.INCOMPATIBLE
    assert "the driver is too old" in got.value.message
    refuse_incompatible(record, force=True)  # --force builds anyway


def test_changed_bytes_are_read_again(tmp_path: Path, state: Path) -> None:
    path = _write(tmp_path / "plan.json", rocm_plan(image="a:1"))
    saved_plan.read_plan(path)
    _write(path, rocm_plan(image="b:2"))
    fresh = saved_plan.read_plan(path)
    assert isinstance(fresh, Plan) and fresh.final_image == "b:2"
    assert len(_entries(state)) == 2
    again = saved_plan.read_plan(path)
    assert isinstance(again, saved_plan.PlanRecord) and again.final_image == "b:2"


def test_crlf_file_reads_as_text_mode_does(tmp_path: Path) -> None:
    text = json.dumps(rocm_plan().to_dict(), indent=2).replace("\n", "\r\n")
    path = tmp_path / "plan.json"
    path.write_bytes(text.encode())
    assert saved_plan.read_plan(path).to_dict() == checked_read(path).to_dict()
    assert isinstance(saved_plan.read_plan(path), saved_plan.PlanRecord)


BAD: list[tuple[str, bytes | None]] = [
    ("missing", None),
    ("not-json", b'{"kind": "plan",\n  "steps": [}'),
    ("not-json-cr", b'{"kind": "plan",\r  "steps": [}'),  # the line as text mode counts it
    ("not-utf8", b'{"kind": "plan", "recipe": "\xff"}'),
    ("not-an-object", b"[1, 2]"),
    ("missing-field", b'{"kind": "plan", "platform": "cpu", "route": "build"}'),
    ("wrong-type", b'{"recipe": "g", "platform": "cpu", "route": "build", "steps": [{"id": 1}]}'),
    ("folder", b""),
]


@pytest.mark.parametrize(("name", "data"), BAD, ids=[b[0] for b in BAD])
def test_bad_files_fail_as_the_checked_read_does(
    tmp_path: Path, state: Path, name: str, data: bytes | None
) -> None:
    path = tmp_path / "plan.json"
    if name == "folder":
        path.mkdir()
    elif data is not None:
        path.write_bytes(data)
    with pytest.raises(InputError) as want:
        checked_read(path)
    for _ in range(2):  # nothing bad is remembered
        with pytest.raises(InputError) as got:
            saved_plan.read_plan(path)
        assert str(got.value) == str(want.value)
    assert _entries(state) == []


def test_cache_keeps_the_newest_entries(
    tmp_path: Path, state: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(saved_plan, "CACHE_SIZE", 3)
    for i in range(5):
        saved_plan.read_plan(_write(tmp_path / f"p{i}.json", rocm_plan(image=f"img:{i}")))
    assert len(_entries(state)) == 3
    last = saved_plan.read_plan(tmp_path / "p4.json")
    assert isinstance(last, saved_plan.PlanRecord)


def test_an_edited_plan_model_is_a_miss(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "model.py"
    source.write_text("# the plan model\n")
    # an absolute path stands for one of the sources (os.path.join keeps it)
    monkeypatch.setattr(saved_plan, "_SOURCES", (*saved_plan._SOURCES, str(source)))
    path = _write(tmp_path / "plan.json", rocm_plan())
    saved_plan.read_plan(path)
    assert isinstance(saved_plan.read_plan(path), saved_plan.PlanRecord)
    source.write_text("# the plan model, with a new field\n")
    assert isinstance(saved_plan.read_plan(path), Plan)
    source.unlink()  # a source that cannot be read: nothing is remembered
    assert isinstance(saved_plan.read_plan(path), Plan)
    assert isinstance(saved_plan.read_plan(path), Plan)


def test_a_damaged_entry_is_read_again(tmp_path: Path, state: Path) -> None:
    path = _write(tmp_path / "plan.json", rocm_plan())
    saved_plan.read_plan(path)
    (entry,) = _entries(state)
    (state / "plans" / entry).write_text('{"kind": "pl')
    assert isinstance(saved_plan.read_plan(path), Plan)
    assert isinstance(saved_plan.read_plan(path), saved_plan.PlanRecord)
