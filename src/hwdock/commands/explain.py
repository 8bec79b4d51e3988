"""`hwdock explain`: read a Dockerfile as BuildKit does and show the chain.

The command only gathers inputs (the file, the tree's documented recipes, one `docker image
inspect` for the base images) and renders; the reading itself is `hwdock.dockerfile.analyze`.
`--json` never imports rich.
"""

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

if TYPE_CHECKING:
    import typer

    from hwdock.dockerfile.model import BuildGraph

DOCKER_CLIENTS = ("/usr/bin/docker", "docker", "podman")


def register(app: "typer.Typer") -> None:
    import typer

    from hwdock.commands.common import NoEngineOpt

    @app.command("explain")
    def explain(
        path: Annotated[Path, typer.Argument(help="Build context directory.")] = Path("."),
        file: Annotated[
            str | None,
            typer.Option("-f", "--file", help="Dockerfile (default: PATH/Dockerfile)."),
        ] = None,
        build_arg: Annotated[
            list[str] | None,
            typer.Option("--build-arg", help="K=V, as for docker build (repeatable)."),
        ] = None,
        target: Annotated[str | None, typer.Option("--target", help="Target stage.")] = None,
        platform: Annotated[
            str | None,
            typer.Option(
                "--platform", help="Target platform, e.g. linux/arm64 (default: this host)."
            ),
        ] = None,
        base_dockerfile: Annotated[
            list[str] | None,
            typer.Option(
                "--base-dockerfile",
                help="IMAGE=PATH: this Dockerfile builds that base image (repeatable).",
            ),
        ] = None,
        no_engine: NoEngineOpt = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the JSON document.")] = False,
    ) -> None:
        """Show every stage, base image (and where its value came from), what is local, pulled
        or built, the GPU arch/parallelism ARGs, BuildKit-only features and build checks."""
        graph, engine_note = run_explain(
            path,
            file,
            build_arg or [],
            target,
            platform,
            base_dockerfile or [],
            use_engine=not no_engine,
        )
        if as_json:
            from hwdock.jsonout import dump

            doc = graph.to_dict()
            doc["engine"] = engine_note
            dump(doc)
        else:
            render(graph, engine_note)


_VALUE_OPTS = {
    "-f": "file",
    "--file": "file",
    "--build-arg": "build_arg",
    "--target": "target",
    "--platform": "platform",
    "--base-dockerfile": "base_dockerfile",
}
_FLAG_OPTS = {"--json": "as_json", "--no-engine": "no_engine"}


def fast_path(args: list[str]) -> int | None:
    """`hwdock explain --json ...` without typer's parameter layer; None: let typer do it."""
    from hwdock.commands.fastargs import parse

    parsed = parse(
        args,
        flags=_FLAG_OPTS,
        values=_VALUE_OPTS,
        repeated=("build_arg", "base_dockerfile"),
        positional=1,
    )
    if parsed is None or "as_json" not in parsed[0]:
        return None
    opts: dict[str, Any] = {"build_arg": [], "base_dockerfile": [], "file": None}
    opts.update(target=None, platform=None, no_engine=False)
    opts.update(parsed[0])
    paths = parsed[1]
    from hwdock.jsonout import dump

    graph, note = run_explain(
        Path(paths[0] if paths else "."),
        opts["file"],
        opts["build_arg"],
        opts["target"],
        opts["platform"],
        opts["base_dockerfile"],
        use_engine=not opts["no_engine"],
    )
    doc = graph.to_dict()
    doc["engine"] = note
    dump(doc)
    return 0


