"""The people-facing view of a HostReport (rich tables)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from hwdock.probe.model import Accelerator, HostReport

SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _gib(n: int | None) -> str:
    return "-" if n is None else f"{n / 1024**3:.1f} GiB"


def _arch(a: Accelerator) -> str:
    if a.gfx_target:
        return a.gfx_target
    if a.compute_capability:
        return f"sm {a.compute_capability}"
    return "-"


def render(report: HostReport, console: Console | None = None) -> None:
    c = console or Console()
    title = (
        f"[bold]{report.hostname or 'host'}[/] · {report.os_release or '?'} · "
        f"kernel {report.kernel or '?'}"
    )
    if report.wsl:
        title += " · WSL"
    if report.jetson_release:
        title += f" · Jetson {report.jetson_release}"
    if report.source != "live":
        title += f" · {report.source}"
    c.print(title)

    if report.accelerators:
        t = Table(title="Accelerators", title_justify="left")
        for col in ("PCI", "vendor", "name", "arch", "memory", "driver", "node", "visible"):
            t.add_column(col)
        for a in report.accelerators:
            mem = _gib(a.memory_total_bytes)
            if a.integrated:
                mem += f" (iGPU, GTT {_gib(a.gtt_total_bytes)})" if a.gtt_total_bytes else " (iGPU)"
            t.add_row(
                a.pci_address or "-",
                a.vendor,
                a.name or "-",
                _arch(a),
                mem,
                a.kernel_driver or "-",
                a.render_node
                or (f"/dev/nvidia{a.minor_number}" if a.minor_number is not None else "-"),
                "yes" if a.visible else "[yellow]hidden[/]",
            )
        c.print(t)
    else:
        c.print("Accelerators: none found")

    if report.drivers:
        t = Table(title="Drivers", title_justify="left")
        for col in ("vendor", "version", "flavor", "CUDA driver API", "source"):
            t.add_column(col)
        for d in report.drivers:
            t.add_row(
                d.vendor,
                d.version or "-",
                d.flavor or "-",
                d.cuda_driver_version or "-",
                d.source or "-",
            )
        c.print(t)

    cpu = report.cpu
    c.print(
        f"[bold]CPU[/] {cpu.model_name or '?'} ({cpu.architecture or '?'}): "
        f"{cpu.sockets or '?'} socket(s), {cpu.physical_cores or '?'} cores, "
        f"{cpu.logical_cores or '?'} threads; ISA {cpu.isa_level or '?'} "
        f"\\[{' '.join(cpu.isa_flags)}]; memory {_gib(cpu.memory_total_bytes)} "
        f"({_gib(cpu.memory_available_bytes)} available)"
    )

    side = report.container
    if side.engines:
        t = Table(title="Container engines", title_justify="left")
        for col in ("engine", "client", "server", "buildx", "BuildKit", "runtimes", "data root"):
            t.add_column(col)
        for e in side.engines:
            t.add_row(
                e.name
                + (f"\n{e.client_path}" if e.client_path and e.client_path != e.name else ""),
                e.client_version or "-",
                e.server_version or "[red]no answer[/]",
                e.buildx_version or "-",
                ("yes" if e.buildkit_usable else "no")
                + (" (built in)" if e.build_mode == "buildkit" else ""),
                ", ".join(e.runtimes) or "-",
                e.data_root or "-",
            )
        c.print(t)
    else:
        c.print("Container engines: none found")
    extras = []
    if side.nvidia_ctk_version:
        extras.append(f"nvidia-ctk {side.nvidia_ctk_version}")
    if side.nvidia_container_runtime:
        extras.append("nvidia-container-runtime present")
    for spec in side.cdi_specs:
        extras.append(f"CDI {spec.kind} ({len(spec.devices)} devices) in {spec.path}")
    for d in report.disks:
        extras.append(f"disk {d.path}: {_gib(d.free_bytes)} free of {_gib(d.total_bytes)}")
    for line in extras:
        c.print(f"  {line}")

    if report.device_access:
        t = Table(title="Device access", title_justify="left")
        for col in ("device", "exists", "read", "write", "group", "mode"):
            t.add_column(col)
        for x in report.device_access:
            t.add_row(
                x.path,
                "yes" if x.exists else "[red]no[/]",
                _yn(x.readable),
                _yn(x.writable),
                x.group or "-",
                x.mode or "-",
            )
        c.print(t)

    if report.findings:
        c.print("[bold]Findings[/]")
        for f in report.findings:
            style = SEVERITY_STYLE.get(f.severity, "")
            c.print(f"  [{style}]{f.severity}[/] {f.code}: {f.message}", highlight=False)
            if f.fix:
                c.print(f"      fix: {f.fix}", highlight=False)
    else:
        c.print("[green]No findings.[/]")


def _yn(b: bool) -> str:
    return "yes" if b else "[red]no[/]"
