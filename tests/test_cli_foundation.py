"""The CLI's foundation: version, help, and expected failures without tracebacks."""

from __future__ import annotations

import subprocess
import sys

from hwdock import __version__


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hwdock", *args], capture_output=True, text=True, timeout=60
    )


def test_version() -> None:
    out = run_cli("--version")
    assert out.returncode == 0
    assert out.stdout.strip() == f"hwdock {__version__}"


def test_unknown_command_is_a_usage_error_without_traceback() -> None:
    out = run_cli("no-such-command")
    assert out.returncode == 2
    assert "Traceback" not in out.stderr


def test_a_command_imports_only_its_own_module() -> None:
    from hwdock import cli

    assert cli._modules_for(["plan", "--json"]) == ["hwdock.commands.plan"]
    assert cli._modules_for(["--help"]) == list(cli.COMMAND_MODULES)
    assert cli._modules_for(["export", "k8s"]) == ["hwdock.commands.export"]


def test_every_listed_command_is_registered_by_its_module() -> None:
    import typer

    from hwdock import cli

    for module, commands in cli.COMMAND_MODULES.items():
        app = typer.Typer()
        __import__(module, fromlist=["register"]).register(app)
        names = {c.name for c in app.registered_commands} | {g.name for g in app.registered_groups}
        assert names == set(commands), module


def test_ctrl_c_in_a_command_exits_with_the_documented_code() -> None:
    import signal
    import time

    from hwdock.errors import ExitCode

    proc = subprocess.Popen(
        [sys.executable, "-m", "hwdock", "explain-error", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(2)  # reading stdin by now
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == ExitCode.INTERRUPTED
    assert "interrupted" in err and "Traceback" not in err
