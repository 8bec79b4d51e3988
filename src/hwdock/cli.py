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
    "hwdock.commands.watch": ("watch",),
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


def _click_error(err: BaseException) -> bool:
    """Whether `err` is click's (typer's) own parse error: an unknown command or option, a bad
    value. Matched by class name: typer vendors click from 0.28, earlier ones import it."""
    return any(c.__name__ == "ClickException" for c in type(err).__mro__)


def _usage_error(err: Exception) -> None:
    """click's parse error as hwdock's one-line `hwdock: error:`, with the help to read."""
    ctx = getattr(err, "ctx", None)
    if type(err).__name__ == "NoArgsIsHelpError":  # `hwdock export`: the group's help
        sys.stderr.write(err.format_message() + "\n")  # type: ignore[attr-defined]
        sys.exit(int(ExitCode.USAGE))
    message = err.format_message()  # type: ignore[attr-defined]
    code = getattr(err, "exit_code", int(ExitCode.USAGE))
    path = getattr(ctx, "command_path", None) or "hwdock"
    sys.stderr.write(f"hwdock: error: {message}\n  hint: see `{path} --help`\n")
    sys.exit(code)


def main(argv: list[str] | None = None) -> None:
    _register(sys.argv[1:] if argv is None else argv)
    try:
        rv = app(args=argv, prog_name="hwdock", standalone_mode=False)
    except HwdockError as err:
        sys.stderr.write(f"hwdock: error: {err}\n")
        sys.exit(int(err.exit_code))
    except KeyboardInterrupt:
        sys.stderr.write("hwdock: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    except BrokenPipeError:
        sys.exit(0)
    except Exception as err:
        if type(err).__name__ == "Abort":  # click's: end of input at a prompt
            sys.stderr.write("hwdock: interrupted\n")
            sys.exit(int(ExitCode.INTERRUPTED))
        if not _click_error(err):
            raise
        _usage_error(err)
    # without standalone mode typer.Exit(code) comes back as its code; a command's own return
    # value is not an exit status (as in standalone mode, which always ends with sys.exit)
    if rv == _TYPER_INTERRUPTED:
        sys.stderr.write("hwdock: interrupted\n")
        sys.exit(int(ExitCode.INTERRUPTED))
    sys.exit(rv if type(rv) is int else 0)


# typer turns a KeyboardInterrupt inside a command into Exit(130); no hwdock command exits 130
_TYPER_INTERRUPTED = 130
