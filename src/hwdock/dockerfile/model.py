"""The result of reading a Dockerfile: `BuildGraph` and its parts (plain data, JSON-ready).

Plain classes (see `record`); `Record` gives them the dataclass-like `repr`, `==` and the
field order that `to_dict` follows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from hwdock.dockerfile.record import Record

if TYPE_CHECKING:
    from hwdock.findings import Finding, Severity
else:
    Severity = str

ArgSource = Literal["build-arg", "default", "global", "builtin", "unset"]
BaseKind = Literal["image", "stage", "scratch", "invalid"]
ImageStatus = Literal["local", "pull", "build", "unknown"]

SCHEMA_VERSION = 1
KIND = "dockerfile-explain"


class ArgValue(Record):
    """An ARG's value in one scope, and where the value came from."""

    _fields = ("name", "value", "source", "line", "default", "depends_on")

    def __init__(
        self,
        name: str,
        value: str | None,
        source: ArgSource,
        line: int | None = None,  # the ARG instruction (None for built-ins, --build-arg only)
        default: str | None = None,  # the default as written, before expansion
        depends_on: list[str] | None = None,  # variables the default referred to
    ) -> None:
        self.name = name
        self.value = value
        self.source = source
        self.line = line
        self.default = default
        self.depends_on: list[str] = [] if depends_on is None else depends_on


class Provenance(Record):
    """One variable that went into a FROM value."""

    _fields = ("arg", "value", "source", "line", "default")

    def __init__(
        self,
        arg: str,
        value: str,
        source: ArgSource,
        line: int | None = None,
        default: str | None = None,
    ) -> None:
        self.arg = arg
        self.value = value
        self.source = source
        self.line = line
        self.default = default


class BaseImage(Record):
    _fields = (
        "raw",
        "resolved",
        "kind",
        "normalized",
        "familiar",
        "stage",
        "provenance",
        "platform_raw",
        "platform",
    )

    def __init__(
        self,
        raw: str,  # as written after FROM
        resolved: str,  # after expansion with the global ARGs
        kind: BaseKind,
        normalized: str | None = None,  # docker.io/library/ubuntu:latest (kind image)
        familiar: str | None = None,  # ubuntu:latest
        stage: int | None = None,  # index of the stage it builds on (kind stage)
        provenance: list[Provenance] | None = None,
        platform_raw: str | None = None,
        platform: str | None = None,
    ) -> None:
        self.raw = raw
        self.resolved = resolved
        self.kind = kind
        self.normalized = normalized
        self.familiar = familiar
        self.stage = stage
        self.provenance: list[Provenance] = [] if provenance is None else provenance
        self.platform_raw = platform_raw
        self.platform = platform


class Dependency(Record):
    _fields = ("kind", "ref", "line", "stage", "image")

    def __init__(
        self,
        kind: Literal["from", "copy", "mount"],
        ref: str,  # as written (stage name/index or image)
        line: int,
        stage: int | None = None,  # the stage depended on, None for an external image
        image: str | None = None,  # normalized reference of an external image
    ) -> None:
        self.kind = kind
        self.ref = ref
        self.line = line
        self.stage = stage
        self.image = image


class Stage(Record):
    _fields = (
        "index",
        "name",
        "base",
        "start_line",
        "end_line",
        "args",
        "env",
        "config_env",
        "labels",
        "dependencies",
        "used",
        "inherits_unknown_env",
    )

    def __init__(
        self,
        index: int,
        name: str | None,
        base: BaseImage,
        start_line: int,
        end_line: int,
        args: dict[str, ArgValue] | None = None,
        env: dict[str, str] | None = None,  # ENV and ARG values in effect at the end
        config_env: dict[str, str] | None = None,  # ENV only: the image's Config.Env
        labels: dict[str, str] | None = None,  # inherited from a parent stage too
        dependencies: list[Dependency] | None = None,
        used: bool = True,  # needed by the target
        inherits_unknown_env: bool = True,  # rooted in an image whose ENV hwdock cannot see
    ) -> None:
        self.index = index
        self.name = name
        self.base = base
        self.start_line = start_line
        self.end_line = end_line
        self.args: dict[str, ArgValue] = {} if args is None else args
        self.env: dict[str, str] = {} if env is None else env
        self.config_env: dict[str, str] = {} if config_env is None else config_env
        self.labels: dict[str, str] = {} if labels is None else labels
        self.dependencies: list[Dependency] = [] if dependencies is None else dependencies
        self.used = used
        self.inherits_unknown_env = inherits_unknown_env

    @property
    def display(self) -> str:
        return self.name if self.name else f"stage-{self.index}"


