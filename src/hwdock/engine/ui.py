"""What people see during a build: one line per step, a live line for the current build step."""

from __future__ import annotations

from typing import Any


class RichReporter:
    """An Events sink that renders build events with rich on stderr."""

    def __init__(self, verbose: bool = False) -> None:
        from rich.console import Console

        self.console = Console(stderr=True, highlight=False)
        self.verbose = verbose
        self._progress: Any = None
        self._task: Any = None

    def _stop(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
            self._task = None

    def _start(self, label: str) -> None:
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self._stop()
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            BarColumn(bar_width=20),
            TextColumn("{task.fields[detail]}", markup=False),
            TimeElapsedColumn(),
            console=self.console,
            transient=True,
        )
        self._task = self._progress.add_task(label, total=None, detail="")
        self._progress.start()

    def __call__(self, ev: dict[str, Any]) -> None:
        kind = ev.get("event")
        c = self.console
        if kind == "run-folder":
            c.print(f"[dim]logs and plan: {ev['path']}[/dim]")
        elif kind == "step-start":
            label = f"[{ev['index']}/{ev['total']}] {ev['step']}: {ev['action']} {ev['image']}"
            c.print(f"[bold]{label}[/bold]", markup=True)
            self._start(f"{ev['step']}")
        elif kind == "build-step" and self._progress is not None:
            name = str(ev.get("name", ""))[:70]
            idx, total = ev.get("index"), ev.get("total")
            if idx and total:
                self._progress.update(self._task, total=total, completed=idx - 1, detail=name)
            else:
                self._progress.update(self._task, detail=name)
        elif kind == "log" and self.verbose:
            c.print(f"  [dim]{ev.get('line', '')}[/dim]", markup=True)
        elif kind == "waiting":
            c.print(f"  waiting: {ev.get('message')} ({ev.get('image')})")
        elif kind == "warning":
            self._stop()
            c.print(f"  [yellow]warning:[/yellow] {ev.get('message')}")
        elif kind == "registry":
            plats = ", ".join(ev.get("platforms") or []) or "?"
            c.print(f"  registry: {ev.get('image')} {ev.get('status')} (platforms: {plats})")
        elif kind == "step-done":
            self._stop()
            result = ev.get("result")
            iid = (ev.get("image_id") or "")[7:19]
            mark = {"built": "built", "pulled": "pulled"}.get(str(result), "skipped")
            why = {
                "up-to-date": "up to date (plan hash matches, context not sent)",
                "present": "present locally",
                "local": "local image",
            }.get(str(result), f"in {ev.get('seconds', 0):.1f}s")
            c.print(f"  [green]✓[/green] {mark}: {ev.get('image')} {iid} — {why}")
        elif kind in ("error", "run-start", "dry-run"):
            self._stop()
