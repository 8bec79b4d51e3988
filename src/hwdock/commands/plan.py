"""`hwdock plan`: decide what to pull, what to build and how, for this hardware.

`plan --json` has a fast path (hwdock.entry): the plain option forms are parsed by hand,
before typer is imported.
"""

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from hwdock.commands.plan_inputs import PLAN_FLAGS, PLAN_OPTION_NAMES, PLAN_REPEATED

if TYPE_CHECKING:
    import typer


def run_plan(
    source: Path | None,
    *,
    host_report: Path | None,
    from_capture: Path | None,
    no_engine: bool,
    as_json: bool,
    as_script: bool,
    plan_opts: dict[str, Any],
) -> None:
    """The body of `hwdock plan`, whether typer or the fast path parsed the command line."""
    from hwdock.commands.plan_inputs import PlanArgs, load_host, make_plan
    from hwdock.errors import ExitCode, UsageError
    from hwdock.plan.make import is_incompatible

    if as_json and as_script:
        raise UsageError("give --json or --script, not both")
    args = PlanArgs(source, hf_cache=Path.home() / ".cache" / "huggingface", **plan_opts)
    args.check()  # before the probe runs
    plan = make_plan(load_host(host_report, from_capture), args, use_engine=not no_engine)
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


_FAST_FLAGS = {
    "--json": "as_json",
    "--script": "as_script",
    "--no-engine": "no_engine",
    **{name: field for field in PLAN_FLAGS for name in PLAN_OPTION_NAMES[field]},
}
_FAST_VALUES = {
    "--host": "host_report",
    "--from": "from_capture",
    **{
        name: field
        for field, names in PLAN_OPTION_NAMES.items()
        if field not in PLAN_FLAGS
        for name in names
    },
}


def fast_path(args: list[str]) -> int | None:
    """`plan [SOURCE] --json [plan options]` parsed by hand; None: typer parses it."""
    from hwdock.commands.fastargs import parse

    parsed = parse(
        args, flags=_FAST_FLAGS, values=_FAST_VALUES, repeated=PLAN_REPEATED, positional=1
    )
    if parsed is None or "as_json" not in parsed[0]:
        return None
    opts, words = parsed
    if "port" in opts:
        if not opts["port"].isdigit():
            return None  # typer says what is wrong with it
        opts["port"] = int(opts["port"])
    paths = {k: Path(opts.pop(k)) if k in opts else None for k in ("host_report", "from_capture")}
    if "model" in opts:
        opts["model"] = Path(opts["model"])
    run_plan(
        Path(words[0]) if words else None,
        no_engine=opts.pop("no_engine", False),
        as_json=opts.pop("as_json"),
        as_script=opts.pop("as_script", False),
        plan_opts=opts,
        **paths,
    )
    return 0


def register(app: "typer.Typer") -> None:
    import typer

    from hwdock.commands.common import FromOpt, HostOpt, NoEngineOpt, SourceArg, plan_options

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
        run_plan(
            source,
            host_report=host_report,
            from_capture=from_capture,
            no_engine=no_engine,
            as_json=as_json,
            as_script=as_script,
            plan_opts=plan_opts or {},
        )
