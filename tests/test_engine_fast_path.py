"""`hwdock build --plan P --json` is parsed by hand (entry.py's fast path); anything else goes
to typer. The fast path must hand over every argv it does not fully understand."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hwdock.commands import engine as cmd


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--plan", "p.json"],  # people's view: rich, typer
        ["--json"],  # SOURCE form: planning, typer
        ["src", "--plan", "p.json", "--json"],
        ["--plan", "p.json", "--json", "--dry-run"],
        ["--plan", "p.json", "--json", "--build-arg", "A=1"],
        ["--plan", "p.json", "--json", "--help"],
        ["--plan", "--json"],  # a missing value
        ["--plan", "p.json", "--plan", "q.json", "--json"],  # given twice
        ["--plan", "p.json", "--json", "--json"],
    ],
)
def test_other_argv_goes_to_typer(args: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(**kw: Any) -> None:
        raise AssertionError("the fast path ran a build it should have handed over")

    monkeypatch.setattr(cmd, "build", boom)
    assert cmd.fast_path(args) is None


def test_fast_path_passes_what_it_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(cmd, "build", lambda **kw: seen.update(kw))
    args = ["--network=none", "--plan", "p.json", "--json", "--force", "--engine", "podman"]
    assert cmd.fast_path(args) == 0
    assert seen["plan_file"] == Path("p.json") and seen["network"] == "none"
    assert seen["engine"] == "podman" and seen["force"] is True and seen["json_out"] is True
    assert seen["no_cache"] is False and seen["dry_run"] is False and seen["build_arg"] == []


def test_entry_routes_build_json_to_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    from hwdock import entry

    called: list[list[str]] = []
    monkeypatch.setattr(cmd, "fast_path", lambda a: called.append(a) or 0)
    with pytest.raises(SystemExit) as ei:
        entry.main(["build", "--plan", "p.json", "--json"])
    assert ei.value.code == 0 and called == [["--plan", "p.json", "--json"]]
