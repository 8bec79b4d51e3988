"""`hwdock plan`: decide what to pull, what to build and how, for this hardware."""

# ruff: noqa: B008  (typer declares options as argument defaults)

from __future__ import annotations

from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command("plan")
    def plan_cmd(
        source: Path | None = typer.Argument(
            None, help="Source tree: a vLLM checkout or any project with a Dockerfile."
        ),
        recipe: str | None = typer.Option(None, "--recipe", help="vllm (default: detected)."),
        platform: str | None = typer.Option(
            None, "--platform", help="cuda, rocm, cpu or xpu (default: from the host's GPUs)."
        ),
        gpu: list[str] = typer.Option(
            [], "--gpu", help="GPU to build for: index or PCI address (repeatable)."
        ),
        model: Path | None = typer.Option(
            None, "--model", help="Model directory, mounted read-only."
        ),
        customize: list[str] = typer.Option(
            [], "--customize", help="pytorch, rocm, cuda, python, tools, base (repeatable or a,b)."
        ),
        build_arg: list[str] = typer.Option(
            [], "--build-arg", help="KEY=VALUE for the build; yours win over hwdock's."
        ),
        dockerfile: str | None = typer.Option(
            None, "-f", "--file", help="Dockerfile, relative to SOURCE."
        ),
        base_dockerfile: str | None = typer.Option(
            None, "--base-dockerfile", help="Dockerfile of the base image (vLLM ROCm)."
        ),
        target: str | None = typer.Option(None, "--target", help="Build target stage."),
        tag: str | None = typer.Option(None, "--tag", help="Tag of the image to build."),
        debug: bool = typer.Option(False, "--debug", help="Add SYS_PTRACE and seccomp=unconfined."),
        port: int = typer.Option(8000, "--port", help="Host port for the server."),
        host_report: Path | None = typer.Option(
            None, "--host", help="Plan for this host report (hwdock probe --json)."
        ),
        from_capture: Path | None = typer.Option(
            None, "--from", help="Plan for a recorded host (hwdock capture DIR)."
        ),
        no_engine: bool = typer.Option(
            False, "--no-engine", help="Do not ask the container engine which images are local."
        ),
        as_json: bool = typer.Option(False, "--json", help="The plan as JSON."),
        as_script: bool = typer.Option(False, "--script", help="The plan as a POSIX sh script."),
    ) -> None:
        """Decide what to pull, what to build and how, for this hardware, with reasons."""
        from hwdock.plan.command import run_plan

        run_plan(
            source=source,
            recipe=recipe,
            platform=platform,
            gpu=gpu,
            model=model,
            customize=customize,
            build_arg=build_arg,
            dockerfile=dockerfile,
            base_dockerfile=base_dockerfile,
            target=target,
            tag=tag,
            debug=debug,
            port=port,
            host_report=host_report,
            from_capture=from_capture,
            no_engine=no_engine,
            as_json=as_json,
            as_script=as_script,
        )
