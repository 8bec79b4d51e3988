"""The fleet plan: hosts → variants (with reasons) → one plan per variant → bake + manifests.

`planner` turns a host report into a `Plan` (the CLI passes `hwdock.plan.make_plan` with the
user's options). A fat variant is planned for a representative host that carries one GPU of
each arch in the variant, the oldest driver and the narrowest CPU of its hosts, so the plan's
arch list covers every host and its driver checks hold for the oldest one.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hwdock.errors import HwdockError
from hwdock.export.bake import BakeFile, Variant, build_bake
from hwdock.export.hcl import Body
from hwdock.export.k8s import K8sOptions, Placement, render_k8s
from hwdock.fleet.cost import Group, choose_variants, total_cost
from hwdock.fleet.inventory import FleetHost
from hwdock.fleet.labels import placement, wider_isas
from hwdock.fleet.needs import (
    Exclusion,
    Needs,
    accelerator_arch,
    arch_token,
    chosen_accelerators,
    host_needs,
)
from hwdock.plan.model import Plan

SCHEMA_VERSION = 1
Planner = Callable[[Any], Plan]


@dataclass
class FleetVariant:
    name: str
    needs: Needs
    hosts: list[str]
    plan: Plan
    placement: Placement
    gpu_count: int
    why: list[str] = field(default_factory=list)

    @property
    def image(self) -> str:
        return self.plan.final_image or "?"


@dataclass
class FleetPlan:
    variants: list[FleetVariant]
    excluded: list[Exclusion]
    notes: list[str] = field(default_factory=list)
    cost: float = 0.0

    def host_table(self) -> list[tuple[str, str, str]]:
        rows = [(h, v.name, v.image) for v in self.variants for h in v.hosts]
        rows += [(e.host, "-", f"excluded: {e.reason}") for e in self.excluded]
        return sorted(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "fleet-plan",
            "schema_version": SCHEMA_VERSION,
            "variants": [
                {
                    "name": v.name,
                    "platform": v.needs.platform,
                    "archs": list(v.needs.archs),
                    "cpu_arch": v.needs.cpu_arch,
                    "driver_class": v.needs.driver_class,
                    "isa": v.needs.isa,
                    "image": v.image,
                    "hosts": v.hosts,
                    "gpu_count": v.gpu_count,
                    "why": v.why,
                    "node_selector_terms": [
                        [r.to_dict() for r in term] for term in v.placement.terms
                    ],
                }
                for v in self.variants
            ],
            "hosts": [
                {"host": h, "variant": None if var == "-" else var, "image": img}
                for h, var, img in self.host_table()
            ],
            "excluded": [{"host": e.host, "reason": e.reason} for e in self.excluded],
            "estimated_cost_gib_eq": round(self.cost, 2),
            "notes": self.notes,
        }


def _version_key(v: str | None) -> tuple[int, ...]:
    parts = []
    for p in (v or "").split("."):
        parts.append(int(p) if p.isdigit() else 0)
    return tuple(parts)


def representative(group: Group, reports: dict[str, Any]) -> Any:
    """A host report standing for every host of the group (see module docstring)."""
    hosts = [reports[h] for h in group.hosts]
    rep = copy.deepcopy(hosts[0])
    rep.hostname = group.hosts[0] if len(hosts) == 1 else f"variant-of-{len(hosts)}-hosts"
    if group.needs.platform != "cpu":
        seen: set[str] = set()
        accs = []
        for h in hosts:
            for a in chosen_accelerators(h):
                arch = accelerator_arch(a)
                if arch and arch not in seen:
                    seen.add(arch)
                    accs.append(copy.deepcopy(a))
        if len({a.integrated for a in accs}) > 1:
            # an iGPU host's GPU in a variant with a dGPU host's: the planner would leave the
            # "integrated" one out as it does on one machine, and narrow the image past it
            for a in accs:
                a.integrated = False
        rep.accelerators = accs
        drivers = [d for h in hosts for d in h.drivers]
        by_vendor: dict[str, Any] = {}
        for d in drivers:
            cur = by_vendor.get(d.vendor)
            if cur is None or _version_key(d.version) < _version_key(cur.version):
                by_vendor[d.vendor] = d
        rep.drivers = list(by_vendor.values())
    return rep


def _variant_name(needs: Needs, taken: set[str]) -> str:
    if needs.platform == "cpu":
        parts = ["cpu", needs.isa or needs.cpu_arch]
    else:
        parts = [needs.platform, *(arch_token(needs.platform, a) for a in needs.archs)]
    name = "-".join(parts).lower().replace(".", "")
    for extra in (needs.driver_class, needs.cpu_arch):
        if name not in taken:
            break
        if extra:
            name = f"{name}-{extra}".replace("_", "-")
    base, n = name, 2
    while name in taken:
        name, n = f"{base}-{n}", n + 1
    return name


def _retag(plan: Plan, new: str) -> None:
    old = plan.final_image
    for s in plan.steps:
        if s.image == old:
            s.image = new
    if plan.run and plan.run.image == old:
        plan.run.image = new


def plan_fleet(
    hosts: list[FleetHost],
    planner: Planner,
    *,
    allow_cpu: bool = True,
    costs: dict[str, Any] | None = None,
) -> FleetPlan:
    reports = {h.name: h.report for h in hosts}
    by_needs: dict[Needs, list[str]] = {}
    excluded: list[Exclusion] = []
    for h in hosts:
        n = host_needs(h.report, allow_cpu=allow_cpu)
        if isinstance(n, Exclusion):
            excluded.append(Exclusion(h.name, n.reason))
        else:
            by_needs.setdefault(n, []).append(h.name)
    groups = choose_variants(by_needs, costs)
    cpu_isas = {g.needs.isa for g in groups if g.needs.platform == "cpu" and g.needs.isa}
    variants: list[FleetVariant] = []
    notes: list[str] = []
    taken: set[str] = set()
    images: dict[str, str] = {}
    planned: list[Group] = []
    queue = list(groups)
    while queue:
        g = queue.pop(0)
        name = _variant_name(g.needs, taken)
        try:
            plan = planner(representative(g, reports))
            blocker = next((v for v in plan.verdicts if v.severity == "error"), None)
        except HwdockError as err:
            plan, blocker = None, None
            problem = f"has no plan ({err.message})"
        if plan is not None and blocker is not None:
            # never place a host on an image the plan says cannot work there
            problem = f"cannot work on its hosts ({blocker.code}: {blocker.message})"
            if blocker.fix:
                problem += f"; fix: {blocker.fix}"
        if plan is None or blocker is not None:
            if g.parts:
                # the fat image has no working plan (a published image may fit some parts, or
                # one arch needs a newer toolkit): the parts that work alone may still share
                # an image, so they are grouped again by the cost model; the rest go alone
                why = f"the fat image for {'+'.join(g.archs)} {problem}"
                queue[:0] = _regroup(g.parts, reports, planner, costs, why)
                continue
            excluded += [Exclusion(h, f"its variant's image {problem}") for h in g.hosts]
            continue
        assert plan is not None
        planned.append(g)
        taken.add(name)
        image = plan.final_image
        if image is None:
            raise HwdockError(f"the plan for variant {name} produces no image")
        built = any(st.image == image and st.action == "build" for st in plan.steps)
        if image in images and not built:
            # a published image fits both variants: pull it, never invent a tag for it
            notes.append(f"variants {images[image]} and {name} both run the published {image}")
        elif image in images:
            repo = image.rsplit(":", 1)[0] if ":" in image.rsplit("/", 1)[-1] else image
            new = f"{repo}:{name}"
            notes.append(
                f"variants {images[image]} and {name} were both tagged {image}; "
                f"{name} is tagged {new}"
            )
            _retag(plan, new)
            image = new
        images.setdefault(image, name)
        group_hosts = [reports[h] for h in g.hosts]
        counts = [len(chosen_accelerators(r)) for r in group_hosts]
        gpu_count = min(counts) if counts and g.needs.platform != "cpu" else 0
        if counts and len(set(counts)) > 1 and g.needs.platform != "cpu":
            notes.append(
                f"variant {name}: hosts have {sorted(set(counts))} GPUs; each pod asks for "
                f"{gpu_count} so it fits every host"
            )
        place = placement(g.needs, group_hosts, wider_isas=wider_isas(g.needs.isa, cpu_isas))
        variants.append(FleetVariant(name, g.needs, g.hosts, plan, place, gpu_count, g.why))
    return FleetPlan(variants, excluded, notes, total_cost(planned, costs or _costs()))


def _works(g: Group, reports: dict[str, Any], planner: Planner) -> bool:
    try:
        plan = planner(representative(g, reports))
    except HwdockError:
        return False
    return not any(v.severity == "error" for v in plan.verdicts)


def _regroup(
    parts: list[Group],
    reports: dict[str, Any],
    planner: Planner,
    costs: dict[str, Any] | None,
    why: str,
) -> list[Group]:
    """A failed fat group's parts, to plan next: those that work alone grouped again (they
    may still share an image), those that do not on their own (they get excluded with their
    own plan's reason). Always smaller groups than the failed one, so this ends."""
    working = [p for p in parts if _works(p, reports, planner)]
    failing = [p for p in parts if p not in working]
    if len(working) < 2 or not failing:
        for part in parts:  # nothing to regroup: every part on its own
            part.why = [*part.why, f"planned on its own: {why}"]
        return list(parts)
    regrouped = choose_variants({p.needs: list(p.hosts) for p in working}, costs)
    left_out = ", ".join("+".join(p.archs) or "?" for p in failing)
    for g in regrouped:
        g.why.append(f"grouped again without {left_out}: {why}")
    for part in failing:
        part.why = [*part.why, f"planned on its own: {why}"]
    return regrouped + failing


def _costs() -> dict[str, Any]:
    from hwdock.knowledge import load

    return load("fleet_costs")


def fleet_bake(
    fp: FleetPlan, *, project: Body | None = None, project_path: str | None = None
) -> BakeFile:
    return build_bake(
        [Variant(v.name, v.plan) for v in fp.variants], project=project, project_path=project_path
    )


def fleet_manifests(fp: FleetPlan, options: K8sOptions | None = None) -> dict[str, str]:
    """One manifest file per variant: `k8s/<variant>.yaml` → text."""
    out: dict[str, str] = {}
    base = options or K8sOptions()
    for v in fp.variants:
        opts = copy.copy(base)
        opts.name = f"{base.name}-{v.name}" if base.name else f"vllm-{v.name}"
        opts.gpu_count = v.gpu_count
        res = render_k8s(v.plan, v.placement, opts)
        out[f"k8s/{res.name}.yaml"] = res.text
    return out
