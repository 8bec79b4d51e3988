"""The `hwdock` entry point: a fast path for `--json` reports, then the typer CLI.

Some commands (`probe --json`, `explain --json`, `plan --json`, `build --plan P --json`) are
called by programs in loops; typer's import and its parameter layer cost more than the work.
Such a command offers
`fast_path(args) -> int | None` in its module (None: not handled, e.g. `--help` or an
option it does not know), and this module tries it before importing `hwdock.cli`.
Everything else goes to typer unchanged.
"""

from __future__ import annotations

import importlib
import sys

# command -> module with `fast_path(args: list[str]) -> int | None`
FAST_PATHS: dict[str, str] = {
    "probe": "hwdock.commands.probe",
    "explain": "hwdock.commands.explain",
    "build": "hwdock.commands.engine",
    "plan": "hwdock.commands.plan",
}


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in FAST_PATHS and "--json" in args:
        from hwdock.errors import HwdockError

        try:
            code = importlib.import_module(FAST_PATHS[args[0]]).fast_path(args[1:])
        except HwdockError as err:
            sys.stderr.write(f"hwdock: error: {err}\n")
            sys.exit(int(err.exit_code))
        except BrokenPipeError:
            sys.exit(0)
        except KeyboardInterrupt:
            from hwdock.errors import ExitCode

            sys.stderr.write("hwdock: interrupted\n")
            sys.exit(int(ExitCode.INTERRUPTED))
        if code is not None:
            sys.exit(code)
    from hwdock.cli import main as cli_main

    cli_main(argv)
