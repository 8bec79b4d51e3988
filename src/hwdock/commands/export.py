"""`hwdock export script|compose|bake|k8s` and `hwdock fleet plan`.

Options are declared here; the work (and its imports) happens inside the command bodies so
`hwdock --help` stays fast. The exporters are pure (`hwdock.export.*`, `hwdock.fleet.*`);
this module reads inputs, calls the planner and writes files atomically.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

EXPORT_SCHEMA_VERSION = 1

export_app = typer.Typer(
    help="Hand the plan to other tools: a shell script, Compose, bake or Kubernetes.",
    no_args_is_help=True,
)
fleet_app = typer.Typer(help="Plan images for many hosts at once.", no_args_is_help=True)

# ---- shared option declarations --------------------------------------------------------------

SourceArg = Annotated[
    Path | None, typer.Argument(help="Source tree (e.g. a vLLM checkout) or Dockerfile.")
]
HostOpt = Annotated[
    Path | None, typer.Option("--host", help="A `hwdock probe --json` report (default: probe).")
]
PlanOpt = Annotated[
    Path | None, typer.Option("--plan", help="A `hwdock plan --json` document to export as is.")
]
RecipeOpt = Annotated[str | None, typer.Option("--recipe", help="vllm, or none for generic.")]
PlatformOpt = Annotated[str | None, typer.Option("--platform", help="cuda, rocm, cpu or xpu.")]
GpuOpt = Annotated[list[str] | None, typer.Option("--gpu", help="Accelerator(s) to plan for.")]
ModelOpt = Annotated[Path | None, typer.Option("--model", help="Model dir, mounted read-only.")]
CustomizeOpt = Annotated[
    list[str] | None, typer.Option("--customize", help="What to change in the base.")
]
BuildArgOpt = Annotated[
    list[str] | None, typer.Option("--build-arg", help="KEY=VALUE passed to the build.")
]
TargetOpt = Annotated[str | None, typer.Option("--target", help="Dockerfile stage to build.")]
TagOpt = Annotated[str | None, typer.Option("--tag", help="Tag of the final image.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Add ptrace/seccomp for debugging.")]
PortOpt = Annotated[int, typer.Option("--port", help="Port the server listens on.")]
OutOpt = Annotated[
    Path | None, typer.Option("--out", "-o", help="Write here (atomically), not to stdout.")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON document instead.")]


def _build_args(items: list[str]) -> dict[str, str]:
    from hwdock.errors import UsageError

    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--build-arg {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def _read_host(path: Path | None) -> Any:
    """The host report: from a file or capture directory, else probed here and now."""
    from hwdock.fleet.inventory import read_report

    if path is not None:
        return read_report(path)
    import os

    from hwdock.probe.access import ENV_KEPT
    from hwdock.probe.host import live_user, probe_host
    from hwdock.probe.root import Root
    from hwdock.probe.runner import LiveRunner

    env = {k: os.environ[k] for k in ENV_KEPT if k in os.environ}
    return probe_host(Root("/"), LiveRunner(), env, live_user())


def _plan_options(**kw: Any) -> Any:
    from hwdock.errors import HwdockError

    try:
        from hwdock.plan.options import PlanOptions
    except ImportError as e:
        raise HwdockError(
            "the planner is not part of this hwdock build",
            hint="export a saved plan with --plan plan.json",
        ) from e
    return PlanOptions(**kw)


def _make_plan(host: Any, options: Any) -> Any:
    from hwdock.errors import HwdockError

    try:
        from hwdock.plan import make_plan
    except ImportError as e:
        raise HwdockError(
            "the planner is not part of this hwdock build",
            hint="export a saved plan with --plan plan.json",
        ) from e
    return make_plan(host, options)


def _resolve_plan(
    plan_path: Path | None,
    host_path: Path | None,
    source: Path | None,
    common: dict[str, Any],
) -> tuple[Any, Any]:
    """(plan, host report or None)."""
    from hwdock.errors import InputError
    from hwdock.plan.model import Plan

    if plan_path is not None:
        import json

        try:
            doc = json.loads(plan_path.read_text(encoding="utf-8"))
        except OSError as e:
            raise InputError(f"cannot read: {e.strerror}", path=str(plan_path)) from e
        except json.JSONDecodeError as e:
            raise InputError(f"not JSON: {e.msg}", path=str(plan_path), line=e.lineno) from e
        try:
            plan = Plan.from_dict(doc)
        except (KeyError, TypeError) as e:
            raise InputError(f"malformed plan: missing {e}", path=str(plan_path)) from e
        host = _read_host(host_path) if host_path is not None else None
        return plan, host
    host = _read_host(host_path)
    options = _plan_options(source=source, **common)
    return _make_plan(host, options), host


def _common(
    recipe: str | None,
    platform: str | None,
    gpu: list[str] | None,
    model: Path | None,
    customize: list[str] | None,
    build_arg: list[str] | None,
    target: str | None,
    tag: str | None,
    debug: bool,
    port: int,
) -> dict[str, Any]:
    return {
        "dockerfile": None,
        "recipe": recipe,
        "platform": platform,
        "gpu": list(gpu or []),
        "model": model,
        "customize": list(customize or []),
        "build_args": _build_args(build_arg or []),
        "target": target,
        "tag": tag,
        "debug": debug,
        "port": port,
        "base_dockerfile": None,
    }


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

    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InputError(f"cannot read: {e.strerror}", path=str(path)) from e
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
def export_script(
    source: SourceArg = None,
    host: HostOpt = None,
    plan: PlanOpt = None,
    recipe: RecipeOpt = None,
    platform: PlatformOpt = None,
    gpu: GpuOpt = None,
    model: ModelOpt = None,
    customize: CustomizeOpt = None,
    build_arg: BuildArgOpt = None,
    target: TargetOpt = None,
    tag: TagOpt = None,
    debug: DebugOpt = False,
    port: PortOpt = 8000,
    out: OutOpt = None,
    engine: Annotated[str, typer.Option("--engine", help="docker or podman.")] = "docker",
    as_json: JsonOpt = False,
) -> None:
    """A POSIX sh script that pulls/builds and runs the planned image (every value quoted)."""
    from hwdock.export.script import render_script

    common = _common(recipe, platform, gpu, model, customize, build_arg, target, tag, debug, port)
    the_plan, _ = _resolve_plan(plan, host, source, common)
    _emit("script", render_script(the_plan, engine=engine), out, as_json, [], executable=True)


@export_app.command("compose")
def export_compose(
    source: SourceArg = None,
    host: HostOpt = None,
    plan: PlanOpt = None,
    recipe: RecipeOpt = None,
    platform: PlatformOpt = None,
    gpu: GpuOpt = None,
    model: ModelOpt = None,
    customize: CustomizeOpt = None,
    build_arg: BuildArgOpt = None,
    target: TargetOpt = None,
    tag: TagOpt = None,
    debug: DebugOpt = False,
    port: PortOpt = 8000,
    out: OutOpt = None,
    v1: Annotated[
        bool, typer.Option("--compose-v1", help="Only what docker-compose 1.x reads.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """A Compose file: devices, groups, shm, GPU reservations, model volume, HF_TOKEN by name."""
    from hwdock.export.compose import render_compose

    common = _common(recipe, platform, gpu, model, customize, build_arg, target, tag, debug, port)
    the_plan, _ = _resolve_plan(plan, host, source, common)
    res = render_compose(the_plan, v1=v1, compose_dir=out.parent if out else Path.cwd())
    _emit("compose", res.text, out, as_json, res.notes, extra={"service": res.service})


@export_app.command("bake")
def export_bake(
    source: SourceArg = None,
    host: HostOpt = None,
    plan: PlanOpt = None,
    recipe: RecipeOpt = None,
    platform: PlatformOpt = None,
    gpu: GpuOpt = None,
    model: ModelOpt = None,
    customize: CustomizeOpt = None,
    build_arg: BuildArgOpt = None,
    target: TargetOpt = None,
    tag: TagOpt = None,
    debug: DebugOpt = False,
    port: PortOpt = 8000,
    out: OutOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="hcl or json.")] = "hcl",
    project_bake: Annotated[
        Path | None,
        typer.Option(
            "--project-bake", help="The project's bake file to extend (default: found in SOURCE)."
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """A `docker buildx bake` file with the plan's targets (extends the project's own)."""
    from hwdock.errors import UsageError
    from hwdock.export.bake import render

    if fmt not in ("hcl", "json"):
        raise UsageError(f"--format {fmt!r}: use hcl or json")
    common = _common(recipe, platform, gpu, model, customize, build_arg, target, tag, debug, port)
    the_plan, _ = _resolve_plan(plan, host, source, common)
    proj_path = _find_project_bake(project_bake, source)
    res = render(
        the_plan,
        project=_read_project_bake(proj_path),
        project_path=str(proj_path) if proj_path else None,
    )
    text = res.hcl_text if fmt == "hcl" else res.json_text
    _emit("bake-" + fmt, text, out, as_json, res.notes, extra={"inherits": res.inherited})


@export_app.command("k8s")
def export_k8s(
    source: SourceArg = None,
    host: HostOpt = None,
    plan: PlanOpt = None,
    recipe: RecipeOpt = None,
    platform: PlatformOpt = None,
    gpu: GpuOpt = None,
    model: ModelOpt = None,
    customize: CustomizeOpt = None,
    build_arg: BuildArgOpt = None,
    target: TargetOpt = None,
    tag: TagOpt = None,
    debug: DebugOpt = False,
    port: PortOpt = 8000,
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
) -> None:
    """Kubernetes Deployment + Service, pinned by the labels the GPU operators publish."""
    from hwdock.export.k8s import K8sOptions, render_k8s

    common = _common(recipe, platform, gpu, model, customize, build_arg, target, tag, debug, port)
    the_plan, the_host = _resolve_plan(plan, host, source, common)
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
    options = _plan_options(source=source, **common)
    return lambda host: _make_plan(host, options)


@fleet_app.command("plan")
def fleet_plan(
    hosts: Annotated[list[Path], typer.Argument(help="`hwdock probe --json` reports or captures.")],
    source: Annotated[
        Path | None, typer.Option("--source", help="Source tree (e.g. vLLM).")
    ] = None,
    recipe: RecipeOpt = None,
    model: ModelOpt = None,
    build_arg: BuildArgOpt = None,
    port: PortOpt = 8000,
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
) -> None:
    """Group hosts by what their image needs; one bake file and per-variant Deployments."""
    import json

    from hwdock.export.k8s import K8sOptions
    from hwdock.export.writeout import write_tree
    from hwdock.fleet.inventory import load_hosts
    from hwdock.fleet.plan import fleet_bake, fleet_manifests, plan_fleet

    fleet = load_hosts(list(hosts))
    common = _common(recipe, None, [], model, [], build_arg, None, None, False, port)
    fp = plan_fleet(fleet, fleet_planner(source, common), allow_cpu=not exclude_cpu)
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

    console = Console()
    table = Table(title=f"fleet: {len(fleet)} hosts, {len(fp.variants)} variants")
    for col in ("host", "variant", "image"):
        table.add_column(col)
    for row in fp.host_table():
        table.add_row(*row)
    console.print(table)
    for v in fp.variants:
        console.print(f"[bold]{v.name}[/]: " + "; ".join(v.why), markup=True, highlight=False)
    for n in fp.notes + bake.notes:
        console.print(f"note: {n}", markup=False, highlight=False)
    console.print(f"wrote {out}/ ({', '.join(sorted(files))})", markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
    app.add_typer(fleet_app, name="fleet")
