"""`hwdock export script|compose|bake|k8s` and `hwdock fleet plan`.

Options are declared here; the work (and its imports) happens inside the command bodies so
`hwdock --help` stays fast. The exporters are pure (`hwdock.export.*`, `hwdock.fleet.*`);
this module reads inputs, calls the planner and writes files atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hwdock.commands.common import (
    FromOpt,
    HostOpt,
    JsonOpt,
    PlanFileOpt,
    SourceArg,
    plan_options,
)

EXPORT_SCHEMA_VERSION = 1

export_app = typer.Typer(
    help="Hand the plan to other tools: a shell script, Compose, bake or Kubernetes.",
    no_args_is_help=True,
)
fleet_app = typer.Typer(help="Plan images for many hosts at once.", no_args_is_help=True)

# ---- shared option declarations --------------------------------------------------------------

OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write here (atomically), not to stdout.")
]


def _resolve_plan(
    plan_file: Path | None,
    host: Path | None,
    capture: Path | None,
    source: Path | None,
    plan_opts: dict[str, Any],
) -> tuple[Any, Any]:
    """(plan, host report or None): the saved plan (with the host when one is named), or the
    plan made for the host from SOURCE and the plan options."""
    from hwdock.commands.plan_inputs import PlanArgs, load_host, make_plan, read_plan

    if plan_file is not None:
        named = host is not None or capture is not None
        return read_plan(plan_file), load_host(host, capture) if named else None
    the_host = load_host(host, capture)
    args = PlanArgs(source, model_here=False, **plan_opts)
    return make_plan(the_host, args, use_engine=False), the_host


def _emit(
    kind: str,
    text: str,
    out: Path | None,
    as_json: bool,
    notes: list[str],
    *,
    executable: bool = False,
    extra: dict[str, Any] | None = None,
) -> None:
    from hwdock.export.writeout import write_atomic

    if out is not None:
        write_atomic(out, text, mode=0o755 if executable else 0o644)
    if as_json:
        from hwdock.jsonout import dump, envelope

        body: dict[str, Any] = {
            "format": kind,
            "path": str(out) if out else None,
            "notes": notes,
            "content": text,
        }
        body.update(extra or {})
        dump(envelope("export", EXPORT_SCHEMA_VERSION, body))
        return
    if out is None:
        typer.echo(text, nl=False)
    else:
        typer.echo(f"hwdock: wrote {out}", err=True)
    for n in notes:
        typer.echo(f"hwdock: note: {n}", err=True)


def _placement_for(host: Any) -> Any:
    if host is None:
        return None
    from hwdock.fleet.labels import placement
    from hwdock.fleet.needs import Exclusion, host_needs

    needs = host_needs(host)
    if isinstance(needs, Exclusion):
        return None
    return placement(needs, [host])


def _find_project_bake(explicit: Path | None, source: Path | None) -> Path | None:
    if explicit is not None:
        return explicit
    if source is not None and source.is_dir():
        for rel in ("docker/docker-bake.hcl", "docker-bake.hcl", "docker-bake.json"):
            if (source / rel).is_file():
                return source / rel
    return None


def _read_project_bake(path: Path | None) -> Any:
    if path is None:
        return None
    import json

    from hwdock.errors import InputError
    from hwdock.export import hcl
    from hwdock.jsonin import read_text

    text = read_text(path, "bake file")
    if path.suffix == ".json":
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as e:
            raise InputError(f"not JSON: {e.msg}", path=str(path), line=e.lineno) from e
        body = hcl.Body()
        for name, attrs in (doc.get("target") or {}).items():
            body.blocks.append(hcl.Block("target", [name], dict(attrs)))
        return body
    return hcl.loads(text, str(path))


# ---- commands ---------------------------------------------------------------------------------


@export_app.command("script")
@plan_options()
def export_script(
    source: SourceArg = None,
    host: HostOpt = None,
    capture: FromOpt = None,
    plan: PlanFileOpt = None,
    out: OutOpt = None,
    engine: Annotated[str, typer.Option("--engine", help="docker or podman.")] = "docker",
    as_json: JsonOpt = False,
    plan_opts: dict[str, Any] | None = None,
) -> None:
    """A POSIX sh script that pulls/builds and runs the planned image (every value quoted)."""
    from hwdock.export.script import render_script

    the_plan, _ = _resolve_plan(plan, host, capture, source, plan_opts or {})
    _emit("script", render_script(the_plan, engine=engine), out, as_json, [], executable=True)


@export_app.command("compose")
@plan_options()
def export_compose(
    source: SourceArg = None,
    host: HostOpt = None,
    capture: FromOpt = None,
    plan: PlanFileOpt = None,
    out: OutOpt = None,
    v1: Annotated[
        bool, typer.Option("--compose-v1", help="Only what docker-compose 1.x reads.")
    ] = False,
    as_json: JsonOpt = False,
    plan_opts: dict[str, Any] | None = None,
) -> None:
    """A Compose file: devices, groups, shm, GPU reservations, model volume, HF_TOKEN by name."""
    from hwdock.export.compose import render_compose

    the_plan, _ = _resolve_plan(plan, host, capture, source, plan_opts or {})
    res = render_compose(the_plan, v1=v1, compose_dir=out.parent if out else Path.cwd())
    _emit("compose", res.text, out, as_json, res.notes, extra={"service": res.service})


@export_app.command("bake")
@plan_options()
def export_bake(
    source: SourceArg = None,
    host: HostOpt = None,
    capture: FromOpt = None,
    plan: PlanFileOpt = None,
    out: OutOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="hcl or json.")] = "hcl",
    project_bake: Annotated[
        Path | None,
        typer.Option(
            "--project-bake", help="The project's bake file to extend (default: found in SOURCE)."
        ),
    ] = None,
    as_json: JsonOpt = False,
    plan_opts: dict[str, Any] | None = None,
) -> None:
    """A `docker buildx bake` file with the plan's targets (extends the project's own)."""
    from hwdock.errors import UsageError
    from hwdock.export.bake import render

    if fmt not in ("hcl", "json"):
        raise UsageError(f"--format {fmt!r}: use hcl or json")
    the_plan, _ = _resolve_plan(plan, host, capture, source, plan_opts or {})
    proj_path = _find_project_bake(project_bake, source)
    res = render(
        the_plan,
        project=_read_project_bake(proj_path),
        project_path=str(proj_path) if proj_path else None,
    )
    text = res.hcl_text if fmt == "hcl" else res.json_text
    _emit("bake-" + fmt, text, out, as_json, res.notes, extra={"inherits": res.inherited})


@export_app.command("k8s")
@plan_options()
def export_k8s(
    source: SourceArg = None,
    host: HostOpt = None,
    capture: FromOpt = None,
    plan: PlanFileOpt = None,
    out: OutOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="Deployment/Service name.")] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="Namespace.")] = None,
    model_pvc: Annotated[
        str | None, typer.Option("--model-pvc", help="Model from this PVC.")
    ] = None,
    hf_secret: Annotated[
        str, typer.Option("--hf-secret", help="Secret holding HF_TOKEN.")
    ] = "hf-token",
    as_json: JsonOpt = False,
    plan_opts: dict[str, Any] | None = None,
) -> None:
    """Kubernetes Deployment + Service, pinned by the labels the GPU operators publish."""
    from hwdock.export.k8s import K8sOptions, render_k8s

    the_plan, the_host = _resolve_plan(plan, host, capture, source, plan_opts or {})
    opts = K8sOptions(
        name=name, namespace=namespace, model_pvc=model_pvc, hf_token_secret=hf_secret
    )
    res = render_k8s(the_plan, _placement_for(the_host), opts)
    notes = list(res.notes)
    if the_host is None:
        notes.append("no host report (--host): the Deployment is not pinned to any nodes")
    _emit("k8s", res.text, out, as_json, notes, extra={"name": res.name})


def fleet_planner(source: Path | None, common: dict[str, Any]) -> Any:
    """host report → Plan, with the user's plan options (replaced in tests)."""
    from hwdock.commands.plan_inputs import PlanArgs, make_plan

    args = PlanArgs(source, model_here=False, **common)
    args.check()
    return lambda host: make_plan(host, args, use_engine=False)


