"""Rich output of checks for people."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from hwdock.doctor.model import Check, summary

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def print_checks(title: str, checks: list[Check], console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=title, show_lines=False, title_justify="left")
    table.add_column("status", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("finding")
    table.add_column("fix")
    for c in checks:
        finding = c.message
        if c.evidence and c.status in ("warn", "fail"):
            finding += "\n[dim]" + "\n".join(c.evidence[:3]) + "[/]"
        table.add_row(
            f"[{_STYLE[c.status]}]{c.status}[/]",
            c.id,
            finding,
            c.fix or "",
        )
    console.print(table, highlight=False)
    counts = summary(checks)
    console.print(", ".join(f"{n} {s}" for s, n in counts.items() if n))
