"""`hwdock build`, `hwdock run`, `hwdock up`: carry a plan out on the real engine."""

import os
import sys
from pathlib import Path

# No `from __future__ import annotations` here: typer reads register()'s annotations, which
# name its local options. Module-level annotations that name types are quoted instead, and
# typing is imported for the type checker only (`build --plan --json` skips typer and typing).
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:
    from typing import Any

    import typer

    from hwdock.engine.engine import ContainerEngine
    from hwdock.engine.runlog import Events, RunLog
    from hwdock.plan.model import Plan, RunSpec

MODEL_DIR = "/models"


def load_plan(
    plan_file: Path | None,
    source: Path | None,
    plan_opts: "dict[str, Any] | None" = None,
    *,
    host_report: Path | None = None,
    from_capture: Path | None = None,
    remembered: bool = False,
) -> "tuple[Plan, Path]":
    """The plan to carry out (saved with --plan, or made from SOURCE, default ".", with the
    plan options), and the directory its relative build contexts resolve from.

    `remembered`: a saved plan may come back as the `saved_plan.PlanRecord` of an earlier read
    of the same file (for `hwdock build`, which only reads steps, verdicts and source)."""
    if plan_file is not None:
        if source is not None:
            from hwdock.errors import UsageError

            raise UsageError("give SOURCE or --plan, not both")
        if remembered:
            from hwdock.commands.saved_plan import read_plan
        else:
            from hwdock.commands.plan_inputs import read_plan
        plan = read_plan(plan_file)
        base = plan_file.resolve().parent
        if plan.source and Path(plan.source).is_dir():
            base = Path(plan.source).resolve()
        return plan, base
    from hwdock.commands.plan_inputs import PlanArgs, load_host, make_plan

    src = (source or Path(".")).resolve()
    args = PlanArgs(source=src, **(plan_opts or {}))
    args.check()
    return make_plan(load_host(host_report, from_capture), args), src


def plan_to_carry_out(
    plan_file: Path | None,
    source: Path | None,
    plan_opts: "dict[str, Any]",
    *,
    force: bool,
    host_report: Path | None,
    from_capture: Path | None,
    remembered: bool = False,
) -> "tuple[Plan, Path]":
    """`load_plan`, with --build-arg/--tag applied to a saved plan, refused when the plan says
    the image cannot work here (unless --force)."""
    args: dict[str, str] = {}
    if plan_opts.get("build_arg"):
        from hwdock.commands.plan_inputs import parse_pairs

        args = parse_pairs(plan_opts.get("build_arg"))
    plan, base = load_plan(
        plan_file,
        source,
        plan_opts,
        host_report=host_report,
        from_capture=from_capture,
        remembered=remembered,
    )
    if plan_file is not None:
        apply_overrides(plan, args, plan_opts.get("tag"))
    refuse_incompatible(plan, force)
    return plan, base


def refuse_incompatible(plan: "Plan", force: bool) -> None:
    """A plan whose verdicts say the image cannot work here is not built (unless --force)."""
    from hwdock.errors import ExitCode, HwdockError

    if force or not any(f.severity == "error" for f in plan.verdicts):
        return  # nothing to refuse (and plan.make stays unimported on the fast path)
    from hwdock.plan.make import is_incompatible

    if is_incompatible(plan):
        why = "; ".join(f.message for f in plan.verdicts if f.severity == "error")
        raise HwdockError(
            f"the plan says this image cannot work on this host: {why}",
            hint="see `hwdock plan` for the reasons and fixes; --force builds anyway",
            exit_code=ExitCode.INCOMPATIBLE,
        )


def apply_overrides(plan: "Plan", build_args: dict[str, str], tag: str | None) -> None:
    """--build-arg and --tag given with --plan change the plan's build steps."""
    for step in plan.steps:
        if step.action == "build":
            step.build_args.update(build_args)
    if tag and plan.steps:
        old = plan.steps[-1].image
        plan.steps[-1].image = tag
        if plan.run and plan.run.image == old:
            plan.run.image = tag


def _events(json_out: bool, verbose: bool) -> "Events":
    from hwdock.engine.runlog import Events, json_lines_sink

    if json_out:
        return Events(json_lines_sink())
    from hwdock.engine.ui import RichReporter

    return Events(RichReporter(verbose=verbose))


