"""Carry a plan's image steps out: pull, use a local image, or build — safely.

Per build step: read the Dockerfile, refuse the legacy builder for BuildKit-only files,
hash the plan (labels.py) over a fast context digest (context.py), take the tag's lock,
skip when the image already carries the same hash (nothing is sent to the engine), else
build with `--iidfile` and no tag, and tag only after success: Ctrl-C (the build's process
group is stopped) or a failure never leaves a half-tagged image. Output goes to the run's
build.log; a failure names the log, the failing build step and its last lines, with an exit
code per kind of failure (failures.py).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from hwdock.engine.labels import PLAN_HASH_LABEL, image_labels, plan_hash
from hwdock.engine.runlog import tag_lock
from hwdock.errors import ExitCode, HwdockError, InputError

# Start-up time: an up-to-date `hwdock build` runs this module's decision path only, so the
# modules a build needs (subprocess, signal, threading, shlex) are imported where a build
# runs, and the records below are plain classes: `dataclasses` costs about 9 ms to import.
TYPE_CHECKING = False  # as typing.TYPE_CHECKING, without importing typing (~2 ms)
if TYPE_CHECKING:
    import subprocess
    from collections.abc import Callable
    from typing import Any

    from hwdock.engine.engine import ContainerEngine
    from hwdock.engine.registry import Registry
    from hwdock.engine.runlog import Events, RunLog
    from hwdock.plan.model import ImageStep, Plan


class BuildOptions:
    __slots__ = (
        "base_dir",
        "force",
        "interrupt_grace_s",
        "network",
        "no_cache",
        "registry",
        "wait",
    )

    def __init__(
        self,
        base_dir: Path | None = None,  # where relative contexts resolve; None: the cwd
        network: str | None = None,  # --network for builds; None: the engine's default
        force: bool = False,  # build even when up to date
        wait: bool = True,  # wait for another hwdock building the same tag (else LOCKED)
        no_cache: bool = False,
        registry: Registry | None = None,
        interrupt_grace_s: float = 10.0,
    ) -> None:
        self.base_dir = Path.cwd() if base_dir is None else base_dir
        self.network = network
        self.force = force
        self.wait = wait
        self.no_cache = no_cache
        self.registry = registry
        self.interrupt_grace_s = interrupt_grace_s


class StepResult:
    __slots__ = ("context_check", "image", "image_id", "plan_hash", "result", "seconds", "step")

    def __init__(
        self,
        step: str,
        image: str,
        result: str,  # "built" | "up-to-date" | "present" | "pulled" | "local"
        image_id: str | None = None,
        plan_hash: str | None = None,
        seconds: float = 0.0,
        context_check: str | None = None,  # "watcher" (asked) or "walk" (computed); None: no digest
    ) -> None:
        self.step = step
        self.image = image
        self.result = result
        self.image_id = image_id
        self.plan_hash = plan_hash
        self.seconds = seconds
        self.context_check = context_check

    def __repr__(self) -> str:
        return (
            f"StepResult(step={self.step!r}, image={self.image!r}, result={self.result!r}, "
            f"image_id={self.image_id!r}, plan_hash={self.plan_hash!r}, seconds={self.seconds!r}, "
            f"context_check={self.context_check!r})"
        )


class PreparedBuild:
    __slots__ = ("context", "context_check", "dockerfile", "dockerfile_text", "step")

    def __init__(
        self,
        step: ImageStep,
        context: Path,
        dockerfile: Path,
        dockerfile_text: str,
        context_check: str | None = None,  # how the context digest was had: "watcher" or "walk"
    ) -> None:
        self.step = step
        self.context = context
        self.dockerfile = dockerfile
        self.dockerfile_text = dockerfile_text
        self.context_check = context_check

    def features(self) -> list[str]:
        """BuildKit-only features of the Dockerfile (read only when the builder lacks them)."""
        from hwdock.engine.features import needs_buildkit

        return needs_buildkit(
            self.dockerfile_text,
            path=str(self.dockerfile),
            build_args=self.step.build_args,
            target=self.step.target,
        )


def prepare(step: ImageStep, opts: BuildOptions, scratch: Path | None) -> PreparedBuild:
    """Resolve context and Dockerfile of a build step (writes a generated one to `scratch`)."""
    context = Path(step.context or ".")
    if not context.is_absolute():
        context = (opts.base_dir / context).resolve()
    if not context.is_dir():
        raise InputError(f"build context of step {step.id!r} is not a directory", path=str(context))
    if step.generated_dockerfile is not None:
        text = step.generated_dockerfile
        folder = scratch or context
        dockerfile = folder / f"Dockerfile.{step.id}"
        if scratch is not None:
            dockerfile.write_text(text)
    else:
        dockerfile = context / (step.dockerfile or "Dockerfile")
        try:
            text = dockerfile.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InputError(
                f"Dockerfile of step {step.id!r} not found", path=str(dockerfile)
            ) from None
    return PreparedBuild(step, context, dockerfile, text)


def base_images(pb: PreparedBuild) -> list[str]:
    """The images the Dockerfile's FROM lines name (after ARG expansion, --target pruning).

    Remembered in the state directory by (Dockerfile text, build args, target), so the
    "nothing changed" path neither imports nor runs the Dockerfile analyzer (~30 ms).
    """
    import json

    from hwdock import __version__
    from hwdock.engine.runlog import state_dir
    from hwdock.sha import sha256

    key = sha256(
        json.dumps(
            [__version__, pb.dockerfile_text, sorted(pb.step.build_args.items()), pb.step.target]
        ).encode("utf-8", "surrogateescape")
    ).hexdigest()
    path = state_dir() / "from-images.json"
    try:
        cache = json.loads(path.read_text())
        if not isinstance(cache, dict):
            cache = {}
    except (OSError, ValueError):
        cache = {}
    hit = cache.get(key)
    if isinstance(hit, list) and all(isinstance(x, str) for x in hit):
        return hit
    found = _analyze_base_images(pb)
    cache = dict(list(cache.items())[-(_FROM_CACHE_SIZE - 1) :])
    cache[key] = found
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache))
        os.replace(tmp, path)
    except OSError:
        pass
    return found


_FROM_CACHE_SIZE = 64


def _analyze_base_images(pb: PreparedBuild) -> list[str]:
    try:
        from hwdock.dockerfile import analyze

        graph = analyze(
            pb.dockerfile_text, str(pb.dockerfile), dict(pb.step.build_args), pb.step.target
        )
    except Exception:  # a file the analyzer cannot read: the engine will say what is wrong
        return []
    return sorted({img.familiar for img in graph.images})


def compute_plan_hash(
    pb: PreparedBuild,
    parents: dict[str, str],
    bases: dict[str, str] | Callable[[], dict[str, str]] | None = None,
) -> str:
    """`bases`: image id (or "absent") of each FROM image, so a re-pulled base rebuilds; a
    callable is asked after the context digest (inspects run meanwhile)."""
    from hwdock.engine.watch import watched_context_digest

    try:
        ignore_text = (pb.context / ".dockerignore").read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        ignore_text = ""
    texts = [ignore_text]
    own = pb.dockerfile.with_name(pb.dockerfile.name + ".dockerignore")
    if own.is_file():  # a Dockerfile's own ignore file (newer BuildKit frontends)
        own_text = own.read_text(encoding="utf-8", errors="replace")
        texts.append(own_text)
        ignore_text += "\0" + own_text
    digest, pb.context_check = watched_context_digest(pb.context, texts)
    if callable(bases):
        bases = bases()
    return plan_hash(
        dockerfile_text=pb.dockerfile_text,
        build_args=pb.step.build_args,
        target=pb.step.target,
        platform=pb.step.platform,
        context_digest=digest.digest,
        dockerignore_text=ignore_text,
        parents={**parents, **{f"from:{k}": v for k, v in (bases or {}).items()}},
    )


def check_builder(engine: ContainerEngine, pb: PreparedBuild, events: Events) -> None:
    if engine.has_buildkit:
        return
    needs = sorted(set(pb.features()) | ({"plan says so"} if pb.step.needs_buildkit else set()))
    if needs or pb.step.secrets:
        what = ", ".join(needs) or "build secrets"
        raise HwdockError(
            f"{pb.dockerfile} needs BuildKit ({what}) but {engine.cli} has neither buildx nor "
            "BuildKit built in",
            hint="install the buildx plugin (apt-get install docker-buildx, or docker-buildx-plugin"
            " from Docker's repository), or use a client with BuildKit built in, e.g. "
            "--engine /usr/bin/docker, or --engine podman",
            exit_code=ExitCode.ENGINE_UNAVAILABLE,
        )
    events.emit(
        "warning",
        step=pb.step.id,
        message=f"{engine.cli} has no BuildKit: using the deprecated legacy builder "
        "(install buildx to silence this)",
    )


def _parents(
    plan_steps: dict[str, ImageStep], step: ImageStep, ids: dict[str, str]
) -> dict[str, str]:
    out: dict[str, str] = {}
    for dep in step.depends_on:
        if dep in ids:
            out[dep] = ids[dep]
    # an app step whose BASE_IMAGE names another step's image depends on it too
    for sid, other in plan_steps.items():
        if sid != step.id and other.image in step.build_args.values() and sid in ids:
            out[sid] = ids[sid]
    return out


def execute_plan(
    engine: ContainerEngine,
    plan: Plan,
    opts: BuildOptions,
    events: Events,
    runlog: RunLog,
) -> list[StepResult]:
    results: list[StepResult] = []
    ids: dict[str, str] = {}
    by_id = {s.id: s for s in plan.steps}
    total = len(plan.steps)
    for n, step in enumerate(plan.steps, 1):
        events.emit(
            "step-start", step=step.id, action=step.action, image=step.image, index=n, total=total
        )
        if step.action == "pull":
            res = pull_step(engine, step, opts, events)
        elif step.action == "use-local":
            iid = engine.image_id(step.image)
            if iid is None:
                raise HwdockError(
                    f"step {step.id!r} uses the local image {step.image}, which is not there",
                    hint=f"build or pull it first ({engine.name} image ls)",
                    exit_code=ExitCode.INPUT,
                )
            res = StepResult(step.id, step.image, "local", iid)
        else:
            res = build_step(
                engine,
                step,
                opts=opts,
                events=events,
                runlog=runlog,
                parents=_parents(by_id, step, ids),
            )
        if res.image_id:
            ids[step.id] = res.image_id
        results.append(res)
        if res.result in ("up-to-date", "present"):
            events.emit("skipped", step=step.id, image=step.image, reason=res.result)
        events.emit(
            "step-done",
            step=step.id,
            image=step.image,
            result=res.result,
            image_id=res.image_id,
            seconds=round(res.seconds, 3),
            **({"context_check": res.context_check} if res.context_check else {}),
        )
    return results


_ARCH = {
    "x86_64": "amd64",
    "amd64": "amd64",
    "aarch64": "arm64",
    "arm64": "arm64",
    "ppc64le": "ppc64le",
    "s390x": "s390x",
    "riscv64": "riscv64",
}


def host_platform() -> str:
    """This machine as an OCI platform ("linux/amd64"), for pulls whose step names none."""
    import platform as _platform

    m = _platform.machine().lower()
    return f"linux/{_ARCH.get(m, m)}"


def pull_step(
    engine: ContainerEngine, step: ImageStep, opts: BuildOptions, events: Events
) -> StepResult:
    t0 = time.monotonic()
    if step.skip_if_present and engine.image_exists(step.image):
        return StepResult(step.id, step.image, "present", engine.image_id(step.image))
    from hwdock.engine.registry import Registry

    reg = opts.registry or Registry()
    info = reg.manifest(step.image)
    events.emit(
        "registry",
        step=step.id,
        image=step.image,
        status=info.status,
        digest=info.digest,
        platforms=info.platforms,
        detail=info.detail,
    )
    if info.status == "unreachable":
        if engine.image_exists(step.image):
            events.emit(
                "warning",
                step=step.id,
                message=f"registry unreachable ({info.detail}); using the local {step.image}",
            )
            return StepResult(step.id, step.image, "present", engine.image_id(step.image))
        raise HwdockError(
            f"cannot pull {step.image}: the registry does not answer ({info.detail})",
            hint="check the network or a proxy, or plan a build instead of a pull",
            exit_code=ExitCode.REGISTRY,
        )
    if info.status == "not-found":
        raise HwdockError(
            f"{step.image} is not in its registry ({info.detail})",
            hint="check the image name and tag, or plan a build instead",
            exit_code=ExitCode.REGISTRY,
        )
    if info.status == "denied":
        raise HwdockError(
            f"the registry refused to show {step.image} ({info.detail})",
            hint=f"log in first ({engine.name} login <registry>) or check the name",
            exit_code=ExitCode.REGISTRY,
        )
    want = step.platform or host_platform()
    if not info.has_platform(want):
        raise HwdockError(
            f"{step.image} has no {want} image (it has {', '.join(info.platforms)})",
            hint="choose another tag, or plan a build for this platform",
            exit_code=ExitCode.INCOMPATIBLE,
        )
    engine.pull(step.image, step.platform)
    return StepResult(
        step.id, step.image, "pulled", engine.image_id(step.image), seconds=time.monotonic() - t0
    )


def build_step(
    engine: ContainerEngine,
    step: ImageStep,
    *,
    opts: BuildOptions,
    events: Events,
    runlog: RunLog,
    parents: dict[str, str] | None = None,
) -> StepResult:
    t0 = time.monotonic()
    if step.skip_if_present and engine.image_exists(step.image):
        return StepResult(step.id, step.image, "present", engine.image_id(step.image))
    pb = prepare(step, opts, runlog.dir)
    check_builder(engine, pb, events)
    missing = [s for s in step.secrets if s not in os.environ]
    if missing:
        events.emit(
            "warning",
            step=step.id,
            message=f"build secret(s) {', '.join(missing)} not set in the environment",
        )
    with tag_lock(
        step.image,
        wait=opts.wait,
        on_wait=lambda: events.emit(
            "waiting", step=step.id, image=step.image, message="another hwdock builds this tag"
        ),
    ):
        # inspects run in the background while the context digest is computed
        pending = None if opts.force else engine.image_inspect_start(step.image)
        base_pending = {ref: engine.image_inspect_start(ref) for ref in base_images(pb)}
        h = compute_plan_hash(
            pb,
            parents or {},
            lambda: {
                ref: str((engine.image_inspect_finish(p) or {}).get("Id") or "absent")
                for ref, p in base_pending.items()
            },
        )
        if pending is not None:
            have = engine.image_inspect_finish(pending)
            labels = ((have or {}).get("Config") or {}).get("Labels") or {}
            if have and labels.get(PLAN_HASH_LABEL) == h:
                return StepResult(
                    step.id,
                    step.image,
                    "up-to-date",
                    str(have.get("Id")),
                    h,
                    time.monotonic() - t0,
                    pb.context_check,
                )
        iidfile = runlog.dir / f"{step.id}.iid"
        labels = image_labels(plan_hash_value=h, title=step.image, source=None, extra=step.labels)
        argv = engine.build_argv(
            step,
            context=str(pb.context),
            dockerfile=str(pb.dockerfile),
            iidfile=str(iidfile),
            labels=labels,
            network=opts.network,
            no_cache=opts.no_cache,
        )
        image_id = _run_build(engine, step, argv, iidfile, opts, events, runlog)
        engine.tag(image_id, step.image)
    return StepResult(
        step.id, step.image, "built", image_id, h, time.monotonic() - t0, pb.context_check
    )


def _stop_group(proc: subprocess.Popen[str], grace: float) -> None:
    import signal
    import subprocess

    for sig, wait in ((signal.SIGINT, grace), (signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


def _term_as_interrupt() -> Any:
    """While a build runs, SIGTERM cleans up like Ctrl-C (main thread only)."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)


