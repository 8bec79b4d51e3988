"""One unit test per bad-input fix found by tests/test_cli_bad_input.py."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from hwdock.errors import InputError, UsageError
from hwdock.export.writeout import write_atomic
from hwdock.plan import make_plan
from hwdock.plan.options import PlanOptions
from hwdock.plan.tree import read_text_fs
from hwdock.probe import capture
from hwdock.probe.runner import CommandResult
from tests.support import hosts as H

HOST = Path(__file__).parent / "fixtures" / "hosts" / "rx7900xtx-igpu"


def test_command_result_argv_must_be_a_list_of_strings() -> None:
    with pytest.raises(ValueError, match="argv must be a list of strings"):
        CommandResult.from_dict({"argv": "nvidia-smi"})
    assert CommandResult.from_dict({"argv": ["a", "b"]}).argv == ("a", "b")


def test_capture_with_a_malformed_command_names_the_entry(tmp_path: Path) -> None:
    cap = tmp_path / "cap"
    shutil.copytree(HOST, cap, symlinks=True)
    (cap / "commands.json").write_text(json.dumps([{"argv": "nvidia-smi"}]))
    with pytest.raises(InputError, match=r"commands\.json: commands\.json entry 0 is malformed"):
        capture.load(cap)
    (cap / "commands.json").write_text(json.dumps(["nvidia-smi"]))
    with pytest.raises(InputError, match="entry 0 is malformed"):
        capture.load(cap)


def test_capture_folder_given_as_a_file(tmp_path: Path) -> None:
    f = tmp_path / "host.json"
    f.write_text("{}")
    with pytest.raises(InputError, match="not a capture directory") as err:
        capture.load(f)
    assert "--host" in str(err.value)


def test_capture_meta_json_that_is_a_fifo(tmp_path: Path) -> None:
    cap = tmp_path / "cap"
    shutil.copytree(HOST, cap, symlinks=True)
    (cap / "meta.json").unlink()
    os.mkfifo(cap / "meta.json")
    with pytest.raises(InputError, match="not a regular file"):
        capture.load(cap)


def test_record_into_a_file_or_under_one_is_a_usage_error(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(UsageError, match="exists and is not a directory"):
        capture.record(f)
    with pytest.raises(UsageError, match="cannot create the capture folder"):
        capture.record(f / "sub")


def test_plan_target_must_name_a_stage(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox AS a\nFROM a AS b\n")
    host = H.rx7900xtx_igpu()
    with pytest.raises(UsageError, match="--target 'nope': no such stage") as err:
        make_plan(host, PlanOptions(source=tmp_path, target="nope"))
    assert "stages: a, b" in str(err.value)
    step = make_plan(host, PlanOptions(source=tmp_path, target="A")).steps[-1]
    assert step.target == "A"


def test_unknown_recipe_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM busybox\n")
    with pytest.raises(UsageError, match="unknown recipe 'nope'"):
        make_plan(H.rx7900xtx_igpu(), PlanOptions(source=tmp_path, recipe="nope"))


def test_read_text_fs_refuses_a_fifo_and_skips_folders(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "Dockerfile")
    with pytest.raises(InputError, match="not a regular file"):
        read_text_fs(tmp_path / "Dockerfile")
    assert read_text_fs(tmp_path) is None
    assert read_text_fs(tmp_path / "absent") is None


def test_write_atomic_output_path_problems(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(UsageError, match="is not a directory"):
        write_atomic(f / "out.yaml", "a")
    with pytest.raises(UsageError, match="does not exist"):
        write_atomic(tmp_path / "no" / "out.yaml", "a")
    with pytest.raises(UsageError, match="it is a directory"):
        write_atomic(tmp_path, "a")
    write_atomic(tmp_path / "ok.yaml", "a")
    assert (tmp_path / "ok.yaml").read_text() == "a"


def test_parse_platform_refuses_bad_components() -> None:
    from hwdock.dockerfile.platforms import parse_platform

    with pytest.raises(ValueError, match="'\\?\\?\\?' is not a valid component"):
        parse_platform("???")
    with pytest.raises(ValueError, match="not a valid component"):
        parse_platform("linux/amd 64")
    assert str(parse_platform("linux/arm64/v8")) == "linux/arm64"
    assert str(parse_platform("windows(10.0.17763)/amd64")).endswith("/amd64")


@pytest.mark.parametrize(
    ("argv", "phrase"),
    [
        (["no-such-command"], "No such command 'no-such-command'"),
        (["explain-error", "--nope"], "No such option: --nope"),
        (["export", "yaml"], "hint: see `hwdock export --help`"),
    ],
)
def test_cli_parse_errors_are_one_hwdock_error_line(
    argv: list[str], phrase: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from hwdock import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    err = capsys.readouterr().err
    assert exit_.value.code == 2
    assert err.startswith("hwdock: error: ") and phrase in err and "Usage:" not in err


def test_explain_base_dockerfile_must_exist(tmp_path: Path) -> None:
    from hwdock.commands.explain import run_explain

    (tmp_path / "Dockerfile").write_text("FROM base:1\n")
    with pytest.raises(
        InputError, match=r"^--base-dockerfile \S*base:1=nope\.df: no such Dockerfile"
    ):
        run_explain(tmp_path, None, [], None, None, ["base:1=nope.df"], use_engine=False)
    (tmp_path / "base.df").write_text("FROM busybox\n")
    graph, _ = run_explain(tmp_path, None, [], None, None, ["base:1=base.df"], use_engine=False)
    assert graph is not None


def test_explain_dockerfile_fifo_is_refused(tmp_path: Path) -> None:
    from hwdock.commands.explain import run_explain

    os.mkfifo(tmp_path / "Dockerfile")
    with pytest.raises(InputError, match="not a regular file"):
        run_explain(tmp_path, None, [], None, None, [], use_engine=False)


def test_check_tag() -> None:
    from hwdock.commands.plan_inputs import check_tag

    check_tag("myapp:gfx1100-abc")
    check_tag("127.0.0.1:5000/team/app:1.0")
    for bad, phrase in [
        ("bad tag", "invalid reference format"),
        ("UPPER:x", "must be lowercase"),
        ("a@sha256:" + "0" * 64, "cannot carry a digest"),
    ]:
        with pytest.raises(UsageError, match=phrase):
            check_tag(bad)


def test_run_port_range(capsys: pytest.CaptureFixture[str]) -> None:
    from hwdock import cli

    with pytest.raises(SystemExit) as exit_:
        cli.main(["run", "busybox", "--port", "8000:0", "--dry-run"])
    assert exit_.value.code == 2
    assert "--port '8000:0': a port is a number from 1 to 65535" in capsys.readouterr().err


def test_cli_abort_and_exit_codes(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import typer

    from hwdock import cli

    app = typer.Typer(add_completion=False)

    @app.command()
    def abort() -> None:
        raise typer.Abort()

    @app.command()
    def fail() -> None:
        raise typer.Exit(code=5)

    @app.command()
    def ok() -> None:
        pass

    monkeypatch.setattr(cli, "app", app)
    monkeypatch.setattr(cli, "_register", lambda args: None)
    for argv, code in ((["abort"], 8), (["fail"], 5), (["ok"], 0)):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == code, argv
    assert "hwdock: interrupted" in capsys.readouterr().err


def test_no_command_returns_a_value() -> None:
    """cli.main runs typer without standalone mode, where a command's return value would come
    back like typer.Exit's code: commands end with `raise typer.Exit(code)`, never `return x`."""
    import ast

    found: list[str] = []
    seen = 0
    for f in (Path(__file__).parent.parent / "src" / "hwdock" / "commands").glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text())):
            if not isinstance(node, ast.FunctionDef) or not any(
                isinstance(d, ast.Call) and getattr(d.func, "attr", "") == "command"
                for d in node.decorator_list
            ):
                continue
            seen += 1
            inner = {
                id(r)
                for sub in ast.walk(node)
                if isinstance(sub, (ast.FunctionDef, ast.Lambda)) and sub is not node
                for r in ast.walk(sub)
            }
            found += [
                f"{f.name}:{r.lineno}"
                for r in ast.walk(node)
                if isinstance(r, ast.Return)
                and r.value is not None
                and not (isinstance(r.value, ast.Constant) and r.value.value is None)
                and id(r) not in inner
            ]
    assert seen >= 12  # probe, capture, explain, plan, build, run, up, doctor, ...
    assert found == []
