"""A saved plan (`--plan PLAN.json`) read back for `hwdock build`: checked once, then remembered.

`Plan.from_dict` checks every field of the document against its type hint; that needs
`dataclasses` (with `inspect`), `typing` and the plan model, about 12 ms of imports, a third
of an up-to-date `hwdock build --plan P --json`. So the document each plan file gave once
(`Plan.to_dict()`, as JSON) is kept in `<state>/plans/<key>.json`, the key a hash of the
file's bytes and of the sources that define and check a plan (a new hwdock, or an edited
model, misses). A hit is read back as a `PlanRecord`: the same attributes as the `Plan` those
bytes gave, without checking them again (they passed) and without the model's classes.

Records are for `hwdock build` only: it reads a plan's steps, verdicts and source, changes
steps' build args and the last tag (--build-arg, --tag) and writes `to_dict()` to the run
folder; changes go to the document, so `to_dict()` shows them. Everything else (`run`, `up`,
export, doctor) reads the plan with `plan_inputs.read_plan`.
"""

from __future__ import annotations

import json
import os
import stat

from hwdock import __version__
from hwdock.sha import sha256

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    # to the type checker a record is the class it stands for: it has the same attributes
    from hwdock.findings import Finding as _FindingBase
    from hwdock.plan.model import Decision as _DecisionBase
    from hwdock.plan.model import ImageStep as _StepBase
    from hwdock.plan.model import Plan
    from hwdock.plan.model import Plan as _PlanBase
    from hwdock.plan.model import RunSpec as _RunBase
else:
    _FindingBase = _DecisionBase = _StepBase = _PlanBase = _RunBase = object

# what defines a plan document and its check: an edit to one of them makes a new key
_SOURCES = ("plan/model.py", "findings.py", "jsonin.py", "commands/saved_plan.py")
CACHE_SIZE = 64  # plan files remembered; the oldest entries go first


class _Record:
    """One object of the plan document, its keys as attributes: the dict is the instance's
    `__dict__`, so setting an attribute changes the document."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self.__dict__ = doc


class StepRecord(_Record, _StepBase):
    """An `ImageStep`."""


class FindingRecord(_Record, _FindingBase):
    """A `Finding` (a verdict or a warning)."""


class DecisionRecord(_Record, _DecisionBase):
    """A `Decision`."""


class RunRecord(_Record, _RunBase):
    """A `RunSpec`; its `mounts` stay dicts and `ports` lists (`hwdock build` runs nothing)."""


_NESTED: dict[str, type[_Record]] = {
    "steps": StepRecord,
    "decisions": DecisionRecord,
    "verdicts": FindingRecord,
    "warnings": FindingRecord,
    "run": RunRecord,
}


class PlanRecord(_PlanBase):
    """A `Plan` read back from its document (`Plan.to_dict()` of the same plan file)."""

    def __init__(self, doc: dict[str, Any]) -> None:
        self._doc = doc
        for key, value in doc.items():
            kind = _NESTED.get(key)
            if kind is not None and value is not None:
                value = [kind(x) for x in value] if isinstance(value, list) else kind(value)
            setattr(self, key, value)

    @property
    def final_image(self) -> str | None:
        return self.steps[-1].image if self.steps else (self.run.image if self.run else None)

    def to_dict(self) -> dict[str, Any]:
        return {k: _plain(getattr(self, k)) for k in self._doc}


def _plain(value: Any) -> Any:
    if isinstance(value, _Record):
        return value.__dict__
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_plan(path: str | os.PathLike[str]) -> Plan:
    """The plan in `path`, as `plan_inputs.read_plan` gives it (the same errors), or the
    record of it remembered from an earlier read of the same bytes."""
    name = os.fspath(path)
    try:
        if not stat.S_ISREG(os.stat(name).st_mode):
            raise OSError  # a folder, a FIFO (which would block): read_plan says what it is
        with open(name, "rb") as f:
            data = f.read()
    except OSError:
        return _read_plan(name)
    key = _key(data)
    if key is None:
        return _read_plan(name)
    from hwdock.engine.runlog import state_dir

    folder = state_dir() / "plans"
    try:
        with open(folder / f"{key}.json", encoding="utf-8") as f:
            doc = json.load(f)
        if isinstance(doc, dict) and doc.get("kind") == "plan":
            return PlanRecord(doc)
    except (OSError, ValueError):
        pass
    try:
        # as the text mode of `open` reads it (universal newlines)
        text = data.decode("utf-8").replace("\r\n", "\n").replace("\r", "\n")
    except UnicodeDecodeError:
        return _read_plan(name)  # its message names the byte
    from hwdock.commands.plan_inputs import parse_plan

    plan = parse_plan(text, name)  # the bytes hashed, not the file again: it may change
    _store(folder, key, plan.to_dict())
    return plan


def _read_plan(name: str) -> Plan:
    from hwdock.commands.plan_inputs import read_plan as read

    return read(name)


def _key(data: bytes) -> str | None:
    """The hash of the plan file's bytes, hwdock's version and the sources in _SOURCES, or None
    when a source cannot be read (then nothing is remembered)."""
    import hwdock

    h = sha256(b"hwdock-saved-plan-v1\0" + __version__.encode() + b"\0")
    root = os.path.dirname(hwdock.__file__ or "")
    try:
        for rel in _SOURCES:
            with open(os.path.join(root, rel), "rb") as f:
                h.update(sha256(f.read()).digest())
    except OSError:
        return None
    h.update(data)
    return h.hexdigest()


def _store(folder: Path, key: str, doc: dict[str, Any]) -> None:
    """Remember `doc` (atomically: a reader sees the whole file or none); keep CACHE_SIZE."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps(doc), encoding="utf-8")
        os.replace(tmp, folder / f"{key}.json")
        entries = [e for e in os.scandir(folder) if e.name.endswith(".json")]
        if len(entries) > CACHE_SIZE:
            entries.sort(key=lambda e: e.stat().st_mtime_ns)
            for e in entries[: len(entries) - CACHE_SIZE]:
                os.unlink(e.path)
    except OSError:
        pass