class Feature(Record):
    """A BuildKit-only feature the file uses."""

    _fields = ("code", "line", "detail", "stage")

    def __init__(self, code: str, line: int, detail: str, stage: int | None = None) -> None:
        self.code = code
        self.line = line
        self.detail = detail
        self.stage = stage


class ArchArg(Record):
    """A known ARG/ENV that carries GPU architectures, build parallelism or versions."""

    _fields = (
        "name",
        "kind",
        "value",
        "source",
        "line",
        "stage",
        "meaning",
        "depends_on_base_env",
    )

    def __init__(
        self,
        name: str,
        kind: str,
        value: str | None,
        source: str,  # ArgSource or "env"
        line: int | None,
        stage: int | None,  # None: global scope
        meaning: str = "",
        depends_on_base_env: bool = False,  # refers to a variable only the base image sets
    ) -> None:
        self.name = name
        self.kind = kind
        self.value = value
        self.source = source
        self.line = line
        self.stage = stage
        self.meaning = meaning
        self.depends_on_base_env = depends_on_base_env


class Toolkit(Record):
    _fields = ("toolkit", "version", "evidence", "line")

    def __init__(
        self,
        toolkit: str,  # cuda / rocm / python
        version: str,
        evidence: str,  # the image or ARG it came from
        line: int | None = None,
    ) -> None:
        self.toolkit = toolkit
        self.version = version
        self.evidence = evidence
        self.line = line


class ExternalImage(Record):
    _fields = ("ref", "familiar", "status", "stages", "lines", "recipe", "recipe_evidence")

    def __init__(
        self,
        ref: str,  # normalized
        familiar: str,
        status: ImageStatus,
        stages: list[int] | None = None,
        lines: list[int] | None = None,
        recipe: str | None = None,  # Dockerfile that builds it, when known
        recipe_evidence: str | None = None,
    ) -> None:
        self.ref = ref
        self.familiar = familiar
        self.status = status
        self.stages: list[int] = [] if stages is None else stages
        self.lines: list[int] = [] if lines is None else lines
        self.recipe = recipe
        self.recipe_evidence = recipe_evidence


class DockerfileFinding(Record):
    _fields = ("code", "message", "line", "severity", "fix", "url")

    def __init__(
        self,
        code: str,  # BuildKit's rule name where one exists, e.g. "UndefinedArgInFrom"
        message: str,
        line: int | None,
        severity: Severity = "warning",
        fix: str | None = None,
        url: str | None = None,
    ) -> None:
        self.code = code
        self.message = message
        self.line = line
        self.severity = severity
        self.fix = fix
        self.url = url

    def to_finding(self, path: str) -> Finding:
        from hwdock.findings import Finding

        where = f"{path}:{self.line}" if self.line is not None else path
        return Finding(
            code=self.code,
            message=f"{where}: {self.message}",
            severity=self.severity,
            fix=self.fix,
            evidence=[where] + ([self.url] if self.url else []),
        )


class BuildGraph(Record):
    _fields = (
        "path",
        "stages",
        "target",
        "target_platform",
        "build_platform",
        "global_args",
        "build_args",
        "features",
        "arch_args",
        "toolkits",
        "images",
        "findings",
        "syntax",
        "escape",
        "unused_build_args",
    )

    def __init__(
        self,
        path: str,
        stages: list[Stage],
        target: int,  # index of the target stage
        target_platform: str,
        build_platform: str,
        global_args: dict[str, ArgValue],
        build_args: dict[str, str],
        features: list[Feature],
        arch_args: list[ArchArg],
        toolkits: list[Toolkit],
        images: list[ExternalImage],
        findings: list[DockerfileFinding],
        syntax: str | None = None,
        escape: str = "\\",
        unused_build_args: list[str] | None = None,
    ) -> None:
        self.path = path
        self.stages = stages
        self.target = target
        self.target_platform = target_platform
        self.build_platform = build_platform
        self.global_args = global_args
        self.build_args = build_args
        self.features = features
        self.arch_args = arch_args
        self.toolkits = toolkits
        self.images = images
        self.findings = findings
        self.syntax = syntax
        self.escape = escape
        self.unused_build_args: list[str] = [] if unused_build_args is None else unused_build_args

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
    """JSON-ready copy of records, dicts and lists, fields in their declared order."""
    if isinstance(obj, Record):
        return {k: _plain(getattr(obj, k)) for k in obj._fields}
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj
