"""`hwdock doctor`, `hwdock verify` and `hwdock explain-error`.

Only typer is imported at module level; the work (and rich) is imported inside each command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hwdock.commands.common import (
    FromOpt,
    HostOpt,
    JsonOpt,
    PlanFileOpt,
    SourceArg,
    plan_options,
)

if TYPE_CHECKING:
    from hwdock.commands.plan_inputs import PlanArgs
    from hwdock.plan.model import Plan
    from hwdock.probe.model import HostReport


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
    app.command("verify")(verify)
    app.command("explain-error")(explain_error)


def _host_and_plan(
    host_report: Path | None,
    capture: Path | None,
    plan_file: Path | None,
    args: PlanArgs,
) -> tuple[HostReport, Plan | None]:
    """The host (--host/--from/live), and the plan: --plan PLAN.json, one made from SOURCE and
    the plan options, or None when neither was asked for."""
    from hwdock.commands.plan_inputs import load_host, make_plan, read_plan
    from hwdock.errors import UsageError

    if plan_file is not None and args.wanted:
        raise UsageError("give --plan or SOURCE/--recipe, not both")
    host = load_host(host_report, capture)
    if plan_file is not None:
        return host, read_plan(plan_file)
    return host, make_plan(host, args, use_engine=False) if args.wanted else None


@plan_options()
def doctor(
    source: SourceArg = None,
    host_report: HostOpt = None,
    capture: FromOpt = None,
    plan_file: PlanFileOpt = None,
    json_out: JsonOpt = False,
    plan_opts: dict[str, Any] | None = None,
) -> None:
    """Check this host against what the plan needs: each check with evidence and the fix.

    Exit 1 (FAILED_CHECK) when a check fails.
    """
    from hwdock.commands.plan_inputs import PlanArgs
    from hwdock.doctor.checks import run_checks
    from hwdock.doctor.model import document, summary
    from hwdock.errors import ExitCode

    host, plan = _host_and_plan(
        host_report, capture, plan_file, PlanArgs(source, **(plan_opts or {}))
    )
    checks = run_checks(host, plan)
    if json_out:
        from hwdock.jsonout import dump

        dump(
            document(
                "doctor-report",
                checks,
                host=host.hostname,
                host_source=host.source,
                plan=None
                if plan is None
                else {"platform": plan.platform, "route": plan.route, "image": plan.final_image},
            )
        )
    else:
        from hwdock.doctor.render import print_checks

        title = f"hwdock doctor: {host.hostname or 'this host'}"
        if plan is not None:
            title += f" for {plan.platform} ({plan.route}, {plan.final_image})"
        print_checks(title, checks)
    if summary(checks)["fail"]:
        raise typer.Exit(int(ExitCode.FAILED_CHECK))


def explain_error(
    logfile: Annotated[
        str,
        typer.Argument(
            metavar="[LOGFILE|-]", help="A build or run log; '-' (default) reads stdin."
        ),
    ] = "-",
    json_out: JsonOpt = False,
) -> None:
    """Match a log against hwdock's table of known failures: cause, fix and source.

    Exit 1 (FAILED_CHECK) when the log contains a known failure, 0 when nothing known matched.
    """
    import sys

    from hwdock.doctor import known_errors
    from hwdock.errors import ExitCode

    if logfile == "-":
        text = sys.stdin.buffer.read().decode("utf-8", errors="replace")  # any locale
        where = "<stdin>"
    else:
        from hwdock.jsonin import read_text

        text = read_text(logfile, "log", errors="replace")
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


@plan_options("recipe", "platform", "gpu")
def verify(
    image: Annotated[str, typer.Argument(help="The image to verify (local).")],
    host_report: HostOpt = None,
    capture: FromOpt = None,
    plan_file: PlanFileOpt = None,
    source: Annotated[
        Path | None, typer.Option("--source", help="Plan from this source tree for the run flags.")
    ] = None,
    device: Annotated[
        list[str] | None,
        typer.Option("--device", metavar="SRC[:DST]", help="Extra device node to pass in."),
    ] = None,
    group_add: Annotated[
        list[int] | None, typer.Option("--group-add", metavar="GID", help="Extra group id.")
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", "-e", metavar="KEY=VALUE", help="Extra env.")
    ] = None,
    serve: Annotated[
        bool, typer.Option("--serve", help="Also start the server and wait for its health URL.")
    ] = False,
    port: Annotated[int, typer.Option("--port", help="The server's port in the container.")] = 8000,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", help="Seconds before giving up (default 180, 900 with --serve)."),
    ] = None,
    engine: Annotated[str | None, typer.Option("--engine", help="docker or podman.")] = None,
    json_out: JsonOpt = False,
    plan_opts: dict[str, Any] | None = None,
) -> None:
    """Prove inside the container that the GPU works: devices, framework, arch list, a kernel.

    Exit 1 (FAILED_CHECK) when a check fails; what could not be checked is reported as skip.
    """
    import os

    from hwdock.commands.plan_inputs import PlanArgs, parse_pairs
    from hwdock.doctor import verify as v
    from hwdock.doctor.checks import chosen_accelerators
    from hwdock.doctor.model import document, summary
    from hwdock.doctor.runner import find_runner
    from hwdock.errors import ExitCode, HwdockError, UsageError

    opts = plan_opts or {}
    gpu = opts.get("gpu")
    host, plan = _host_and_plan(host_report, capture, plan_file, PlanArgs(source, **opts))
    chosen = chosen_accelerators(host, plan)
    if gpu and plan is None:
        chosen = [a for a in host.accelerators if a.key in gpu]
        unknown = sorted(set(gpu) - {a.key for a in chosen})
        if unknown:
            raise UsageError(f"no accelerator {', '.join(unknown)} on this host (see hwdock probe)")
    runner = find_runner(engine)
    inspect = runner.image_inspect(image)
    if inspect is None:
        raise HwdockError(
            f"image {image} not found by {runner.name}",
            hint="build it (hwdock build) or pull it first",
        )
    spec = (
        plan.run
        if plan is not None and plan.run is not None
        else v.default_run_spec(host, chosen, image)
    )
    extra_env = parse_pairs(env, "--env")
    spec = v.dataclasses.replace(
        spec,
        group_add=[*spec.group_add, *(g for g in (group_add or []) if g not in spec.group_add)],
        env={**spec.env, **extra_env},
    )
    req = v.prepare(
        image,
        spec,
        extra_devices=list(device or []),
        exists=os.path.exists,
        serve=serve,
        port=port,
        image_config=inspect.get("Config") or {},
    )
    limit = timeout if timeout is not None else (900.0 if serve else 180.0)
    if serve:
        req.spec.env["HWDOCK_SERVE_TIMEOUT"] = str(int(max(1, limit - 30)))
    done = v.run_verify(runner, req, timeout=limit)
    records, raw = v.parse_output(done.stdout)
    checks = v.evaluate(
        records,
        raw,
        host=host,
        plan=plan,
        req=req,
        image_environment=v.image_env(inspect),
        returncode=done.returncode,
        stderr=done.stderr,
        serve=serve,
        chosen=chosen,
    )
    if json_out:
        from hwdock.jsonout import dump

        dump(
            document(
                "verify-report",
                checks,
                image=image,
                engine=runner.name,
                host=host.hostname,
                run={
                    "devices": req.spec.devices,
                    "group_add": req.spec.group_add,
                    "gpus": req.spec.gpus,
                    "cdi_devices": req.spec.cdi_devices,
                    "runtime": req.spec.runtime,
                },
                log=raw[-40:],
            )
        )
    else:
        from hwdock.doctor.render import print_checks

        print_checks(f"hwdock verify: {image} on {host.hostname or 'this host'}", checks)
    if summary(checks)["fail"]:
        raise typer.Exit(int(ExitCode.FAILED_CHECK))
