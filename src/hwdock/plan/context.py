"""What every decision reads: the host, the options, the tree and the chosen GPUs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from hwdock.findings import Finding
from hwdock.plan.dockerfile_facts import DockerfileFacts
from hwdock.plan.model import Decision
from hwdock.plan.options import PlanOptions
from hwdock.plan.tree import SourceTree
from hwdock.probe.model import Accelerator, HostReport

ImageEnv = Callable[[str], "dict[str, str] | None"]
LocalImages = Callable[[str], bool]


@dataclass
class Ctx:
    host: HostReport
    options: PlanOptions
    tree: SourceTree | None
    platform: str
    chosen: list[Accelerator]
    local_images: LocalImages
    image_env: ImageEnv
    recipe: str = "generic"
    decisions: list[Decision] = field(default_factory=list)
    verdicts: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    # Dockerfile facts per build step id ("app", "base")
    step_facts: dict[str, DockerfileFacts] = field(default_factory=dict)

    @property
    def gfx_targets(self) -> list[str]:
        return sorted({a.gfx_target for a in self.chosen if a.gfx_target})

    @property
    def capabilities(self) -> list[str]:
        from hwdock.plan.facts import version_tuple

        ccs = {a.compute_capability for a in self.chosen if a.compute_capability}
        return sorted(ccs, key=version_tuple)

    @property
    def arch_tag(self) -> str:
        if self.platform == "rocm":
            return "-".join(self.gfx_targets) or "gfx-unknown"
        if self.platform == "cuda":
            return "-".join("sm" + c.replace(".", "") for c in self.capabilities) or "sm-unknown"
        if self.platform == "cpu":
            return self.host.cpu.isa_level or self.host.cpu.architecture or "cpu"
        return self.platform

    def nvidia_driver(self) -> tuple[str | None, str | None]:
        for d in self.host.drivers:
            if d.vendor == "nvidia":
                return d.version, d.cuda_driver_version
        return None, None

    def is_jetson(self) -> bool:
        from hwdock.plan.facts import jetson_host

        return jetson_host(self.host, self.chosen if self.platform == "cuda" else [])
