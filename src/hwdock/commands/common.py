"""The options several commands share, declared once (imports typer only).

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

# The plan options, by their `PlanArgs` field: (annotation, default).
PLAN_OPTIONS: dict[str, tuple[Any, Any]] = {
    "recipe": (
        Annotated[
            str | None,
            typer.Option("--recipe", help="vllm, or generic (default: detected from SOURCE)."),
        ],
        None,
    ),
    "platform": (
        Annotated[
            str | None,
            typer.Option(
                "--platform", help="cuda, rocm, cpu or xpu (default: from the host's GPUs)."
            ),
        ],
        None,
    ),
    "gpu": (
        Annotated[
            list[str] | None,
            typer.Option("--gpu", help="GPU to use: index or PCI address (repeatable or a,b)."),
        ],
        None,
    ),
    "dockerfile": (
        Annotated[
            str | None,
            typer.Option("-f", "--file", "--dockerfile", help="Dockerfile, relative to SOURCE."),
        ],
        None,
    ),
    "base_dockerfile": (
        Annotated[
            str | None,
            typer.Option("--base-dockerfile", help="Dockerfile of the base image (vLLM ROCm)."),
        ],
        None,
    ),
    "build_arg": (
        Annotated[
            list[str] | None,
            typer.Option("--build-arg", help="KEY=VALUE for the build; yours win over hwdock's."),
        ],
        None,
    ),
    "customize": (
        Annotated[
            list[str] | None,
            typer.Option(
                "--customize", help="pytorch, rocm, cuda, python, tools, base (repeatable or a,b)."
            ),
        ],
        None,
    ),
    "target": (Annotated[str | None, typer.Option("--target", help="Build target stage.")], None),
    "tag": (
        Annotated[str | None, typer.Option("--tag", "-t", help="Tag of the final image.")],
        None,
    ),
    "model": (
        Annotated[Path | None, typer.Option("--model", help="Model directory, mounted read-only.")],
        None,
    ),
    "debug": (
        Annotated[bool, typer.Option("--debug", help="Add SYS_PTRACE and seccomp=unconfined.")],
        False,
    ),
    "port": (Annotated[int, typer.Option("--port", help="Host port for the server.")], 8000),
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
