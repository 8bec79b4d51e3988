"""`hwdock doctor`, `hwdock verify` and `hwdock explain-error`.

Only typer is imported at module level; the work (and rich) is imported inside each command.
"""

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    app.command("explain-error")(explain_error)


def explain_error(
    logfile: str = typer.Argument(
        "-", metavar="[LOGFILE|-]", help="A build or run log; '-' (default) reads stdin."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print a JSON document."),
) -> None:
    """Match a log against hwdock's table of known failures: cause, fix and source.

    Exit 1 (FAILED_CHECK) when the log contains a known failure, 0 when nothing known matched.
    """
    import sys

    from hwdock.doctor import known_errors
    from hwdock.errors import ExitCode, InputError

    if logfile == "-":
        text = sys.stdin.read()
        where = "<stdin>"
    else:
        path = Path(logfile)
        try:
            text = path.read_text("utf-8", errors="replace")
        except FileNotFoundError:
            raise InputError("no such file", path=logfile) from None
        except (IsADirectoryError, PermissionError, OSError) as err:
            raise InputError(f"cannot read: {err.strerror or err}", path=logfile) from None
        where = logfile
    matches = known_errors.match_text(text)
    if json_out:
        from hwdock.jsonout import dump

        dump(known_errors.report(matches, where))
    else:
        _print_matches(matches, where)
    if matches:
        raise typer.Exit(int(ExitCode.FAILED_CHECK))


def _print_matches(matches: list, where: str) -> None:
    from rich.console import Console

    console = Console()
    if not matches:
        console.print(f"No known failure found in {where}.")
        return
    for m in matches:
        more = f" (and {m.count - 1} more lines)" if m.count > 1 else ""
        console.print(f"[bold red]{m.title}[/]  [dim]{m.id}[/]")
        console.print(f"  [dim]{where}:{m.line}{more}:[/] {m.text}", markup=True, highlight=False)
        console.print(f"  [bold]cause:[/] {m.cause}", highlight=False)
        console.print(f"  [bold green]fix:[/] {m.fix}", highlight=False)
        console.print(f"  [dim]source: {m.source}[/]", highlight=False)