@fleet_app.command("plan")
@plan_options("recipe", "model", "build_arg", "port")
def fleet_plan(
    hosts: Annotated[list[Path], typer.Argument(help="`hwdock probe --json` reports or captures.")],
    source: Annotated[
        Path | None, typer.Option("--source", help="Source tree (e.g. vLLM).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output directory.")] = Path(
        "hwdock-fleet"
    ),
    exclude_cpu: Annotated[
        bool, typer.Option("--exclude-cpu", help="Leave CPU-only hosts out.")
    ] = False,
    project_bake: Annotated[
        Path | None, typer.Option("--project-bake", help="Bake file to extend.")
    ] = None,
    model_pvc: Annotated[
        str | None, typer.Option("--model-pvc", help="Model from this PVC.")
    ] = None,
    namespace: Annotated[str | None, typer.Option("--namespace", help="Namespace.")] = None,
    as_json: JsonOpt = False,
    plan_opts: dict[str, Any] | None = None,
) -> None:
    """Group hosts by what their image needs; one bake file and per-variant Deployments."""
    import json

    from hwdock.export.k8s import K8sOptions
    from hwdock.export.writeout import write_tree
    from hwdock.fleet.inventory import load_hosts
    from hwdock.fleet.plan import fleet_bake, fleet_manifests, plan_fleet

    fleet = load_hosts(list(hosts))
    fp = plan_fleet(fleet, fleet_planner(source, plan_opts or {}), allow_cpu=not exclude_cpu)
    proj_path = _find_project_bake(project_bake, source)
    bake = fleet_bake(
        fp,
        project=_read_project_bake(proj_path),
        project_path=str(proj_path) if proj_path else None,
    )
    files = {
        "docker-bake.hwdock.hcl": bake.hcl_text,
        "docker-bake.hwdock.json": bake.json_text,
        **fleet_manifests(fp, K8sOptions(namespace=namespace, model_pvc=model_pvc)),
    }
    doc = fp.to_dict()
    doc["bake_notes"] = bake.notes
    doc["files"] = sorted(files)
    files["fleet.json"] = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    write_tree(out, files, owned_dirs=("k8s",))
    if as_json:
        from hwdock.jsonout import dump

        doc["out"] = str(out)
        dump(doc)
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = Console()
    table = Table(title=f"fleet: {len(fleet)} hosts, {len(fp.variants)} variants")
    for col in ("host", "variant", "image"):
        table.add_column(col)
    for row in fp.host_table():
        # host names and reasons are data: no markup, no `:cd:`-style emoji codes
        table.add_row(*(Text(cell) for cell in row))
    console.print(table)
    for v in fp.variants:
        console.print(f"[bold]{v.name}[/]: " + "; ".join(v.why), markup=True, highlight=False)
    for n in fp.notes + bake.notes:
        console.print(f"note: {n}", markup=False, highlight=False)
    console.print(f"wrote {out}/ ({', '.join(sorted(files))})", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.add_typer(fleet_app, name="fleet")
