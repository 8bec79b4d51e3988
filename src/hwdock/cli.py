"""hwdock's command line: thin, and light to start.

Only typer is imported here. Each command lives in `hwdock.commands.<area>`, a small module
whose `register(app)` declares the options; the work (and its heavy imports) happens inside
the command body. Expected failures are `HwdockError`s: one message, a documented exit code,
never a traceback.
"""

from __future__ import annotations

import importlib
import sys

import typer

from hwdock import __version__
from hwdock.errors import ExitCode, HwdockError

# Each area's module and the commands its `register(app)` adds. A run imports only the
# module of the command it names (all of them for help), so start-up stays light.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "hwdock.commands.probe": ("probe", "capture"),
    "hwdock.commands.explain": ("explain",),
    "hwdock.commands.plan": ("plan",),
    "hwdock.commands.engine": ("build", "run", "up"),
    "hwdock.commands.doctor": ("doctor", "verify", "explain-error"),
    "hwdock.commands.export": ("export", "fleet"),
}

app = typer.Typer(
    name="hwdock",
    help="Build and run the container image that fits this machine's GPUs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"hwdock {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """hwdock: probe the host, explain the Dockerfile, plan, build, run, verify."""


def _modules_for(args: list[str]) -> list[str]:
    """The command modules a run needs: the named command's, or every one (help, errors)."""
    first = next((a for a in args if not a.startswith("-")), None)
    for module, commands in COMMAND_MODULES.items():
        if first in commands:
            return [module]
    return list(COMMAND_MODULES)


def _register(args: list[str]) -> None:
    for name in _modules_for(args):
        importlib.import_module(name).register(app)


def main(argv: list[str] | None = None) -> None:
    _register(sys.argv[1:] if argv is None else argv)
    try:
        app(args=argv, prog_name="hwdock")
    except HwdockError as err:
        sys.stderr.write(f"hwdock: error: {err}\n")
        sys.exit(int(err.exit_code))
    except KeyboardInterrupt:
        sys.stderr.write("hwdock: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    except BrokenPipeError:
        sys.exit(0)
