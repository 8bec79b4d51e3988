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
