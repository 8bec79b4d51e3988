"""The plan for people: verdicts first, then each decision with its reason, then the steps
with the exact commands (rich)."""

from __future__ import annotations

import shlex

from rich.console import Console
from rich.table import Table
from rich.text import Text

from hwdock.engine.argv import build_argv, pull_argv, run_argv
from hwdock.plan.model import Plan

_MARK = {"error": ("✗", "bold red"), "warning": ("!", "yellow"), "info": ("i", "cyan")}


def render(plan: Plan, console: Console) -> None:
    title = Text.assemble(
        ("hwdock plan", "bold"),
        f" — {plan.recipe} on {plan.platform}, route ",
        (plan.route, "bold"),
    )
    console.print(title)
    if plan.host or plan.accelerators:
        console.print(f"host {plan.host or '?'}; GPUs: {', '.join(plan.accelerators) or 'none'}")
    findings = [*plan.verdicts, *plan.warnings]
    if findings:
        console.print()
        for f in findings:
            mark, style = _MARK.get(f.severity, ("-", ""))
            console.print(Text.assemble((f" {mark} ", style), (f.code, style), f": {f.message}"))
            if f.fix:
                console.print(Text(f"     fix: {f.fix}", style="dim"))
    console.print()
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    table.add_column("decision")
    table.add_column("what")
    table.add_column("why")
    for d in plan.decisions:
        table.add_row(d.key, d.what, d.why)
    console.print(table)
    console.print()
    for i, step in enumerate(plan.steps, 1):
        console.print(
            Text.assemble((f"{i}. {step.action} ", "bold"), step.image, f" — {step.reason}")
        )
        if step.action == "pull":
            console.print(
                "   $ " + shlex.join(pull_argv(step.image)), markup=False, highlight=False
            )
        elif step.action == "build":
            path = "<hwdock.Dockerfile, see --json>" if step.generated_dockerfile else None
            argv = build_argv(step, dockerfile=path)
            prefix = "[skipped when present] " if step.skip_if_present else ""
            console.print("   $ " + prefix + shlex.join(argv), markup=False, highlight=False)
    if plan.run is not None:
        console.print(Text(f"{len(plan.steps) + 1}. run", style="bold"))
        console.print("   $ " + shlex.join(run_argv(plan.run)), markup=False, highlight=False)
        for note in plan.run.notes:
            console.print(Text(f"   note: {note}", style="dim"))