def _fail(events: "Events", err: Exception) -> None:
    from hwdock.errors import HwdockError

    if isinstance(err, HwdockError):
        events.emit("failed", exit_code=int(err.exit_code), message=err.message, hint=err.hint)


def do_build(
    plan: "Plan",
    base_dir: Path,
    engine: "ContainerEngine",
    *,
    events: "Events",
    runlog: "RunLog",
    network: str | None,
    force: bool,
    wait: bool,
    no_cache: bool,
) -> "list[Any]":
    from hwdock.engine.execute import BuildOptions, execute_plan

    runlog.write_plan(plan.to_dict())
    events.emit("run-folder", path=str(runlog.dir), log=str(runlog.build_log))
    opts = BuildOptions(
        base_dir=base_dir, network=network, force=force, wait=wait, no_cache=no_cache
    )
    return execute_plan(engine, plan, opts, events, runlog)


def build_logged(
    plan: "Plan",
    base_dir: Path,
    engine: "ContainerEngine",
    events: "Events",
    *,
    network: str | None,
    force: bool,
    no_wait: bool,
    no_cache: bool = False,
) -> "tuple[list[Any], RunLog]":
    """`do_build` in a fresh run folder (closed afterwards); the results and the folder."""
    from hwdock.engine.runlog import RunLog

    runlog = RunLog()
    try:
        results = do_build(
            plan,
            base_dir,
            engine,
            events=events,
            runlog=runlog,
            network=network,
            force=force,
            wait=not no_wait,
            no_cache=no_cache,
        )
    finally:
        runlog.close()
    return results, runlog


def make_run_spec(
    plan: "Plan | None",
    image: str | None,
    *,
    model: Path | None,
    args: list[str],
    name: str | None,
    ports: list[str],
    devices: list[str],
    group_add: list[int],
    gpus: str | None,
    env_names: list[str],
) -> "RunSpec":
    from hwdock.errors import InputError, UsageError
    from hwdock.plan.model import Mount, RunSpec

    if plan is not None and plan.run is not None:
        spec = plan.run
        if image:
            spec.image = image
    elif plan is not None and plan.final_image:
        spec = RunSpec(image=image or plan.final_image)
    elif image:
        spec = RunSpec(image=image)
        if os.environ.get("HF_TOKEN") is not None:
            spec.env_passthrough.append("HF_TOKEN")
    else:
        raise UsageError("give an IMAGE, or --plan PLAN.json")
    if name:
        spec.name = name
    for p in ports:
        h, _, c = p.partition(":")
        try:
            pair = (int(h), int(c or h))
        except ValueError:
            raise UsageError(f"--port wants HOST[:CONTAINER], got {p!r}") from None
        if not all(1 <= n <= 65535 for n in pair):
            raise UsageError(f"--port {p!r}: a port is a number from 1 to 65535")
        spec.ports.append(pair)
    spec.devices += [d for d in devices if d not in spec.devices]
    spec.group_add += [g for g in group_add if g not in spec.group_add]
    if gpus:
        spec.gpus = gpus
    for n in env_names:
        if "=" in n:
            raise UsageError(
                "--env takes a NAME whose value hwdock passes on by name, not NAME=VALUE "
                f"({n.split('=')[0]})"
            )
        if n not in spec.env_passthrough:
            spec.env_passthrough.append(n)
    if args:
        spec.command = list(args)
    if model is not None:
        if not model.exists():
            raise InputError("model path not found", path=str(model))
        target = f"{MODEL_DIR}/{model.resolve().name}"
        spec.mounts.append(Mount(str(model.resolve()), target, read_only=True))
        cmd = list(spec.command)
        if "--model" in cmd and cmd.index("--model") + 1 < len(cmd):
            cmd[cmd.index("--model") + 1] = target
        elif not args:
            cmd += ["--model", target]
        spec.command = cmd
    return spec