def _run_build(
    engine: ContainerEngine,
    step: ImageStep,
    argv: list[str],
    iidfile: Path,
    opts: BuildOptions,
    events: Events,
    runlog: RunLog,
) -> str:
    import shlex
    import signal
    import subprocess
    from collections import deque

    from hwdock.engine.failures import classify, explain
    from hwdock.engine.progress import ProgressParser

    log = runlog.log()
    log.write(f"### step {step.id}: {shlex.join(engine.build_env_prefix() + argv)}\n")
    log.flush()
    parser = ProgressParser()
    tail: deque[str] = deque(maxlen=60)
    old_term = _term_as_interrupt()
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
        errors="replace",
        bufsize=1,
        env=engine.env(),
        start_new_session=True,  # Ctrl-C reaches hwdock only; hwdock stops the whole group
    )
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            tail.append(line.rstrip("\n"))
            for ev in parser.feed(line):
                if ev.kind == "vertex-start" and ev.vertex is not None:
                    v = ev.vertex
                    events.emit(
                        "build-step",
                        step=step.id,
                        vertex=v.id,
                        name=v.name,
                        index=v.index,
                        total=v.total,
                    )
                elif ev.kind == "output":
                    events.emit("log", step=step.id, line=ev.text)
        rc = proc.wait()
    except KeyboardInterrupt:
        _stop_group(proc, opts.interrupt_grace_s)
        log.write("### interrupted by the user; build stopped, nothing tagged\n")
        log.flush()
        raise HwdockError(
            f"build of {step.image} interrupted; the build was stopped and nothing was tagged "
            f"(log: {runlog.build_log})",
            exit_code=ExitCode.INTERRUPTED,
        ) from None
    finally:
        log.flush()
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
    if rc != 0:
        failing = parser.failing_step()
        lines = list(failing.tail)[-15:] if failing and failing.tail else list(tail)[-15:]
        code, hint = classify(rc, list(tail))
        where = f" at {failing.name}" if failing else ""
        msg = (
            f"build of {step.image} (step {step.id!r}){where} failed (exit {rc}); "
            f"full log: {runlog.build_log}\n  last lines:\n" + "\n".join(f"    {x}" for x in lines)
        )
        try:
            known = explain(runlog.build_log.read_text(errors="replace"), str(runlog.build_log))
        except OSError:
            known = explain("\n".join(tail))
        if known:
            msg += "\n" + known
        events.emit(
            "error", step=step.id, exit_code=int(code), message=msg, log=str(runlog.build_log)
        )
        raise HwdockError(msg, hint=hint, exit_code=code)
    try:
        image_id = iidfile.read_text().strip()
    except FileNotFoundError:
        image_id = ""
    if not image_id:
        raise HwdockError(
            f"the engine reported success for {step.image} but wrote no image id "
            f"(log: {runlog.build_log})",
            exit_code=ExitCode.BUILD_FAILED,
        )
    return image_id