def run_explain(
    path: Path,
    file: str | None,
    build_arg: list[str],
    target: str | None,
    platform: str | None,
    base_dockerfile: list[str],
    *,
    use_engine: bool = True,
) -> tuple["BuildGraph", dict[str, Any]]:
    from hwdock.commands.plan_inputs import parse_pairs
    from hwdock.dockerfile.graph import analyze, set_image_status
    from hwdock.dockerfile.recipes import find_base_recipes, parse_base_dockerfile_options
    from hwdock.errors import InputError, UsageError
    from hwdock.jsonin import check_regular_file

    if not path.is_dir():  # a missing input, as for `plan SOURCE`: 3, not 2
        raise InputError(
            "not a directory (PATH is the build context)",
            path=str(path),
            hint="give the folder that holds the Dockerfile",
        )
    df = Path(file) if file else path / "Dockerfile"
    if file and not df.is_absolute() and not df.exists() and (path / file).exists():
        df = path / file
    try:
        if df.exists() or df.is_symlink():
            check_regular_file(str(df), "Dockerfile")
        data = df.read_bytes()
    except FileNotFoundError:
        raise InputError(
            "Dockerfile not found", path=str(df), hint="name it with -f FILE"
        ) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path=str(df)) from None
    try:
        overrides = parse_base_dockerfile_options(base_dockerfile)
    except ValueError as err:
        raise UsageError(str(err)) from None
    for image, (rel, _) in overrides.items():
        if not (Path(rel).is_file() or (path / rel).is_file()):
            raise InputError(
                f"--base-dockerfile {image}={rel}: no such Dockerfile",
                hint="give its path, relative to PATH or to this folder",
            )
    recipes = find_base_recipes(path)
    recipes.update(overrides)
    graph = analyze(
        data,
        str(df),
        parse_pairs(build_arg, environ=os.environ),  # a bare KEY: from the environment
        target,
        platform,
        host_machine=os.uname().machine or "x86_64",
        base_recipes=recipes,
    )
    note: dict[str, Any] = {"queried": False, "client": None, "error": None}
    if use_engine and graph.images:
        present, note = _local_images([img.familiar for img in graph.images])
        if present is not None:
            set_image_status(graph, present.__contains__)
    return graph, note


def _docker_client() -> str | None:
    import shutil

    for cand in DOCKER_CLIENTS:
        p = cand if os.path.isabs(cand) else shutil.which(cand)
        if p and os.path.exists(p):
            return p
    return None