def do_run(
    engine: "ContainerEngine",
    spec: "RunSpec",
    *,
    shell: bool,
    detach: bool,
    dry_run: bool,
    json_out: bool,
    events: "Events",
) -> int:
    from hwdock.errors import ExitCode, HwdockError

    command = None
    entrypoint = None
    if shell:
        entrypoint = "/bin/sh"
        command = ["-c", "if command -v bash >/dev/null; then exec bash; else exec sh; fi"]
    interactive = shell and sys.stdin.isatty()
    argv = engine.run_argv(
        spec, command, detach=detach, interactive=interactive, entrypoint=entrypoint
    )
    if dry_run:
        if json_out:
            events.emit("dry-run", commands=[argv])
        else:
            import shlex

            print(shlex.join(argv), flush=True)
        return 0
    missing = [d.split(":")[0] for d in spec.devices if not os.path.exists(d.split(":")[0])]
    for d in missing:
        events.emit("warning", message=f"device {d} does not exist on this host")
    events.emit("run-start", image=spec.image, argv=argv)
    import subprocess

    seen: list[str] = []
    try:
        # with --json, stdout carries only events: the container's output goes to stderr
        if interactive:
            returncode = subprocess.run(argv, env=engine.env(), check=False).returncode
        else:  # pass the output through, keeping its tail to explain a failure
            returncode = _run_teed(argv, engine.env(), sys.stderr if json_out else sys.stdout, seen)
    except FileNotFoundError as err:
        raise HwdockError(
            f"{engine.cli} disappeared", exit_code=ExitCode.ENGINE_UNAVAILABLE
        ) from err
    events.emit("run-done", image=spec.image, returncode=returncode)
    if returncode != 0:
        from hwdock.engine.failures import explain

        known = explain("\n".join(seen), "container output")
        raise HwdockError(
            f"the container ({spec.image}) exited with status {returncode}"
            + (f"\n{known}" if known else ""),
            hint="look at its output above; `hwdock run --shell` opens a shell in the image",
            exit_code=ExitCode.RUN_FAILED,
        )
    return 0


RUN_TAIL_LINES = 5000


def _run_teed(argv: list[str], env: dict[str, str], out: "Any", seen: list[str]) -> int:
    """Run `argv`, copying its stdout to `out` and its stderr to stderr as they come; the
    last RUN_TAIL_LINES lines of both (in arrival order) are left in `seen`."""
    import collections
    import subprocess
    import threading

    tail: collections.deque[str] = collections.deque(maxlen=RUN_TAIL_LINES)
    lock = threading.Lock()
    proc = subprocess.Popen(
        argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace"
    )

    def pump(stream: "Any", dest: "Any") -> None:
        for line in stream:
            dest.write(line)
            dest.flush()
            with lock:
                tail.append(line.rstrip("\n"))

    threads = [
        threading.Thread(target=pump, args=(proc.stdout, out), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, sys.stderr), daemon=True),
    ]
    for t in threads:
        t.start()
    returncode = proc.wait()
    for t in threads:
        t.join()
    seen[:] = list(tail)
    return returncode


def _engine_warnings(eng: "ContainerEngine", events: "Events") -> None:
    from hwdock.engine.detect import engine_warnings

    for message in engine_warnings(eng):
        events.emit("warning", message=message)


def _dry_run_build(
    plan: "Plan",
    base: Path,
    engine: "ContainerEngine",
    network: str | None,
    no_cache: bool,
    json_out: bool,
    events: "Events",
) -> None:
    from hwdock.engine.execute import BuildOptions, dry_run_script
    from hwdock.engine.runlog import RunLog

    run_dir = RunLog(create=False).dir
    lines = dry_run_script(
        engine, plan, BuildOptions(base_dir=base, network=network, no_cache=no_cache), run_dir
    )
    if json_out:
        events.emit("dry-run", commands=[x for x in lines if not x.startswith("#")])
    else:
        for x in lines:
            print(x, flush=True)


def build(
    *,
    plan_file: Path | None,
    source: Path | None,
    engine: str | None,
    build_arg: list[str],
    tag: str | None,
    network: str | None,
    force: bool,
    no_cache: bool,
    no_wait: bool,
    dry_run: bool,
    verbose: bool,
    json_out: bool,
    plan_opts: "dict[str, Any]",
    host_report: Path | None = None,
    from_capture: Path | None = None,
) -> None:
    """`hwdock build`, whether typer or the fast path parsed the command line."""
    from hwdock.engine.detect import find_engine

    events = _events(json_out, verbose)
    try:
        eng = find_engine(engine)
        _engine_warnings(eng, events)
        plan, base = plan_to_carry_out(
            plan_file,
            source,
            {**plan_opts, "build_arg": build_arg, "tag": tag},
            force=force,
            host_report=host_report,
            from_capture=from_capture,
            remembered=True,
        )
        if dry_run:
            _dry_run_build(plan, base, eng, network, no_cache, json_out, events)
            return
        results, runlog = build_logged(
            plan,
            base,
            eng,
            events,
            network=network,
            force=force,
            no_wait=no_wait,
            no_cache=no_cache,
        )
        events.emit("done", images=[r.image for r in results], log=str(runlog.build_log))
    except Exception as err:
        _fail(events, err)
        raise


