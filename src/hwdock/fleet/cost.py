"""Groups of hosts → variants: one arch-narrowed image per group, or a fat image for several.

Start from one group per distinct `Needs`; then, among groups with the same merge key (same
platform, CPU architecture, driver class, ISA), repeatedly merge the pair whose merge saves
the most under the cost model in knowledge/data/fleet_costs.toml, until no merge saves
anything. Every merge and every refusal is recorded with its figures, so the user sees why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations
from typing import Any

from hwdock.fleet.needs import Needs
from hwdock.knowledge import load


@dataclass
class Group:
    needs: Needs
    hosts: list[str]
    why: list[str] = field(default_factory=list)
    # the narrow groups a fat group was merged from (empty for a narrow one): the fleet plans
    # them on their own when the fat image has no plan (e.g. no published image fits it)
    parts: list[Group] = field(default_factory=list)

    @property
    def archs(self) -> tuple[str, ...]:
        return self.needs.archs


def _params(platform: str, costs: dict[str, Any]) -> dict[str, float]:
    table = costs.get("platform", {})
    p = table.get(platform) or table.get("cpu") or {}
    return {k: float(v) for k, v in p.items() if isinstance(v, int | float)}


def group_cost(g: Group, costs: dict[str, Any]) -> float:
    p = _params(g.needs.platform, costs)
    size = p.get("variant_gib", 0) + p.get("per_arch_gib", 0) * len(g.archs)
    build = p.get("build_fixed_min", 0) + p.get("build_per_arch_min", 0) * len(g.archs)
    return size + size * len(g.hosts) + build * float(costs.get("build_minute_gib", 0.1))


def total_cost(groups: list[Group], costs: dict[str, Any]) -> float:
    return sum(group_cost(g, costs) for g in groups)


def _merged(a: Group, b: Group) -> Group:
    n = a.needs
    needs = Needs(
        n.platform, tuple(sorted(set(a.archs) | set(b.archs))), n.cpu_arch, n.driver_class, n.isa
    )
    parts = (a.parts or [a]) + (b.parts or [b])
    return Group(needs, a.hosts + b.hosts, a.why + b.why, parts)


def _order(n: Needs) -> tuple[str, tuple[str, ...], str, str, str]:
    return (n.platform, n.archs, n.cpu_arch, n.driver_class or "", n.isa or "")


def choose_variants(
    by_needs: dict[Needs, list[str]], costs: dict[str, Any] | None = None
) -> list[Group]:
    costs = costs if costs is not None else load("fleet_costs")
    # sorted, so that ties between equal savings break the same way whatever the hosts' order
    groups = [Group(n, list(h)) for n, h in sorted(by_needs.items(), key=lambda kv: _order(kv[0]))]
    for g in groups:
        g.why.append(
            f"{', '.join(g.hosts)} need {g.needs.platform} {' '.join(g.archs) or g.needs.isa}"
        )
        g.parts = []
    while True:
        best: tuple[float, int, int] | None = None
        for i, j in combinations(range(len(groups)), 2):
            a, b = groups[i], groups[j]
            if a.needs.merge_key() != b.needs.merge_key():
                continue
            saving = group_cost(a, costs) + group_cost(b, costs) - group_cost(_merged(a, b), costs)
            if best is None or saving > best[0]:
                best = (saving, i, j)
        if best is None:
            break
        saving, i, j = best
        a, b = groups[i], groups[j]
        label = f"{'+'.join(a.archs)} with {'+'.join(b.archs)}"
        if saving <= 0:
            for g in (a, b):
                g.why.append(
                    f"kept narrow: one fat image for {label} would cost {-saving:.1f} GiB-eq more "
                    "(its hosts would pull device code they cannot use)"
                )
            break
        merged = _merged(a, b)
        merged.why.append(
            f"one fat image for {label} saves {saving:.1f} GiB-eq "
            "(one build and one set of variant layers instead of two)"
        )
        groups = [g for k, g in enumerate(groups) if k not in (i, j)] + [merged]
    return sorted(groups, key=lambda g: (g.needs.platform, g.archs, g.needs.isa or ""))
