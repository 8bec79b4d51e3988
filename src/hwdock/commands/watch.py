"""`hwdock watch list` and `hwdock watch stop`: the context watchers `hwdock build` starts.

Only typer is imported at module level; the work is imported inside each command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from hwdock.commands.common import JsonOpt

WATCH_SCHEMA_VERSION = 1

watch_app = typer.Typer(
    help="The background context watchers that make an unchanged `hwdock build` instant.",
    no_args_is_help=True,
)


def register(app: typer.Typer) -> None:
    app.add_typer(watch_app, name="watch")


@watch_app.command("list")
def watch_list(as_json: JsonOpt = False) -> None:
    """The running watchers: which context, how many directories, whether the digest is current."""
    from hwdock.engine.watch import list_watchers, watch_enabled

    watchers = [w.to_dict() for w in list_watchers()]
    if as_json:
        from hwdock.jsonout import dump, envelope

        body = {"enabled": watch_enabled(), "watchers": watchers}
        dump(envelope("watchers", WATCH_SCHEMA_VERSION, body))
        return
    if not watch_enabled():
        typer.echo("context watchers are off (HWDOCK_WATCH=0): every build walks its context")
    if not watchers:
        typer.echo("no context watcher runs")
        return
    for w in watchers:
        files = w.get("files")
        what = f"{files} files" if files is not None else "no current digest"
        n = w.get("watches")
        typer.echo(
            f"{w.get('root')}: pid {w.get('pid')}, {w.get('state')}, "
            f"{n} {'directory' if n == 1 else 'directories'} watched, {what}"
        )


@watch_app.command("stop")
def watch_stop(
    context: Annotated[
        Path | None,
        typer.Argument(help="The build context whose watcher to stop (default: all)."),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Stop a context's watcher, or all of them; the next build walks and starts one again."""
    from hwdock.engine.watch import stop_watchers

    stopped = stop_watchers(context)
    if as_json:
        from hwdock.jsonout import dump, envelope

        dump(envelope("watchers-stopped", WATCH_SCHEMA_VERSION, {"stopped": stopped}))
        return
    if not stopped:
        typer.echo("no watcher to stop" + (f" for {context}" if context else ""))
    for root in stopped:
        typer.echo(f"stopped the watcher of {root}")
