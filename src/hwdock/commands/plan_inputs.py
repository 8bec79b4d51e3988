"""What the commands that plan share: KEY=VALUE options, the host (`--host`/`--from`/live
probe), a saved plan (`--plan`), and a plan made from the plan options.

Effects (files, the probe, the engine) happen here, on behalf of the CLI; the planner itself
stays pure. Heavy imports are inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hwdock.errors import InputError, UsageError

if TYPE_CHECKING:
    from hwdock.plan.model import Plan
    from hwdock.plan.options import PlanOptions
    from hwdock.probe.model import HostReport


# The plan options' names on the command line, by `PlanArgs` field (typer's declarations, with
# their help, are in `commands.common.PLAN_OPTIONS`; the fast paths read these names).
PLAN_OPTION_NAMES: dict[str, tuple[str, ...]] = {
    "recipe": ("--recipe",),
    "platform": ("--platform",),
    "gpu": ("--gpu",),
    "dockerfile": ("-f", "--file", "--dockerfile"),
    "base_dockerfile": ("--base-dockerfile",),
    "build_arg": ("--build-arg",),
    "customize": ("--customize",),
    "target": ("--target",),
    "tag": ("--tag", "-t"),
    "model": ("--model",),
    "debug": ("--debug",),
    "port": ("--port",),
}
PLAN_REPEATED = ("gpu", "build_arg", "customize")  # options given more than once
PLAN_FLAGS = ("debug",)  # options without a value


def parse_pairs(
    items: list[str] | None,
    option: str = "--build-arg",
    *,
    environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """`KEY=VALUE` items as a dict (the last one wins).

    With `environ`, a bare `KEY` takes its value from there and is left out when unset, as
    `docker build --build-arg KEY` does; without it, a bare `KEY` is a usage error.
    """
    out: dict[str, str] = {}
    for item in items or []:
        key, eq, value = item.partition("=")
        if key and not eq and environ is not None:
            if key in environ:
                out[key] = environ[key]
            continue
        if not eq or not key:
            raise UsageError(f"{option} {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def load_host(
    report: str | os.PathLike[str] | None, capture: str | os.PathLike[str] | None
) -> HostReport:
    """--host REPORT.json (or a capture folder), --from CAPTURE, or a live probe."""
    if report is not None and capture is not None:
        raise UsageError("give --host or --from, not both")
    if report is not None:
        from hwdock.fleet.inventory import read_report

        path = Path(report)
        host = read_report(path)
        if not path.is_dir():
            host.source = f"report:{path}"
        return host
    if capture is not None:
        from hwdock.probe import probe_capture

        return probe_capture(capture)
    from hwdock.probe import probe_live

    return probe_live()


def read_plan(path: str | os.PathLike[str]) -> Plan:
    """A saved plan (`hwdock plan --json`)."""
    from hwdock.jsonin import read_text

    name = os.fspath(path)
    return parse_plan(read_text(name, "plan"), name)


def parse_plan(text: str, name: str) -> Plan:
    """The plan whose JSON is `text`, read from the file `name` (InputError naming it)."""
    from hwdock.jsonin import loads
    from hwdock.plan.model import Plan

    doc = loads(text, name)
    if not isinstance(doc, dict):
        raise InputError("not a plan (expected a JSON object)", path=name)
    try:
        return Plan.from_dict(doc)
    except InputError as err:
        raise InputError(err.message, path=name, hint=err.hint) from None
    except (KeyError, TypeError, ValueError) as err:
        raise InputError(f"not a plan: missing or bad {err}", path=name) from None


def check_tag(tag: str) -> None:
    """UsageError unless `tag` is a reference the engine will accept for `--tag`."""
    from hwdock.dockerfile.imageref import InvalidReference, parse_image_ref

    try:
        ref = parse_image_ref(tag)
    except InvalidReference as err:
        raise UsageError(
            f"--tag {tag!r}: {err}", hint="e.g. myapp:gfx1100 (lower-case name, no spaces)"
        ) from None
    if ref.digest:
        raise UsageError(f"--tag {tag!r}: a tag cannot carry a digest")


def _split(items: list[str] | None) -> list[str]:
    """Repeatable options that also take a,b."""
    return [x for item in items or [] for x in item.split(",") if x]


@dataclass
class PlanArgs:
    """The plan options as the commands take them (see `commands.common.PLAN_OPTIONS`)."""

    source: Path | None = None
    dockerfile: str | None = None
    base_dockerfile: str | None = None
    recipe: str | None = None
    platform: str | None = None
    gpu: list[str] | None = None
    model: Path | None = None
    customize: list[str] | None = None
    build_arg: list[str] | None = None
    target: str | None = None
    tag: str | None = None
    debug: bool = False
    port: int = 8000
    hf_cache: Path | None = None  # None: the plan's run uses a named volume
    model_here: bool = True  # False: --model names a path on the host the export is for

    @property
    def wanted(self) -> bool:
        """Whether the user asked for a plan at all (doctor and verify plan only then)."""
        return self.source is not None or self.recipe is not None or self.dockerfile is not None

    def check(self) -> None:
        """SOURCE is a folder and --model exists (InputError otherwise)."""
        if self.source is not None and not self.source.is_dir():
            raise InputError(
                "not a folder", path=str(self.source), hint="give the source tree (build context)"
            )
        if self.model is not None and self.model_here and not self.model.exists():
            raise InputError("model directory not found", path=str(self.model))

    def options(self) -> PlanOptions:
        """The planner's options (after `check`)."""
        from hwdock.plan.options import PlanOptions

        self.check()
        if self.tag is not None:
            check_tag(self.tag)
        return PlanOptions(
            source=self.source.resolve() if self.source else None,
            dockerfile=self.dockerfile,
            recipe=self.recipe,
            platform=self.platform,
            gpu=_split(self.gpu),
            model=self.model.resolve() if self.model and self.model_here else self.model,
            customize=_split(self.customize),
            build_args=parse_pairs(self.build_arg),
            target=self.target,
            tag=self.tag,
            debug=self.debug,
            port=self.port,
            base_dockerfile=self.base_dockerfile,
            hf_cache=self.hf_cache,
        )


ImageLookups = tuple[Callable[[str], bool] | None, Callable[[str], dict | None] | None]


def engine_lookups() -> ImageLookups:
    """(local_images, image_env) backed by the container engine, found on first use; with no
    engine answering, nothing is local."""
    state: dict[str, Any] = {}

    def engine() -> Any:
        if "engine" not in state:
            try:
                from hwdock.engine.detect import find_engine

                state["engine"] = find_engine()
            except Exception:  # no engine answering: nothing is local
                state["engine"] = None
        return state["engine"]

    def local_images(ref: str) -> bool:
        eng = engine()
        try:
            return bool(eng and eng.image_exists(ref))
        except Exception:
            return False

    def image_env(ref: str) -> dict | None:
        eng = engine()
        try:
            data = eng.image_inspect(ref) if eng else None
        except Exception:
            return None
        if not data:
            return None
        cfg = data.get("Config") or {}
        env = dict(item.split("=", 1) for item in (cfg.get("Env") or []) if "=" in item)
        env.update(cfg.get("Labels") or {})
        return env

    return local_images, image_env


def make_plan(host: HostReport, args: PlanArgs, *, use_engine: bool = True) -> Plan:
    """The plan for `host` from the plan options; with `use_engine`, the local engine says
    which images are already here (and their ENV/labels)."""
    from hwdock.plan.make import make_plan as plan_for

    options = args.options()
    local_images, image_env = engine_lookups() if use_engine else (None, None)
    return plan_for(host, options, local_images=local_images, image_env=image_env)
