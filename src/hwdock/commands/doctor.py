"""`hwdock doctor`, `hwdock verify` and `hwdock explain-error`.

Only typer is imported at module level; the work (and rich) is imported inside each command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer) -> None:
    app.command("doctor")(doctor)
    app.command("explain-error")(explain_error)


_HOST = typer.Option("--host", metavar="REPORT.json", help="Use a saved host report.")
_FROM = typer.Option("--from", metavar="CAPTURE", help="Replay a host capture directory.")
_PLAN = typer.Option("--plan", metavar="PLAN.json", help="Use a saved plan (hwdock plan --json).")
_JSON = typer.Option("--json", help="Print a JSON document.")


def doctor(
    source: Annotated[
        Path | None, typer.Argument(help="Source tree or Dockerfile to plan for.")
    ] = None,
    recipe: Annotated[
        str | None, typer.Option("--recipe", help="Recipe: vllm, or none for generic.")
    ] = None,
    platform: Annotated[
        str | None, typer.Option("--platform", help="cuda, rocm, cpu or xpu.")
    ] = None,
    gpu: Annotated[
        list[str] | None, typer.Option("--gpu", help="Accelerator(s) to use (PCI address).")
    ] = None,
    dockerfile: Annotated[
        str | None, typer.Option("--dockerfile", "-f", help="Dockerfile path.")
    ] = None,
    build_arg: Annotated[
        list[str] | None, typer.Option("--build-arg", help="KEY=VALUE passed to the plan.")
    ] = None,
    customize: Annotated[
        list[str] | None, typer.Option("--customize", help="What to change (plan option).")
    ] = None,
    target: Annotated[str | None, typer.Option("--target", help="Build target stage.")] = None,
    model: Annotated[Path | None, typer.Option("--model", help="Model directory to mount.")] = None,
    host_json: Annotated[str | None, _HOST] = None,
    capture: Annotated[str | None, _FROM] = None,
    plan_json: Annotated[str | None, _PLAN] = None,
    json_out: Annotated[bool, _JSON] = False,
) -> None:
    """Check this host against what the plan needs: each check with evidence and the fix.

    Exit 1 (FAILED_CHECK) when a check fails.
    """
    from hwdock.doctor import inputs
    from hwdock.doctor.checks import run_checks
    from hwdock.doctor.model import document, summary
    from hwdock.errors import ExitCode

    args = inputs.PlanArgs(
        source=source,
        dockerfile=dockerfile,
        recipe=recipe,
        platform=platform,
        gpu=list(gpu or []),
        model=model,
        customize=list(customize or []),
        build_args=inputs.parse_build_args(build_arg or []),
        target=target,
    )
    host = inputs.load_host(host_json, capture)
    plan = inputs.make_plan(host, plan_json, args)
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
    json_out: Annotated[bool, typer.Option("--json", help="Print a JSON document.")] = False,
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
