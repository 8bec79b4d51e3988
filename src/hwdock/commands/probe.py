"""`hwdock probe` and `hwdock capture`: what this host has, and a recording of it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
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
        ] = 10.0,
    ) -> None:
        """This host's accelerators, drivers, CPU, device access and container engine."""
        if from_dir is not None:
            from hwdock.probe.capture import replay

            report = replay(from_dir)
        else:
            from hwdock.probe import probe_live

            report = probe_live(timeout=timeout)
        if json_out:
            from hwdock.jsonout import dump

            dump(report.to_dict())
        else:
            from hwdock.probe.render import render

            render(report)

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
