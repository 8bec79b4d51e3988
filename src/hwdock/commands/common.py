"""The options several commands share, declared once (imports typer and the light
`plan_inputs` only).

`SourceArg`, `HostOpt`, `FromOpt`, `PlanFileOpt`, `JsonOpt`, `EngineOpt`, `NoEngineOpt`: use
as `name: HostOpt = None`. The plan options (`PLAN_OPTIONS`: --recipe, --platform, --gpu,
-f/--file, --base-dockerfile, --build-arg, --customize, --target, --tag, --model, --debug,
--port) are added to a command by `@plan_options(...)`, which hands them to the command as
one `plan_opts` dict whose keys are `hwdock.commands.plan_inputs.PlanArgs` fields.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from hwdock.commands.plan_inputs import PLAN_OPTION_NAMES

SourceArg = Annotated[
    Path | None,
    typer.Argument(help="Source tree (the build context): a vLLM checkout or any project."),
]
HostOpt = Annotated[
    Path | None,
    typer.Option(
        "--host",
        metavar="REPORT.json",
        help="Plan for this host report (hwdock probe --json) or capture folder.",
    ),
]
FromOpt = Annotated[
    Path | None,
    typer.Option("--from", metavar="CAPTURE", help="Plan for a recorded host (hwdock capture)."),
]
PlanFileOpt = Annotated[
    Path | None,
    typer.Option("--plan", metavar="PLAN.json", help="Use a saved plan (hwdock plan --json)."),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print a JSON document.")]
EngineOpt = Annotated[
    str | None, typer.Option("--engine", help="docker, podman or a client's path.")
]
NoEngineOpt = Annotated[
    bool, typer.Option("--no-engine", help="Do not ask the container engine what is local.")
]

# The plan options by `PlanArgs` field: (type, default, help); their names are in
# `plan_inputs.PLAN_OPTION_NAMES`.
_PLAN_HELP: dict[str, tuple[Any, Any, str]] = {
    "recipe": (str | None, None, "vllm, or generic (default: detected from SOURCE)."),
    "platform": (str | None, None, "cuda, rocm, cpu or xpu (default: from the host's GPUs)."),
    "gpu": (list[str] | None, None, "GPU to use: index or PCI address (repeatable or a,b)."),
    "dockerfile": (str | None, None, "Dockerfile, relative to SOURCE."),
    "base_dockerfile": (str | None, None, "Dockerfile of the base image (vLLM ROCm)."),
    "build_arg": (list[str] | None, None, "KEY=VALUE for the build; yours win over hwdock's."),
    "customize": (
        list[str] | None,
        None,
        "pytorch, rocm, cuda, python, tools, base (repeatable or a,b).",
    ),
    "target": (str | None, None, "Build target stage."),
    "tag": (str | None, None, "Tag of the final image."),
    "model": (Path | None, None, "Model directory, mounted read-only."),
    "debug": (bool, False, "Add SYS_PTRACE and seccomp=unconfined."),
    "port": (int, 8000, "Host port for the server."),
}
# by field: (annotation for typer, default)
PLAN_OPTIONS: dict[str, tuple[Any, Any]] = {
    name: (Annotated[tp, typer.Option(*PLAN_OPTION_NAMES[name], help=text)], default)
    for name, (tp, default, text) in _PLAN_HELP.items()
}

F = TypeVar("F", bound=Callable[..., Any])


def plan_options(*only: str, exclude: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Give a command the plan options (all of them, or `only` those, less `exclude`).

    The command declares a last parameter `plan_opts: dict[str, Any]`; its signature, as typer
    reads it, gets one parameter per option in its place, and the values arrive in that dict.
    """
    names = [n for n in (only or PLAN_OPTIONS) if n not in exclude]
    unknown = [n for n in names if n not in PLAN_OPTIONS]
    if unknown:
        raise ValueError(f"no plan option {unknown}")

    def decorate(fn: F) -> F:
        sig = inspect.signature(fn)
        # typer reads the annotations as objects: resolve a PEP 563 module's strings
        hints = typing.get_type_hints(fn, include_extras=True)
        own = [
            p.replace(annotation=hints.get(p.name, p.annotation))
            for p in sig.parameters.values()
            if p.name != "plan_opts"
        ]
        added = [
            inspect.Parameter(
                n,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=PLAN_OPTIONS[n][0],
                default=PLAN_OPTIONS[n][1],
            )
            for n in names
        ]
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + added

        @functools.wraps(fn)
        def command(**kwargs: Any) -> Any:
            plan_opts = {n: kwargs.pop(n) for n in names}
            return fn(**kwargs, plan_opts=plan_opts)

        command.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
        command.__annotations__ = {p.name: p.annotation for p in params}
        return command  # type: ignore[return-value]

    return decorate
