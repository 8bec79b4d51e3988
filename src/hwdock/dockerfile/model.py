"""The result of reading a Dockerfile: `BuildGraph` and its parts (plain data, JSON-ready)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hwdock.findings import Finding, Severity

ArgSource = Literal["build-arg", "default", "global", "builtin", "unset"]
BaseKind = Literal["image", "stage", "scratch", "invalid"]
ImageStatus = Literal["local", "pull", "build", "unknown"]

SCHEMA_VERSION = 1
KIND = "dockerfile-explain"


@dataclass
class ArgValue:
    """An ARG's value in one scope, and where the value came from."""

    name: str
    value: str | None
    source: ArgSource
    line: int | None = None  # the ARG instruction (None for built-ins and --build-arg only)
    default: str | None = None  # the default as written, before expansion
    depends_on: list[str] = field(default_factory=list)  # variables the default referred to


@dataclass
class Provenance:
    """One variable that went into a FROM value."""

    arg: str
    value: str
    source: ArgSource
    line: int | None = None
    default: str | None = None


@dataclass
class BaseImage:
    raw: str  # as written after FROM
    resolved: str  # after expansion with the global ARGs
    kind: BaseKind
    normalized: str | None = None  # docker.io/library/ubuntu:latest (kind image)
    familiar: str | None = None  # ubuntu:latest
    stage: int | None = None  # index of the stage it builds on (kind stage)
    provenance: list[Provenance] = field(default_factory=list)
    platform_raw: str | None = None
    platform: str | None = None


@dataclass
class Dependency:
    kind: Literal["from", "copy", "mount"]
    ref: str  # as written (stage name/index or image)
    line: int
    stage: int | None = None  # the stage depended on, None for an external image
    image: str | None = None  # normalized reference of an external image


@dataclass
class Stage:
    index: int
    name: str | None
    base: BaseImage
    start_line: int
    end_line: int
    args: dict[str, ArgValue] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)  # ENV and ARG values in effect at the end
    config_env: dict[str, str] = field(default_factory=dict)  # ENV only: the image's Config.Env
    labels: dict[str, str] = field(default_factory=dict)  # inherited from a parent stage too
    dependencies: list[Dependency] = field(default_factory=list)
    used: bool = True  # needed by the target
    inherits_unknown_env: bool = True  # rooted in an image whose ENV hwdock cannot see

    @property
    def display(self) -> str:
        return self.name if self.name else f"stage-{self.index}"


@dataclass
class Feature:
    """A BuildKit-only feature the file uses."""

    code: str
    line: int
    detail: str
    stage: int | None = None


@dataclass
class ArchArg:
    """A known ARG/ENV that carries GPU architectures, build parallelism or versions."""

    name: str
    kind: str
    value: str | None
    source: str  # ArgSource or "env"
    line: int | None
    stage: int | None  # None: global scope
    meaning: str = ""
    depends_on_base_env: bool = False  # refers to a variable only the base image can set


@dataclass
class Toolkit:
    toolkit: str  # cuda / rocm / python
    version: str
    evidence: str  # the image or ARG it came from
    line: int | None = None


@dataclass
class ExternalImage:
    ref: str  # normalized
    familiar: str
    status: ImageStatus
    stages: list[int] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    recipe: str | None = None  # Dockerfile that builds it, when known
    recipe_evidence: str | None = None


@dataclass
class DockerfileFinding:
    code: str  # BuildKit's rule name where one exists, e.g. "UndefinedArgInFrom"
    message: str
    line: int | None
    severity: Severity = "warning"
    fix: str | None = None
    url: str | None = None

    def to_finding(self, path: str) -> Finding:
        where = f"{path}:{self.line}" if self.line is not None else path
        return Finding(
            code=self.code,
            message=f"{where}: {self.message}",
            severity=self.severity,
            fix=self.fix,
            evidence=[where] + ([self.url] if self.url else []),
        )


@dataclass
class BuildGraph:
    path: str
    stages: list[Stage]
    target: int  # index of the target stage
    target_platform: str
    build_platform: str
    global_args: dict[str, ArgValue]
    build_args: dict[str, str]
    features: list[Feature]
    arch_args: list[ArchArg]
    toolkits: list[Toolkit]
    images: list[ExternalImage]
    findings: list[DockerfileFinding]
    syntax: str | None = None
    escape: str = "\\"
    unused_build_args: list[str] = field(default_factory=list)

    @property
    def target_stage(self) -> Stage:
        return self.stages[self.target]

    @property
    def buildkit_required(self) -> bool:
        return bool(self.features)

    def stage_by_name(self, name: str) -> Stage | None:
        low = name.lower()
        for s in self.stages:
            if s.name == low:
                return s
        return None

    def to_dict(self) -> dict[str, Any]:
        d = _plain(self)
        d["target_name"] = self.target_stage.display
        d["buildkit_required"] = self.buildkit_required
        return {"kind": KIND, "schema_version": SCHEMA_VERSION, **d}


def _plain(obj: Any) -> Any:
    """JSON-ready copy of dataclasses, dicts and lists (faster than dataclasses.asdict)."""
    if hasattr(obj, "__dataclass_fields__"):
        return {k: _plain(v) for k, v in vars(obj).items()}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
