"""`hwdock plan`: decide what to pull, what to build and how, for this hardware."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hwdock.commands.common import FromOpt, HostOpt, NoEngineOpt, SourceArg, plan_options


def register(app: typer.Typer) -> None:
    @app.command("plan")
    @plan_options()
    def plan_cmd(
        source: SourceArg = None,
        host_report: HostOpt = None,
        from_capture: FromOpt = None,
        no_engine: NoEngineOpt = False,
        as_json: Annotated[bool, typer.Option("--json", help="The plan as JSON.")] = False,
        as_script: Annotated[
            bool, typer.Option("--script", help="The plan as a POSIX sh script.")
        ] = False,
        plan_opts: dict[str, Any] | None = None,
    ) -> None:
        """Decide what to pull, what to build and how, for this hardware, with reasons."""
        from hwdock.commands.plan_inputs import PlanArgs, load_host, make_plan
        from hwdock.errors import ExitCode, UsageError
        from hwdock.plan.make import is_incompatible

        if as_json and as_script:
            raise UsageError("give --json or --script, not both")
        args = PlanArgs(
            source=source, hf_cache=Path.home() / ".cache" / "huggingface", **(plan_opts or {})
        )
        args.check()  # before the probe runs
        host = load_host(host_report, from_capture)
        plan = make_plan(host, args, use_engine=not no_engine)
        if as_json:
            from hwdock.jsonout import dump

            dump(plan.to_dict())
        elif as_script:
            from hwdock.export.script import plan_script

            sys.stdout.write(plan_script(plan))
        else:
            from rich.console import Console

            from hwdock.plan.render import render

            render(plan, Console())
        if is_incompatible(plan):
            raise SystemExit(int(ExitCode.INCOMPATIBLE))