_FAST_FLAGS = {
    "--json": "json",
    "--force": "force",
    "--no-cache": "no_cache",
    "--no-wait": "no_wait",
}
_FAST_VALUES = {"--plan": "plan", "--network": "network", "--engine": "engine"}


def fast_path(args: list[str]) -> int | None:
    """`build --plan PLAN --json [--network N] [--engine E] [--force] [--no-cache] [--no-wait]`
    parsed by hand: the "nothing changed" answer is wanted in a fraction of a second, and
    typer's import and dispatch are a sizeable part of it. Any other argv returns None and
    typer parses it."""
    from hwdock.commands.fastargs import parse

    parsed = parse(args, flags=_FAST_FLAGS, values=_FAST_VALUES)
    if parsed is None or "json" not in parsed[0] or "plan" not in parsed[0]:
        return None
    opts = parsed[0]
    build(
        plan_file=Path(opts["plan"]),
        source=None,
        engine=opts.get("engine"),
        build_arg=[],
        tag=None,
        network=opts.get("network"),
        force=opts.get("force", False),
        no_cache=opts.get("no_cache", False),
        no_wait=opts.get("no_wait", False),
        dry_run=False,
        verbose=False,
        json_out=True,
        plan_opts={},
    )
    return 0


def register(app: "typer.Typer") -> None:
    from typing import Annotated, Any

    import typer

    from hwdock.commands.common import EngineOpt, FromOpt, HostOpt, PlanFileOpt, plan_options

    events_opt = typer.Option("--json", help="Events as JSON lines.")
    dry_run_opt = typer.Option("--dry-run", help="Print the commands only.")
    network_opt = typer.Option(
        "--network", help="Network for RUN steps (host, none); default: the engine's."
    )
    force_opt = typer.Option("--force", help="Build even when up to date.")
    no_wait_opt = typer.Option("--no-wait", help="Fail if the tag is locked.")
    detach_opt = typer.Option("--detach", "-d", help="Run in the background.")
    run_port_opt = typer.Option("--port", "-p", help="HOST[:CONTAINER]")
    device_opt = typer.Option("--device", help="Device node to pass in (SRC[:DST]).")
    group_add_opt = typer.Option("--group-add", help="Numeric gid.")
    env_opt = typer.Option("--env", "-e", help="NAME passed on by name.")

    @app.command("build")
    @plan_options()
    def build_cmd(
        source: Annotated[
            Path | None, typer.Argument(help="Source tree or Dockerfile's folder.")
        ] = None,
        plan_file: PlanFileOpt = None,
        host_report: HostOpt = None,
        from_capture: FromOpt = None,
        engine: EngineOpt = None,
        network: Annotated[str | None, network_opt] = None,
        force: Annotated[bool, force_opt] = False,
        no_cache: Annotated[bool, typer.Option("--no-cache")] = False,
        no_wait: Annotated[bool, no_wait_opt] = False,
        dry_run: Annotated[bool, dry_run_opt] = False,
        verbose: Annotated[
            bool, typer.Option("--verbose", "-v", help="Show build output.")
        ] = False,
        json_out: Annotated[bool, events_opt] = False,
        plan_opts: dict[str, Any] | None = None,
    ) -> None:
        """Pull or build the plan's images (BuildKit), skipping what is up to date."""
        opts = dict(plan_opts or {})
        build(
            plan_file=plan_file,
            source=source,
            engine=engine,
            build_arg=opts.pop("build_arg", None) or [],
            tag=opts.pop("tag", None),
            network=network,
            force=force,
            no_cache=no_cache,
            no_wait=no_wait,
            dry_run=dry_run,
            verbose=verbose,
            json_out=json_out,
            plan_opts=opts,
            host_report=host_report,
            from_capture=from_capture,
        )

    @app.command("run", context_settings={"allow_interspersed_args": True})
    def run_cmd(
        words: Annotated[
            list[str] | None, typer.Argument(help="IMAGE, then `--` and the container's args.")
        ] = None,
        plan_file: PlanFileOpt = None,
        model: Annotated[
            Path | None, typer.Option("--model", help="Model folder, mounted read-only.")
        ] = None,
        shell: Annotated[
            bool, typer.Option("--shell", help="A shell in the image instead.")
        ] = False,
        name: Annotated[str | None, typer.Option("--name")] = None,
        port: Annotated[list[str] | None, run_port_opt] = None,
        device: Annotated[list[str] | None, device_opt] = None,
        group_add: Annotated[list[int] | None, group_add_opt] = None,
        gpus: Annotated[str | None, typer.Option("--gpus")] = None,
        env: Annotated[list[str] | None, env_opt] = None,
        detach: Annotated[bool, detach_opt] = False,
        engine: EngineOpt = None,
        dry_run: Annotated[bool, dry_run_opt] = False,
        json_out: Annotated[bool, events_opt] = False,
    ) -> None:
        """Start the container: the plan's server by default, or a shell with --shell."""
        from hwdock.engine.detect import find_engine

        events = _events(json_out, False)
        try:
            eng = find_engine(engine)
            _engine_warnings(eng, events)
            words = list(words or [])
            plan = load_plan(plan_file, None)[0] if plan_file is not None else None
            image = words.pop(0) if plan is None and words else None
            spec = make_run_spec(
                plan,
                image,
                model=model,
                args=words,
                name=name,
                ports=port or [],
                devices=device or [],
                group_add=group_add or [],
                gpus=gpus,
                env_names=env or [],
            )
            do_run(
                eng,
                spec,
                shell=shell,
                detach=detach,
                dry_run=dry_run,
                json_out=json_out,
                events=events,
            )
        except Exception as err:
            _fail(events, err)
            raise

    @app.command("up", context_settings={"allow_interspersed_args": True})
    @plan_options(exclude=("port",))  # up's --port is the run's HOST[:CONTAINER]
    def up_cmd(
        words: Annotated[
            list[str] | None, typer.Argument(help="SOURCE, then `--` and the container's args.")
        ] = None,
        plan_file: PlanFileOpt = None,
        port: Annotated[list[str] | None, run_port_opt] = None,
        device: Annotated[list[str] | None, device_opt] = None,
        group_add: Annotated[list[int] | None, group_add_opt] = None,
        env: Annotated[list[str] | None, env_opt] = None,
        host_report: HostOpt = None,
        from_capture: FromOpt = None,
        engine: EngineOpt = None,
        network: Annotated[str | None, network_opt] = None,
        force: Annotated[bool, force_opt] = False,
        no_wait: Annotated[bool, no_wait_opt] = False,
        detach: Annotated[bool, detach_opt] = False,
        dry_run: Annotated[bool, dry_run_opt] = False,
        json_out: Annotated[bool, events_opt] = False,
        plan_opts: dict[str, Any] | None = None,
    ) -> None:
        """Build (or pull) what the plan needs, then run it."""
        from hwdock.engine.detect import find_engine

        opts = dict(plan_opts or {})
        events = _events(json_out, False)
        try:
            eng = find_engine(engine)
            _engine_warnings(eng, events)
            words = list(words or [])
            source = Path(words.pop(0)) if plan_file is None and words else None
            plan, base = plan_to_carry_out(
                plan_file,
                source,
                opts,
                force=force,
                host_report=host_report,
                from_capture=from_capture,
            )
            spec = make_run_spec(
                plan,
                None,
                # the SOURCE plan mounts --model itself
                model=opts.get("model") if plan_file is not None else None,
                args=words,
                name=None,
                ports=port or [],
                devices=device or [],
                group_add=group_add or [],
                gpus=None,
                env_names=env or [],
            )
            if dry_run:
                _dry_run_build(plan, base, eng, network, False, json_out, events)
            else:
                build_logged(plan, base, eng, events, network=network, force=force, no_wait=no_wait)
            do_run(
                eng,
                spec,
                shell=False,
                detach=detach,
                dry_run=dry_run,
                json_out=json_out,
                events=events,
            )
        except Exception as err:
            _fail(events, err)
            raise
