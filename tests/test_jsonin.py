"""The shared readers for user-named files: typed `from_data`, `read_text`, `read_json`."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pytest

from hwdock.errors import InputError
from hwdock.jsonin import check_regular_file, from_data, read_json, read_text
from hwdock.plan.model import Plan
from hwdock.probe.model import Accelerator, HostReport


@dataclass
class Inner:
    name: str
    count: int | None = None


@dataclass
class Outer:
    kind: Literal["a", "b"]
    items: list[Inner] = field(default_factory=list)
    pairs: list[tuple[int, int]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    ratio: float = 1.0
    on: bool = False


def test_from_data_builds_nested_and_converts_tuples() -> None:
    got = from_data(
        Outer,
        {"kind": "a", "items": [{"name": "x", "count": 2}], "pairs": [[1, 2]], "ratio": 2},
    )
    assert got == Outer("a", [Inner("x", 2)], [(1, 2)], {}, 2.0, False)


def test_from_data_ignores_unknown_keys_and_null_lists() -> None:
    got = from_data(Outer, {"kind": "b", "items": None, "future_field": [1]})
    assert got.items == [] and got.kind == "b"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"kind": "c"}, "kind: expected one of 'a', 'b', got the string 'c'"),
        ({"kind": "a", "items": "x"}, "items: expected a list, got the string 'x'"),
        ({"kind": "a", "items": ["x"]}, "items[0]: expected an object, got the string 'x'"),
        ({"kind": "a", "items": [{}]}, "items[0].name: missing"),
        (
            {"kind": "a", "items": [{"name": "x", "count": "2"}]},
            "items[0].count: expected an integer or null, got the string '2'",
        ),
        ({"kind": "a", "pairs": [[1]]}, "pairs[0]: expected a list of 2, got a list"),
        ({"kind": "a", "pairs": [[1, "2"]]}, "pairs[0][1]: expected an integer"),
        ({"kind": "a", "labels": ["A=1"]}, "labels: expected an object, got a list"),
        ({"kind": "a", "labels": {"A": 1}}, "labels.A: expected a string, got the number 1"),
        ({"kind": "a", "on": "yes"}, "on: expected true or false"),
        ({"kind": "a", "ratio": True}, "ratio: expected a number, got true"),
        ({}, "kind: missing"),
    ],
)
def test_from_data_names_the_bad_field(data: dict, message: str) -> None:
    with pytest.raises(InputError) as err:
        from_data(Outer, data)
    assert message in str(err.value)


def test_from_data_rejects_a_non_object() -> None:
    with pytest.raises(InputError, match="document: expected an object, got a list"):
        from_data(Outer, [1])


def test_host_report_from_dict_type_checks() -> None:
    good = HostReport(accelerators=[Accelerator("amd", pci_address="0000:03:00.0")]).to_dict()
    assert HostReport.from_dict(good).accelerators[0].pci_address == "0000:03:00.0"
    assert HostReport.from_dict({**good, "accelerators": None}).accelerators == []
    bad = {**good, "accelerators": [{**good["accelerators"][0], "numa_node": "0"}]}
    with pytest.raises(InputError, match=r"accelerators\[0\]\.numa_node: expected an integer"):
        HostReport.from_dict(bad)
    with pytest.raises(InputError, match="cpu: expected an object, got a list"):
        HostReport.from_dict({**good, "cpu": [1]})
    with pytest.raises(InputError, match="schema_version '1' is not an integer"):
        HostReport.from_dict({**good, "schema_version": "1"})
    with pytest.raises(InputError, match="newer"):
        HostReport.from_dict({**good, "schema_version": 99})


def test_plan_from_dict_type_checks_and_refuses_newer() -> None:
    doc = {"kind": "plan", "schema_version": 1, "recipe": "generic", "platform": "cpu"}
    with pytest.raises(InputError, match="route: missing"):
        Plan.from_dict(doc)
    doc["route"] = "build"
    assert Plan.from_dict(doc).route == "build"
    with pytest.raises(InputError, match="route: expected one of"):
        Plan.from_dict({**doc, "route": 7})
    with pytest.raises(InputError, match=r"steps\[0\]\.action: missing"):
        Plan.from_dict({**doc, "steps": [{"id": "app", "image": "x", "reason": "y"}]})
    with pytest.raises(InputError, match=r"run\.ports\[0\]: expected a list of 2"):
        Plan.from_dict({**doc, "run": {"image": "x", "ports": ["8000"]}})
    run = Plan.from_dict({**doc, "run": {"image": "x", "ports": [[1, 2]]}}).run
    assert run is not None and run.ports == [(1, 2)]
    with pytest.raises(InputError, match="plan schema_version 2 is newer"):
        Plan.from_dict({**doc, "schema_version": 2})


def test_read_text_refuses_what_is_not_a_regular_file(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opening it would block until a writer comes
    with pytest.raises(InputError, match="not a regular file \\(a FIFO\\)"):
        read_text(fifo, "log")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "gone")
    with pytest.raises(InputError, match="dangling symlink"):
        read_text(link, "log")
    with pytest.raises(InputError, match="is a directory"):
        read_json(tmp_path, "plan")
    with pytest.raises(InputError, match="no such file"):
        check_regular_file(str(tmp_path / "none"), "plan")


def test_read_text_non_utf8(tmp_path: Path) -> None:
    p = tmp_path / "x.json"
    p.write_bytes(b'{"a": "\xff"}')
    with pytest.raises(InputError, match=r"x\.json: not text \(not UTF-8: .* at byte 7\)"):
        read_json(p, "plan")
    assert "\ufffd" in read_text(p, "log", errors="replace")
    p.write_text(json.dumps({"a": 1}))
    assert read_json(p, "plan") == {"a": 1}
