"""What the user asked the planner for (the `hwdock plan` options, as data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

# What `--customize` may name: each one means "do not reuse the published base".
CUSTOMIZE_CHOICES = ("pytorch", "rocm", "cuda", "python", "tools", "base")


@dataclass
class PlanOptions:
    source: Path | None = None  # source tree (vLLM checkout or any project with a Dockerfile)
    dockerfile: str | None = None  # path relative to source; None: the recipe's or "Dockerfile"
    recipe: str | None = None  # "vllm" or None (auto: vLLM when the tree looks like it)
    platform: str | None = None  # "cuda" | "rocm" | "cpu" | "xpu"; None: from the host
    gpu: list[str] = field(default_factory=list)  # PCI addresses (or their tail) or indices
    model: Path | None = None  # model directory, mounted read-only
    customize: list[str] = field(default_factory=list)  # see CUSTOMIZE_CHOICES
    build_args: dict[str, str] = field(default_factory=dict)  # user's, they win
    target: str | None = None
    tag: str | None = None
    debug: bool = False
    port: int = 8000
    base_dockerfile: str | None = None  # recipe of the base image (vLLM: Dockerfile.rocm_base)
    # additive fields
    hf_cache: Path | None = None  # host Hugging Face cache; None: a named volume
    name: str | None = None  # container name
