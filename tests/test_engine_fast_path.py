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


# What an up-to-date `build --plan P --json` must not import: each costs milliseconds on a
# path that should take about two `python -c pass` (issue 5: "up to date in about a second"
# on 50,000 files; everything but the context digest is fixed cost). The context digest
# (hwdock.engine.context) is weighed on its own, so what it imports is not counted here.
NOT_ON_THE_FAST_PATH = (
    "dataclasses",
    "inspect",
    "typing",
    "subprocess",
    "socket",
    "secrets",
    "datetime",
    "hashlib",
    "shlex",
    "platformdirs",
    "typer",
    "rich",
    "hwdock.cli",
    "hwdock.plan.model",
    "hwdock.jsonin",
    "hwdock.dockerfile",
    "hwdock.commands.plan_inputs",
    "hwdock.engine.argv",
)


def _import_parents(importtime: str) -> dict[str, str]:
    """module -> the module whose import imported it, from `python -X importtime` output
    (children are listed before their parent, two spaces deeper)."""
    parent: dict[str, str] = {}
    waiting: list[tuple[int, str]] = []
    for line in importtime.splitlines():
        if not line.startswith("import time:") or line.count("|") != 2:
            continue
        field = line.split("|")[2]
        name = field.strip()
        if name == "imported package":
            continue
        level = (len(field) - len(field.lstrip()) - 1) // 2
        while waiting and waiting[-1][0] > level:
            parent[waiting.pop()[1]] = name
        waiting.append((level, name))
    return parent


def test_import_parents_reads_the_tree() -> None:
    text = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:        10 |         10 |     c\n"
        "import time:        10 |         20 |   b\n"
        "import time:        10 |         10 |   d\n"
        "import time:        10 |         40 | a\n"
        "import time:        10 |         10 | e\n"
    )
    assert _import_parents(text) == {"c": "b", "b": "a", "d": "a"}


@pytest.mark.engine
@pytest.mark.parametrize("watcher", [True, False], ids=["watcher", "walk"])
def test_up_to_date_build_imports_none_of_the_heavy_modules(
    docker_cli: str, busybox_image: str, tmp_path: Path, watcher: bool
) -> None:
    """With a context watcher's answer nothing heavy is imported at all; when the build walks
    the context, only the walk (hwdock.engine.context) may import what it needs."""
    import json
    import os
    import secrets
    import subprocess
    import sys
    import time

    from hwdock.engine import watch

    root = Path(__file__).resolve().parent.parent
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "a.txt").write_text("a\n")
    (ctx / "Dockerfile").write_text(f"FROM {busybox_image}\nCOPY . /src\n")
    tag = f"hwdock-engine-test-{secrets.token_hex(4)}/fast:1"
    step = {"id": "app", "action": "build", "image": tag, "reason": "r", "context": str(ctx)}
    plan = tmp_path / "plan.json"
    doc = {"kind": "plan", "recipe": "generic", "platform": "cpu", "route": "build"}
    plan.write_text(json.dumps({**doc, "steps": [step]}))
    state = tmp_path / "s"
    env = {**os.environ, "PYTHONPATH": str(root / "src"), "HWDOCK_STATE_DIR": str(state)}
    env["HWDOCK_WATCH"] = "1" if watcher else "0"
    env.pop("HWDOCK_ENGINE", None)
    argv = ["-m", "hwdock", "build", "--plan", str(plan), "--network", "none", "--json"]
    try:
        first = subprocess.run([sys.executable, *argv], capture_output=True, text=True, env=env)
        assert '"result": "built"' in first.stdout, first.stderr
        deadline = time.monotonic() + 20
        while watcher and time.monotonic() < deadline:
            if [w.data.get("state") for w in watch.list_watchers(state)] == ["ready"]:
                break
            time.sleep(0.1)
        again = subprocess.run(
            [sys.executable, "-X", "importtime", *argv], capture_output=True, text=True, env=env
        )
        assert again.returncode == 0, again.stderr[-2000:]
        (done,) = [json.loads(x) for x in again.stdout.splitlines() if '"step-done"' in x]
        assert done["result"] == "up-to-date"
        assert done["context_check"] == ("watcher" if watcher else "walk")
        parents = _import_parents(again.stderr)
        loaded = set(parents) | set(parents.values())
        assert {"hwdock.engine.execute", "hwdock.engine.api"} <= loaded  # the tree was read

        def via_walk(module: str) -> bool:
            while module in parents:
                module = parents[module]
                if module == "hwdock.engine.context":
                    return not watcher
            return False

        heavy = [m for m in NOT_ON_THE_FAST_PATH if m in loaded and not via_walk(m)]
        assert heavy == [], {m: parents.get(m) for m in heavy}
        assert watcher != ("hwdock.engine.context" in loaded)
    finally:
        watch.stop_watchers(state=state)
        subprocess.run([docker_cli, "image", "rm", "--force", tag], capture_output=True)
