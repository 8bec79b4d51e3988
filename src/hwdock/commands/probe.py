"""`hwdock probe` and `hwdock capture`: what this host has, and a recording of it."""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

if TYPE_CHECKING:
    import typer

DEFAULT_TIMEOUT = 10.0


def run_probe(
    json_out: bool, from_dir: str | Path | None, timeout: float = DEFAULT_TIMEOUT
) -> None:
    """The body of `hwdock probe`, shared by typer and the fast path."""
    if from_dir is not None:
        from hwdock.probe import probe_capture

        report = probe_capture(from_dir)
    else:
        from hwdock.probe import probe_live

        report = probe_live(timeout=timeout)
    if json_out:
        from hwdock.jsonout import dump

        dump(report.to_dict())
    else:
        from hwdock.probe.render import render

        render(report)


def fast_path(args: list[str]) -> int | None:
    """`probe --json [--from DIR]` parsed by hand, so that programs calling it in a loop do not
    pay for typer's dispatch and every command's registration; any other argv returns None and
    typer parses it."""
    from hwdock.commands.fastargs import parse

    parsed = parse(args, flags={"--json": "json"}, values={"--from": "from_dir"})
    if parsed is None or "json" not in parsed[0]:
        return None  # the people's view imports rich anyway
    from_dir = parsed[0].get("from_dir")
    run_probe(True, from_dir)
    return 0


def register(app: "typer.Typer") -> None:
    import typer  # here, not above: `probe --json` (the fast path) never imports typer

    @app.command("probe")
    def probe_cmd(
        json_out: Annotated[
            bool, typer.Option("--json", help="Print the host report as JSON.")
        ] = False,
        from_dir: Annotated[
            Path | None,
            typer.Option(
                "--from", metavar="DIR", help="Replay a capture made by `hwdock capture`."
            ),
        ] = None,
        timeout: Annotated[
            float, typer.Option("--timeout", min=0.5, help="Seconds each helper command may take.")
        ] = DEFAULT_TIMEOUT,
    ) -> None:
        """This host's accelerators, drivers, CPU, device access and container engine."""
        run_probe(json_out, from_dir, timeout)

    @app.command("capture")
    def capture_cmd(
        directory: Annotated[
            Path, typer.Argument(help="Where to write the capture (new or empty).")
        ],
        description: Annotated[
            str, typer.Option("--description", help="A note stored in meta.json.")
        ] = "",
        force: Annotated[
            bool, typer.Option("--force", help="Replace a non-empty directory.")
        ] = False,
    ) -> None:
        """Record what the probe reads on this host, to replay with `probe --from DIR`."""
        from hwdock.probe.capture import record

        report = record(directory, description=description, force=force)
        typer.echo(
            f"captured {len(report.accelerators)} accelerator(s), {len(report.findings)} "
            f"finding(s) into {directory}; replay with `hwdock probe --from {directory}`"
        )