def _local_images(refs: list[str]) -> tuple[set[str] | None, dict[str, Any]]:
    """Which of `refs` the local engine has: one `image inspect` for all of them."""
    import subprocess

    client = _docker_client()
    note: dict[str, Any] = {"queried": False, "client": client, "error": None}
    if client is None:
        note["error"] = "no docker or podman client found"
        return None, note
    try:
        out = subprocess.run(
            [client, "image", "inspect", "--format", "{{.Id}}", *refs],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        note["error"] = f"{client} image inspect failed: {err}"
        return None, note
    err_text = out.stderr.strip()
    missing = {r for r in refs if f"such image: {r}" in err_text.lower() or r in err_text}
    if out.returncode != 0 and not missing:
        note["error"] = err_text.splitlines()[-1] if err_text else f"exit {out.returncode}"
        return None, note
    note["queried"] = True
    return {r for r in refs if r not in missing}, note


# ----------------------------------------------------------------- rendering for people

_STATUS = {
    "local": "[green]local[/]",
    "pull": "[yellow]pull[/]",
    "build": "[cyan]build[/]",
    "unknown": "[dim]unknown[/]",
}
_SEV = {"error": "[red]error[/]", "warning": "[yellow]warning[/]", "info": "[dim]info[/]"}


def _where(graph: "BuildGraph", line: int | None) -> str:
    name = Path(graph.path).name
    return f"{name}:{line}" if line is not None else name


def render(graph: "BuildGraph", engine: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.tree import Tree

    con = Console()
    t = graph.target_stage
    head = (
        f"[bold]{escape(graph.path)}[/]  target [bold]{escape(t.display)}[/] "
        f"(stage {t.index}, lines {t.start_line}-{t.end_line})  platform {graph.target_platform}"
    )
    tree = Tree(head)
    images = {img.ref: img for img in graph.images}
    for s in graph.stages:
        label = f"[bold]{escape(s.display)}[/] [dim]#{s.index} lines {s.start_line}-{s.end_line}[/]"
        if not s.used:
            label += " [dim](pruned: the target does not need it)[/]"
        node = tree.add(label)
        b = s.base
        if b.kind == "stage" and b.stage is not None:
            desc = f"FROM stage [bold]{escape(graph.stages[b.stage].display)}[/]"
        elif b.kind == "scratch":
            desc = "FROM scratch (empty)"
        elif b.kind == "invalid":
            desc = f"FROM [red]{escape(b.raw)} → {escape(repr(b.resolved))} (invalid)[/]"
        else:
            img = images.get(b.normalized or "")
            status = _STATUS[img.status] if img else ""
            desc = f"FROM [bold]{escape(b.familiar or b.resolved)}[/] {status}"
            if img and img.recipe:
                desc += f" [dim]← {escape(img.recipe)} ({escape(img.recipe_evidence or '')})[/]"
        if b.raw != b.resolved:
            desc += f" [dim](written {escape(b.raw)})[/]"
        if b.platform_raw is not None:
            desc += f" [dim]--platform={escape(b.platform or b.platform_raw)}[/]"
        bn = node.add(desc)
        for p in b.provenance:
            if p.source == "default":
                src = f"ARG {p.arg} default at {_where(graph, p.line)}"
            elif p.source == "build-arg":
                src = f"--build-arg {p.arg}"
            elif p.source == "builtin":
                src = f"built-in ARG {p.arg}"
            else:
                src = f"ARG {p.arg} (declared at {_where(graph, p.line)}, no value)"
            pn = bn.add(
                f"{escape(p.arg)} = {escape(repr(p.value))} — {escape(src)}, overridable with "
                f"--build-arg {escape(p.arg)}=…"
            )
            av = graph.global_args.get(p.arg)
            if p.source == "default" and av is not None and av.depends_on:
                pn.add(f"[dim]default written {escape(repr(p.default))}[/]")
                for dep in av.depends_on:
                    dv = graph.global_args.get(dep)
                    if dv is None:
                        pn.add(f"[dim]{escape(dep)}: built-in platform ARG[/]")
                    else:
                        where = (
                            f"--build-arg {dep}"
                            if dv.source == "build-arg"
                            else f"ARG default at {_where(graph, dv.line)}"
                        )
                        pn.add(f"{escape(dep)} = {escape(repr(dv.value))} — {escape(where)}")
        for d in s.dependencies:
            if d.kind == "from":
                continue
            what = graph.stages[d.stage].display if d.stage is not None else d.image or d.ref
            node.add(f"[dim]{d.kind} --from={escape(what)} at line {d.line}[/]")
    con.print(tree)

    if graph.images:
        tbl = Table(title="Base and source images", title_justify="left")
        for col in ("image", "status", "stages", "lines", "built by"):
            tbl.add_column(col)
        for img in graph.images:
            tbl.add_row(
                escape(img.familiar),
                _STATUS[img.status],
                ", ".join(graph.stages[i].display for i in img.stages),
                ", ".join(map(str, img.lines)),
                escape(f"{img.recipe} ({img.recipe_evidence})" if img.recipe else ""),
            )
        con.print(tbl)
        if not engine.get("queried"):
            con.print(f"[dim]engine not asked: {escape(str(engine.get('error') or 'disabled'))}[/]")

    if graph.arch_args:
        tbl = Table(title="GPU architecture, parallelism and version ARGs", title_justify="left")
        for col in ("name", "value", "where", "scope", "source"):
            tbl.add_column(col)
        for a in graph.arch_args:
            val = "(unset)" if a.value is None else repr(a.value)
            if a.depends_on_base_env:
                val = "(from the base image's ENV)" if not a.value else val + " + base image ENV"
            scope = "global" if a.stage is None else graph.stages[a.stage].display
            tbl.add_row(escape(a.name), escape(val), _where(graph, a.line), escape(scope), a.source)
        con.print(tbl)
    if graph.toolkits:
        con.print(
            "Toolkits: "
            + "; ".join(f"{t.toolkit} {t.version} ({escape(t.evidence)})" for t in graph.toolkits)
        )
    if graph.features:
        con.print("[bold]Needs BuildKit[/] for:")
        for f in graph.features:
            stage = "" if f.stage is None else f" ({graph.stages[f.stage].display})"
            con.print(f"  {_where(graph, f.line)}  {escape(f.detail)}{escape(stage)}")
    if graph.unused_build_args:
        con.print(
            "[yellow]Build args no stage uses:[/] " + escape(", ".join(graph.unused_build_args))
        )
    if graph.findings:
        con.print("[bold]Checks[/]")
        for f in graph.findings:
            con.print(
                f"  {_SEV.get(f.severity, f.severity)} {_where(graph, f.line)} "
                f"[bold]{f.code}[/] {escape(f.message)}"
            )
