"""The plan: every decision hwdock made, with its reason, and the steps that carry it out.

Plain data, no effects. Produced by `hwdock.plan`, consumed by the engine (build/run/up),
the exporters (script, compose, bake, k8s), doctor and verify. `to_dict()` is the
`--json` document (kind "plan", schema_version below).

Secrets never appear here by value: `secrets` and `env_passthrough` hold names only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from hwdock.findings import Finding

SCHEMA_VERSION = 1

Route = Literal[
    "pull",  # a published image covers this GPU and driver
    "build-app-on-published-base",  # e.g. vLLM ROCm: skip the optional base build
    "build-base-and-app",
    "build-from-source",  # inside a vendor PyTorch image, Dockerfile written by hwdock
    "build",  # generic Dockerfile: one build
]


@dataclass
class Decision:
    key: str  # "platform", "route", "arch-list", "max-jobs", "base-image", "run-devices", ...
    what: str  # the choice, in a few words
    why: str  # the reason, for people
    evidence: list[str] = field(default_factory=list)  # facts it rests on, with their source


@dataclass
class ImageStep:
    id: str  # "base", "app"
    action: Literal["pull", "build", "use-local"]
    image: str  # the tag produced or pulled, fully qualified when pulled
    reason: str
    dockerfile: str | None = None  # path relative to context, for builds
    context: str | None = None
    target: str | None = None
    build_args: dict[str, str] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list)  # BuildKit secret ids, value from env by name
    labels: dict[str, str] = field(default_factory=dict)
    platform: str | None = None  # "linux/amd64"
    depends_on: list[str] = field(default_factory=list)  # ids of earlier steps
    skip_if_present: bool = False  # optional step: skipped when `image` exists locally
    needs_buildkit: bool = False
    generated_dockerfile: str | None = None  # text, when hwdock wrote the Dockerfile itself


@dataclass
class Mount:
    source: str
    target: str
    read_only: bool = False
    kind: Literal["bind", "volume", "tmpfs"] = "bind"


@dataclass
class RunSpec:
    image: str
    name: str | None = None
    devices: list[str] = field(default_factory=list)  # "/dev/kfd", "/dev/dri/renderD128"
    group_add: list[int] = field(default_factory=list)  # numeric gids: names differ in images
    gpus: str | None = None  # docker --gpus value, e.g. "all" or "device=0,1"
    cdi_devices: list[str] = field(default_factory=list)  # "nvidia.com/gpu=0"
    ipc: str | None = None  # "host"
    shm_size: str | None = None  # "16g" when ipc is not host
    mounts: list[Mount] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)  # non-secret values
    env_passthrough: list[str] = field(default_factory=list)  # names only, e.g. "HF_TOKEN"
    ports: list[tuple[int, int]] = field(default_factory=list)  # (host, container)
    cap_add: list[str] = field(default_factory=list)
    security_opt: list[str] = field(default_factory=list)
    privileged: bool = False
    command: list[str] = field(default_factory=list)  # arguments after the image
    health_path: str | None = None  # e.g. "/health" for vLLM's server
    notes: list[str] = field(default_factory=list)  # why debug options were added, etc.
    # OCI runtime by name: docker `--runtime`, Compose `runtime:`. "nvidia" on Jetson, whose
    # CSV-mode NVIDIA runtime refuses `--gpus` (knowledge/data/cuda.toml [jetson_container]);
    # Podman gets the CDI device instead. None: the engine's default runtime.
    runtime: str | None = None


@dataclass
class Plan:
    recipe: str  # "vllm" | "generic"
    platform: str  # "cuda" | "rocm" | "cpu" | "xpu"
    route: Route
    host: str | None = None  # hostname of the host report
    accelerators: list[str] = field(default_factory=list)  # keys of the chosen accelerators
    decisions: list[Decision] = field(default_factory=list)
    steps: list[ImageStep] = field(default_factory=list)
    run: RunSpec | None = None
    verdicts: list[Finding] = field(default_factory=list)  # compatibility, before any build
    warnings: list[Finding] = field(default_factory=list)
    source: str | None = None  # the source tree or Dockerfile the plan read

    @property
    def final_image(self) -> str | None:
        return self.steps[-1].image if self.steps else (self.run.image if self.run else None)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "plan", "schema_version": SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Plan:
        """A plan read back from its JSON; every field is type-checked (`InputError` naming
        the field, e.g. `steps[0].build_args`)."""
        from hwdock.errors import InputError
        from hwdock.jsonin import from_data

        if not isinstance(d, dict):
            raise InputError("not a plan (expected a JSON object)")
        if d.get("kind") not in (None, "plan"):
            raise InputError(
                f"not a plan (kind {d.get('kind')!r})",
                hint="make one with `hwdock plan SOURCE --json > plan.json`",
            )
        version = d.get("schema_version", SCHEMA_VERSION)
        if not isinstance(version, int) or isinstance(version, bool):
            raise InputError(f"plan schema_version {version!r} is not an integer")
        if version > SCHEMA_VERSION:
            raise InputError(
                f"plan schema_version {version} is newer than this hwdock understands "
                f"({SCHEMA_VERSION})",
                hint="upgrade hwdock, or make the plan again with this version",
            )
        return from_data(cls, d)
