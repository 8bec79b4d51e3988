"""make_plan: host + options (+ source tree) → Plan. Pure: reads only what it is handed."""

from __future__ import annotations

import copy

from hwdock.errors import UsageError
from hwdock.plan.context import Ctx, ImageEnv, LocalImages
from hwdock.plan.decide_build_args import decide_build_args
from hwdock.plan.decide_compat import decide_compat
from hwdock.plan.decide_platform import decide_platform
from hwdock.plan.decide_route import ARCH_LABEL, decide_route, host_covered
from hwdock.plan.decide_run import decide_run
from hwdock.plan.model import Plan
from hwdock.plan.options import CUSTOMIZE_CHOICES, PlanOptions
from hwdock.plan.tree import ReadText, load_tree, read_text_fs
from hwdock.probe.model import HostReport


def _never(_ref: str) -> bool:
    return False


def _no_env(_ref: str) -> dict[str, str] | None:
    return None


def make_plan(
    host: HostReport,
    options: PlanOptions,
    *,
    local_images: LocalImages | None = None,
    image_env: ImageEnv | None = None,
    read_text: ReadText = read_text_fs,
) -> Plan:
    options = copy.deepcopy(options)  # never change the caller's object
    bad = [c for c in options.customize if c not in CUSTOMIZE_CHOICES]
    if bad:
        raise UsageError(
            f"--customize {', '.join(bad)}: not something hwdock can customize",
            hint=f"choose from {', '.join(CUSTOMIZE_CHOICES)}",
        )
    tree = load_tree(options.source, options.recipe, read_text)
    recipe = tree.recipe if tree is not None else (options.recipe or "vllm")
    choice = decide_platform(host, options.platform, options.gpu)
    ctx = Ctx(
        host=host,
        options=options,
        tree=tree,
        platform=choice.platform,
        chosen=choice.chosen,
        local_images=local_images or _never,
        image_env=image_env or _no_env,
        recipe=recipe,
        decisions=list(choice.decisions),
    )
    route = decide_route(ctx)
    decide_build_args(ctx, route.steps)
    decide_compat(ctx, route.steps)
    run = decide_run(ctx, route.steps[-1] if route.steps else None)
    plan = Plan(
        recipe=recipe,
        platform=ctx.platform,
        route=route.route,
        host=host.hostname,
        accelerators=[a.key for a in ctx.chosen],
        decisions=ctx.decisions,
        steps=route.steps,
        run=run,
        verdicts=ctx.verdicts,
        warnings=ctx.warnings,
        source=str(tree.root) if tree is not None else None,
    )
    _check_never_uncovered(ctx, plan)
    return plan


def _check_never_uncovered(ctx: Ctx, plan: Plan) -> None:
    """A plan never recommends a pulled image whose arch list misses the chosen GPU: such a
    step must come with an error verdict saying so."""
    errors = {v.code for v in plan.verdicts if v.severity == "error"}
    for step in plan.steps:
        arch = step.labels.get(ARCH_LABEL)
        if arch is not None and not host_covered(ctx, arch):
            assert "arch-not-covered" in errors, f"uncovered image {step.image} without verdict"


def is_incompatible(plan: Plan) -> bool:
    return any(v.severity == "error" for v in plan.verdicts)


__all__ = ["PlanOptions", "is_incompatible", "make_plan"]
