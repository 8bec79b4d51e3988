"""The body of `hwdock plan` (effects live here: reading the host, asking the engine,
printing). `hwdock.commands.plan` only declares the options."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hwdock.errors import ExitCode, HwdockError, InputError, UsageError
from hwdock.probe.model import HostReport


def load_host(host_report: Path | None, from_capture: Path | None) -> HostReport:
    if host_report is not None and from_capture is not None:
        raise UsageError("give --host or --from, not both")
    if host_report is not None:
        try:
            data = json.loads(host_report.read_text("utf-8"))
        except FileNotFoundError as err:
            raise InputError("host report not found", path=str(host_report)) from err
        except json.JSONDecodeError as err:
            raise InputError(
                f"not JSON: {err.msg}",
                path=str(host_report),
                line=err.lineno,
                hint="write one with `hwdock probe --json > host.json`",
            ) from err
        if not isinstance(data, dict):
            raise InputError("not a host report (expected a JSON object)", path=str(host_report))
        try:
            return HostReport.from_dict(data)
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"malformed host report: {err}", path=str(host_report)) from err
    try:
        from hwdock import probe
    except ImportError as err:  # pragma: no cover - the probe package is part of hwdock
        raise HwdockError(f"the probe is unavailable: {err}") from err
    if from_capture is not None:
        fn = getattr(probe, "probe_capture", None)
        if fn is None:
            raise HwdockError(
                "this hwdock cannot replay captures yet (hwdock.probe.probe_capture is missing)",
                hint="use --host REPORT.json",
            )
        return fn(from_capture)
    fn = getattr(probe, "probe_live", None)
    if fn is None:
        raise HwdockError(
            "this hwdock cannot probe the host yet (hwdock.probe.probe_live is missing)",
            hint="use --host REPORT.json",
        )
    return fn()


def engine_lookups() -> tuple[Callable[[str], bool] | None, Callable[[str], dict | None] | None]:
    """(local_images, image_env) backed by the container engine, asked lazily; (None, None)
    when no engine is available."""
    state: dict[str, Any] = {}

    def engine() -> Any:
        if "engine" not in state:
            try:
                from hwdock.engine.detect import find_engine

                state["engine"] = find_engine()
            except Exception:  # no engine module, or no engine answering: nothing is local
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


def _pairs(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, eq, value = item.partition("=")
        if not eq or not key:
            raise UsageError(f"--build-arg {item!r}: expected KEY=VALUE")
        out[key] = value
    return out


def run_plan(
    *,
    source: Path | None,
    recipe: str | None,
    platform: str | None,
    gpu: list[str],
    model: Path | None,
    customize: list[str],
    build_arg: list[str],
    dockerfile: str | None,
    base_dockerfile: str | None,
    target: str | None,
    tag: str | None,
    debug: bool,
    port: int,
    host_report: Path | None,
    from_capture: Path | None,
    no_engine: bool,
    as_json: bool,
    as_script: bool,
) -> None:
    from hwdock.plan.make import is_incompatible, make_plan
    from hwdock.plan.options import PlanOptions

    if as_json and as_script:
        raise UsageError("give --json or --script, not both")
    if source is not None and not source.is_dir():
        raise InputError(
            "not a folder", path=str(source), hint="give the source tree (build context)"
        )
    if model is not None and not model.exists():
        raise InputError("model directory not found", path=str(model))
    host = load_host(host_report, from_capture)
    options = PlanOptions(
        source=source.resolve() if source else None,
        dockerfile=dockerfile,
        recipe=recipe,
        platform=platform,
        gpu=[g for item in gpu for g in item.split(",") if g],
        model=model.resolve() if model else None,
        customize=[c for item in customize for c in item.split(",") if c],
        build_args=_pairs(build_arg),
        target=target,
        tag=tag,
        debug=debug,
        port=port,
        base_dockerfile=base_dockerfile,
        hf_cache=Path.home() / ".cache" / "huggingface",
    )
    local_images, image_env = (None, None) if no_engine else engine_lookups()
    plan = make_plan(host, options, local_images=local_images, image_env=image_env)
    if as_json:
        from hwdock.jsonout import dump

        dump(plan.to_dict())
    elif as_script:
        from hwdock.export.script import plan_script

        sys.stdout.write(plan_script(plan))
    else:
        from rich.console import Console

        from hwdock.plan.render import render

        render(plan, Console())
    if is_incompatible(plan):
        raise SystemExit(int(ExitCode.INCOMPATIBLE))
