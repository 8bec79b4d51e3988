"""Where doctor and verify get their host report and plan from (the CLI's effects)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hwdock.errors import HwdockError, InputError, UsageError
from hwdock.plan.model import Plan
from hwdock.probe.model import HostReport


@dataclass
class PlanArgs:
    """The plan options doctor and verify accept, passed on to `hwdock.plan.make_plan`."""

    source: Path | None = None
    dockerfile: str | None = None
    recipe: str | None = None
    platform: str | None = None
    gpu: list[str] = field(default_factory=list)
    model: Path | None = None
    customize: list[str] = field(default_factory=list)
    build_args: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    tag: str | None = None
    debug: bool = False
    port: int = 8000

    @property
    def wanted(self) -> bool:
        return self.source is not None or self.recipe is not None or self.dockerfile is not None


def _read_json(path: str) -> dict[str, Any]:
    try:
        text = Path(path).read_text("utf-8")
    except FileNotFoundError:
        raise InputError("no such file", path=path) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", path=path) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not JSON: {err.msg}", path=path, line=err.lineno) from None
    if not isinstance(doc, dict):
        raise InputError("expected a JSON object", path=path)
    return doc


def load_host(host_json: str | None, capture: str | None) -> HostReport:
    """--host REPORT.json, --from CAPTURE, or a live probe of this machine."""
    if host_json and capture:
        raise UsageError("give --host or --from, not both")
    if host_json:
        try:
            host = HostReport.from_dict(_read_json(host_json))
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"not a host report: {err}", path=host_json) from None
        host.source = f"report:{host_json}"
        return host
    if capture:
        from hwdock.probe.capture import replay

        return replay(capture)
    import os

    from hwdock.probe.access import ENV_KEPT
    from hwdock.probe.host import live_user, probe_host
    from hwdock.probe.root import Root
    from hwdock.probe.runner import LiveRunner

    env = {k: os.environ[k] for k in ENV_KEPT if k in os.environ}
    return probe_host(Root("/"), LiveRunner(), env, live_user(), use_nvml=True)


def make_plan(host: HostReport, plan_json: str | None, args: PlanArgs) -> Plan | None:
    """--plan PLAN.json, a plan made from SOURCE and the plan options, or None."""
    if plan_json:
        if args.wanted:
            raise UsageError("give --plan or SOURCE/--recipe, not both")
        try:
            return Plan.from_dict(_read_json(plan_json))
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(f"not a plan: {err}", path=plan_json) from None
    if not args.wanted:
        return None
    try:
        from hwdock.plan import make_plan as _make_plan
        from hwdock.plan.options import PlanOptions
    except ImportError:
        raise HwdockError(
            "planning is not available in this build",
            hint="pass a plan made elsewhere with --plan PLAN.json",
        ) from None
    options = PlanOptions(
        source=args.source,
        dockerfile=args.dockerfile,
        recipe=args.recipe,
        platform=args.platform,
        gpu=list(args.gpu),
        model=args.model,
        customize=list(args.customize),
        build_args=dict(args.build_args),
        target=args.target,
        tag=args.tag,
        debug=args.debug,
        port=args.port,
        base_dockerfile=None,
    )
    return _make_plan(host, options)


def parse_build_args(items: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--build-arg wants KEY=VALUE, got {item!r}")
        out[key] = value
    return out
