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

# One line per area; each module's `register(app)` adds its commands.
COMMAND_MODULES: tuple[str, ...] = (
    "hwdock.commands.probe",
    "hwdock.commands.explain",
    "hwdock.commands.plan",
    "hwdock.commands.engine",
    "hwdock.commands.export",
)

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


def _register_all() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


def _only_the_invoked_command(argv: list[str]) -> None:
    """Keep just the command being run: typer builds every registered command's parameters
    on each start (about 15 ms for all of hwdock's), which the one that runs does not need.
    Help and unknown names keep the full list."""
    first = next((a for a in argv if not a.startswith("-")), None)
    if first is None or any(a in ("--help", "--version") for a in argv[: argv.index(first)]):
        return
    commands = [
        c
        for c in app.registered_commands
        if (c.name or (c.callback.__name__ if c.callback else "").lower().replace("_", "-"))
        == first
    ]
    if commands:
        app.registered_commands = commands
        app.registered_groups = []


def main(argv: list[str] | None = None) -> None:
    _register_all()
    _only_the_invoked_command(sys.argv[1:] if argv is None else argv)
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