def _current_base_ids(engine: ContainerEngine, pb: PreparedBuild) -> dict[str, str]:
    """Each FROM image's id now, or "absent": what a build's plan hash covers."""
    return {ref: engine.image_id(ref) or "absent" for ref in base_images(pb)}


def dry_run_script(
    engine: ContainerEngine, plan: Plan, opts: BuildOptions, run_dir: Path
) -> list[str]:
    """The exact shell commands a build would run, one per line (comments say why)."""
    import shlex

    out: list[str] = [f"mkdir -p {shlex.quote(str(run_dir))}"]
    by_id = {s.id: s for s in plan.steps}
    # the plan hash covers the ids of the images a step builds on (earlier steps, FROM
    # images): taken as they are now, the label shown is the one a build would apply when
    # those images do not change on the way (a read-only look-up; none when the engine is down)
    current: dict[str, str] | None = {}
    try:
        for s in plan.steps:
            iid = engine.image_id(s.image)
            if iid is not None and current is not None:
                current[s.id] = iid
    except HwdockError:
        current = None
    for step in plan.steps:
        out.append(f"# step {step.id}: {step.action} {step.image} — {step.reason}")
        if step.action == "pull":
            if step.skip_if_present:
                out.append(f"# skipped when {step.image} is present locally")
            out.append(shlex.join(engine.pull_argv(step.image, step.platform)))
        elif step.action == "use-local":
            out.append(f"# uses the local image {step.image}")
        else:
            if step.skip_if_present:
                out.append(f"# skipped when {step.image} is present locally")
            pb = prepare(step, opts, None)
            if step.generated_dockerfile is not None:
                pb.dockerfile = run_dir / f"Dockerfile.{step.id}"
                out.append(f"# hwdock writes its generated Dockerfile to {pb.dockerfile}")
            if current is not None:
                parents = _parents(by_id, step, current)
                h = compute_plan_hash(pb, parents, lambda pb=pb: _current_base_ids(engine, pb))
                if parents:
                    out.append(
                        "# the plan-hash label assumes "
                        + ", ".join(sorted(by_id[p].image for p in parents))
                        + " keep their current ids"
                    )
            else:
                h = compute_plan_hash(pb, {})
                out.append(
                    "# the engine did not answer: the plan-hash label below leaves out the ids "
                    "of the images this step builds on; a build adds them"
                )
            iid = run_dir / f"{step.id}.iid"
            labels = image_labels(
                plan_hash_value=h, title=step.image, source=None, extra=step.labels
            )
            argv = engine.build_argv(
                step,
                context=str(pb.context),
                dockerfile=str(pb.dockerfile),
                iidfile=str(iid),
                labels=labels,
                network=opts.network,
                no_cache=opts.no_cache,
            )
            out.append(shlex.join(engine.build_env_prefix() + argv))
            out.append(
                f'{shlex.quote(engine.cli)} tag "$(cat {shlex.quote(str(iid))})" '
                f"{shlex.quote(step.image)}"
            )
    return out
