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


# Commands that programs call in loops may take a fast path for their simplest argv: the
# module's `fast(args) -> int | None` runs it without typer's dispatch (and without importing
# and registering every other command), or returns None to let typer parse as usual.
FAST_PATHS: dict[str, str] = {"probe": "hwdock.commands.probe"}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        if args and args[0] in FAST_PATHS:
            code = importlib.import_module(FAST_PATHS[args[0]]).fast(args[1:])
            if code is not None:
                sys.exit(code)
        _register_all()
        app(args=args, prog_name="hwdock")
    except HwdockError as err:
        sys.stderr.write(f"hwdock: error: {err}\n")
        sys.exit(int(err.exit_code))
    except KeyboardInterrupt:
        sys.stderr.write("hwdock: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    except BrokenPipeError:
        sys.exit(0)
