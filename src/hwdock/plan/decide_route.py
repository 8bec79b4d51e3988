"""Decision 2: the route, cheapest that works, and the image steps that carry it out.

Order tried (vLLM): a published image that covers the GPU and driver → the app image built
on a published base (vLLM ROCm's usual path: the optional Dockerfile.rocm_base build is
skipped) → base and app built (the base lacks this GPU target, or `--customize` asked for a
different PyTorch/ROCm/tools) → vLLM built from source inside a vendor PyTorch image, with a
Dockerfile hwdock writes (never `docker commit`). Any other project: one build.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hwdock import label_names
from hwdock.errors import UsageError
from hwdock.plan import facts as kb
from hwdock.plan.context import Ctx
from hwdock.plan.dockerfile_facts import DockerfileFacts
from hwdock.plan.model import Decision, ImageStep, Route


@dataclass
class RouteResult:
    route: Route
    steps: list[ImageStep] = field(default_factory=list)


ARCH_LABEL = label_names.ARCH  # the arch list an image is built for / known to cover
PLATFORM_LABEL = label_names.PLATFORM


def host_covered(ctx: Ctx, arch_list: str | None) -> bool:
    """Does `arch_list` cover every chosen GPU? (None: unknown → False)."""
    if arch_list is None:
        return False
    if ctx.platform == "cuda":
        return all(kb.cuda_list_covers(arch_list, cc) for cc in ctx.capabilities)
    if ctx.platform == "rocm":
        have = set(kb.rocm_list(arch_list))
        return all(g in have for g in ctx.gfx_targets)
    return True


def driver_ok_for(ctx: Ctx, cuda: str | None) -> bool:
    """The host's NVIDIA driver runs images of CUDA `cuda` (directly or by minor-version
    compatibility)."""
    if ctx.platform != "cuda" or cuda is None:
        return True
    version, _ = ctx.nvidia_driver()
    if version is None:
        return False
    floor = kb.major_floor(cuda)
    return floor is not None and kb.version_tuple(version) >= kb.version_tuple(floor)


def _published(ctx: Ctx) -> list[dict]:
    machine = ctx.host.cpu.architecture or "x86_64"
    return [
        p
        for p in kb.vllm().get("published", [])
        if p["platform"] == ctx.platform and p.get("machine", machine) == machine
    ]


def _image_arch_from_env(ctx: Ctx, ref: str) -> tuple[str | None, str | None]:
    """(arch list, evidence) from a local image's ENV/labels, via the injected image_env."""
    if not ctx.local_images(ref):
        return None, None
    env = ctx.image_env(ref) or {}
    for key in ("PYTORCH_ROCM_ARCH", "TORCH_CUDA_ARCH_LIST", ARCH_LABEL):
        if env.get(key):
            return env[key], f"local image {ref}: {key}={env[key]}"
    return None, None


def _pull_step(ctx: Ctx, ref: str, step_id: str, reason: str, arch: str | None) -> ImageStep:
    local = ctx.local_images(ref)
    return ImageStep(
        id=step_id,
        action="use-local" if local else "pull",
        image=ref,
        reason=reason + (" (already present locally)" if local else ""),
        labels={ARCH_LABEL: arch} if arch else {},
    )


def decide_route(ctx: Ctx) -> RouteResult:
    if ctx.recipe == "vllm":
        if ctx.platform == "cuda":
            return _vllm_cuda(ctx)
        if ctx.platform == "rocm":
            return _vllm_rocm(ctx)
        return _vllm_other(ctx)
    return _generic(ctx)


# ------------------------------------------------------------------ pull


def _try_pull(ctx: Ctx) -> RouteResult | None:
    for pub in _published(ctx):
        ref = pub["image"]
        arch, ev = _image_arch_from_env(ctx, ref)
        arch = arch or pub["arch"]
        ev = ev or f"{ref} is built for {arch} ({pub['source']})"
        if not host_covered(ctx, arch):
            ctx.decisions.append(
                Decision(
                    "published-image",
                    f"not {ref}",
                    f"its arch list does not cover this GPU ({ctx.arch_tag})",
                    [ev],
                )
            )
            continue
        if not driver_ok_for(ctx, pub.get("cuda")):
            ctx.decisions.append(
                Decision(
                    "published-image",
                    f"not {ref}",
                    f"it needs CUDA {pub.get('cuda')}, which this host's driver cannot run",
                    [ev, f"driver {ctx.nvidia_driver()[0]}"],
                )
            )
            continue
        step = _pull_step(ctx, ref, "app", f"published image covering {ctx.arch_tag}", arch)
        ctx.decisions.append(
            Decision("route", "pull the published image", "cheapest: nothing to build", [ev])
        )
        return RouteResult("pull", [step])
    return None


def _pull_without_source(ctx: Ctx, why: str) -> RouteResult:
    """No SOURCE: the published image that fits this host, or the error asking for SOURCE."""
    if ctx.options.customize:
        raise UsageError("--customize needs a vLLM source tree (SOURCE)")
    pulled = _try_pull(ctx)
    if pulled:
        return pulled
    raise UsageError(
        f"no published vLLM image fits this host ({why}), and no source tree was given",
        hint="pass a vLLM checkout as SOURCE (git clone the vLLM repository) so hwdock can "
        "plan a build for this GPU",
    )


# ------------------------------------------------------------------ from source


def _from_source(ctx: Ctx, why: str) -> RouteResult:
    assert ctx.tree is not None
    kind = ctx.platform
    if ctx.platform == "cuda" and ctx.is_jetson():
        kind = "cuda_jetson"
    vendor = kb.vllm()["vendor_pytorch"].get(kind) or kb.vllm()["vendor_pytorch"]["cpu"]
    base = ctx.options.build_args.get("BASE_IMAGE", vendor["image"])
    text = generated_dockerfile(ctx.platform, base, ctx.tree.exists("use_existing_torch.py"))
    tag = ctx.options.tag or f"vllm-{ctx.platform}:{ctx.arch_tag}-{ctx.tree.version}"
    step = ImageStep(
        id="app",
        action="build",
        image=tag,
        reason=f"vLLM built from {ctx.tree.root} inside {base}",
        dockerfile="hwdock.Dockerfile",
        context=str(ctx.tree.root),
        generated_dockerfile=text,
        labels={PLATFORM_LABEL: ctx.platform},
        needs_buildkit=True,
    )
    ctx.decisions.append(
        Decision(
            "route",
            f"build vLLM from source inside {base}",
            why + "; hwdock writes the Dockerfile (shown with --json), no `docker commit`",
            [f"vendor image {base} ({vendor['source']})"],
        )
    )
    return RouteResult("build-from-source", [step])


def generated_dockerfile(platform: str, base: str, use_existing_torch: bool) -> str:
    arch_env = {"cuda": "TORCH_CUDA_ARCH_LIST", "rocm": "PYTORCH_ROCM_ARCH"}.get(platform)
    device = {"cuda": "cuda", "rocm": "rocm", "cpu": "cpu", "xpu": "xpu"}[platform]
    lines = [
        "# syntax=docker/dockerfile:1",
        "# Written by `hwdock plan`: vLLM from this source tree, inside a vendor image that",
        "# already has PyTorch for this platform.",
        f'ARG BASE_IMAGE="{base}"',
        "FROM ${BASE_IMAGE}",
    ]
    if arch_env:
        lines += [f"ARG {arch_env}", f"ENV {arch_env}=${{{arch_env}}}"]
    lines += [
        "ARG MAX_JOBS",
        "ENV MAX_JOBS=${MAX_JOBS}",
        f"ENV VLLM_TARGET_DEVICE={device}",
        "WORKDIR /workspace/vllm",
        "COPY . .",
        "RUN --mount=type=cache,target=/root/.cache/pip \\",
        "    python3 -m pip install uv \\",
    ]
    if use_existing_torch:
        lines.append("    && python3 use_existing_torch.py \\")
    lines += [
        "    && uv pip install --system -r requirements/build.txt \\",
        "    && uv pip install --system --no-build-isolation -e .",
        "EXPOSE 8000",
        'ENTRYPOINT ["vllm", "serve"]',
        "",
    ]
    return "\n".join(lines)


# ------------------------------------------------------------------ vLLM CUDA


def _vllm_cuda(ctx: Ctx) -> RouteResult:
    if ctx.tree is None:
        return _pull_without_source(ctx, f"GPU {ctx.arch_tag}, driver {ctx.nvidia_driver()[0]}")
    custom = set(ctx.options.customize)
    if ctx.is_jetson():
        return _from_source(
            ctx, "Jetson: vLLM's CUDA Dockerfile targets discrete GPUs (x86_64/SBSA)"
        )
    if custom & {"pytorch", "cuda", "base"}:
        return _from_source(
            ctx, f"--customize {','.join(sorted(custom))}: use the vendor's PyTorch"
        )
    rp = kb.recipe_platform("cuda")
    rel = ctx.options.dockerfile or ctx.tree.first(rp["dockerfiles"])
    if rel is None:
        return _from_source(ctx, "the tree has no CUDA Dockerfile")
    return _app_build(ctx, rel, "build-app-on-published-base", rp)


def _check_target(ctx: Ctx, facts: DockerfileFacts, rel: str) -> None:
    """--target must name a stage of the Dockerfile (as the build would insist)."""
    target = ctx.options.target
    if target is None or facts.has_stage(target):
        return
    names = [st.name for st in facts.stages if st.name]
    assert ctx.tree is not None
    raise UsageError(
        f"--target {target!r}: no such stage in {ctx.tree.root / rel}",
        hint=f"stages: {', '.join(names) or '(none named)'}",
    )


def _app_build(
    ctx: Ctx, rel: str, route: Route, rp: dict, extra_args: dict[str, str] | None = None
) -> RouteResult:
    assert ctx.tree is not None
    facts = ctx.tree.facts(rel, {**ctx.options.build_args, **(extra_args or {})})
    ctx.step_facts["app"] = facts
    _check_target(ctx, facts, rel)
    target = ctx.options.target
    why_target = "--target was given"
    recipe_target = rp.get("target")
    if target is None and recipe_target and facts.has_stage(recipe_target):
        target = recipe_target
        last = facts.last_stage.label if facts.last_stage else "?"
        why_target = rp.get("target_why", "the recipe's stage")
        if last == target:
            why_target += " (also the last stage)"
        ctx.decisions.append(
            Decision(
                "target",
                target,
                why_target,
                [f"{rel}: stages {', '.join(s.label for s in facts.stages)}; last is {last}"],
            )
        )
    bases = sorted({s.base for s in facts.stages if s.base_kind == "image"})
    tag = ctx.options.tag or f"vllm-{ctx.platform}:{ctx.arch_tag}-{ctx.tree.version}"
    step = ImageStep(
        id="app",
        action="build",
        image=tag,
        reason=f"vLLM from {rel} for {ctx.arch_tag}",
        dockerfile=rel,
        context=str(ctx.tree.root),
        target=target,
        labels={PLATFORM_LABEL: ctx.platform},
    )
    if route == "build-app-on-published-base":
        ctx.decisions.append(
            Decision(
                "route",
                f"build the app image from {rel} on its published base image(s)",
                "no published vLLM image is used when you give a checkout: it is your code; "
                "the base images are pulled, not rebuilt",
                [f"{rel}: FROM {', '.join(bases) or '?'}"],
            )
        )
    elif route == "build":
        ctx.decisions.append(
            Decision(
                "route", f"one build of {rel}", "a single Dockerfile", [f"FROM {', '.join(bases)}"]
            )
        )
    return RouteResult(route, [step])


# ------------------------------------------------------------------ vLLM ROCm


def _vllm_rocm(ctx: Ctx) -> RouteResult:
    if ctx.tree is None:
        return _pull_without_source(ctx, f"GPU {ctx.arch_tag}")
    custom = set(ctx.options.customize)
    rp = kb.recipe_platform("rocm")
    rel = ctx.options.dockerfile or ctx.tree.first(rp["dockerfiles"])
    if rel is None:
        return _from_source(ctx, "the tree has no ROCm Dockerfile")
    app = ctx.tree.facts(rel, ctx.options.build_args)
    ctx.step_facts["app"] = app
    base_arg = rp["base_arg"]
    base_fact = app.global_args.get(base_arg)
    base_ref = base_fact.value if base_fact else None
    base_rel = ctx.options.base_dockerfile or ctx.tree.first(rp["base_dockerfiles"])
    known = rp["base_image"]

    # what the base image is built for
    base_arch, evidence = _image_arch_from_env(ctx, base_ref) if base_ref else (None, None)
    base_facts = ctx.tree.facts(base_rel, {}) if base_rel else None
    if base_arch is None and base_facts is not None and base_ref == known["ref"]:
        for name in rp["base_arch_args"]:
            val = base_facts.value_of(name)
            if val:
                base_arch = val
                evidence = (
                    f"{base_ref} is built by {base_rel} (per {known['source']}): "
                    f"{name}={val} (line {base_facts.find_arg(name)[0].line})"
                    if base_facts.find_arg(name)
                    else f"{base_rel}: {name}={val}"
                )
                break

    if base_arch is None and base_facts is None and base_ref == known["ref"]:
        fallback = kb.load_table("rocm", "vllm_base_arch")
        base_arch = fallback["arch"]
        evidence = (
            f"{base_ref}: built for {base_arch} per hwdock's knowledge ({fallback['source']}); "
            f"the tree has no {rp['base_dockerfiles'][0]} to read"
        )

    reasons: list[str] = []
    if custom:
        reasons.append(f"--customize {','.join(sorted(custom))}")
    if base_arch is not None and not host_covered(ctx, base_arch):
        reasons.append(
            f"the published base {base_ref} is built for {base_arch}, not {ctx.arch_tag}"
        )
    user_base = base_arg in ctx.options.build_args

    if reasons and base_facts is not None and not user_base:
        return _rocm_base_and_app(ctx, rel, base_rel, base_facts, rp, reasons, evidence)

    result = _app_build(ctx, rel, "build-app-on-published-base", rp)
    if base_ref and not app.has_stage(base_ref):
        why = "the published base" + (" you named with --build-arg" if user_base else "")
        if base_facts is not None and not user_base:
            why += f"; the optional {base_rel} build is skipped"
        base_step = _pull_step(ctx, base_ref, "base", why, base_arch)
        result.steps.insert(0, base_step)
        result.steps[-1].depends_on = ["base"]
        ctx.decisions.append(
            Decision(
                "base-image",
                f"{base_ref} ({'local' if base_step.action == 'use-local' else 'pull'})",
                f"{base_arg} default in {rel}"
                + (
                    f"; it covers {ctx.arch_tag}"
                    if base_arch and host_covered(ctx, base_arch)
                    else ""
                ),
                [e for e in [evidence, f"{rel}:{base_fact.line}: ARG {base_arg}"] if e]
                if base_fact
                else [],
            )
        )
    return result


def _rocm_base_and_app(
    ctx: Ctx, rel: str, base_rel: str, base_facts, rp: dict, reasons: list[str], evidence
) -> RouteResult:
    assert ctx.tree is not None
    base_tag = f"vllm-rocm-base:{ctx.arch_tag}-{ctx.tree.version}"
    ctx.step_facts["base"] = ctx.tree.facts(base_rel, _base_user_args(ctx))
    base = ImageStep(
        id="base",
        action="build",
        image=base_tag,
        reason=f"base (ROCm, PyTorch, Triton, flash-attention) from {base_rel} for {ctx.arch_tag}",
        dockerfile=base_rel,
        context=str(ctx.tree.root),
        skip_if_present=True,
        labels={PLATFORM_LABEL: "rocm"},
    )
    result = _app_build(ctx, rel, "build-base-and-app", rp, {rp["base_arg"]: base_tag})
    result.steps[0].depends_on = ["base"]
    result.steps[0].build_args[rp["base_arg"]] = base_tag
    result.steps.insert(0, base)
    ctx.decisions.append(
        Decision(
            "route",
            f"build the base from {base_rel}, then the app on it",
            "; ".join(reasons),
            [e for e in [evidence] if e],
        )
    )
    return result


def _base_user_args(ctx: Ctx) -> dict[str, str]:
    """--build-arg values reach the base build too, except BASE_IMAGE: both Dockerfiles use
    that name (the ROCm image for the base, the vLLM base for the app), and it means the app's."""
    return {k: v for k, v in ctx.options.build_args.items() if k != "BASE_IMAGE"}


# ------------------------------------------------------------------ vLLM CPU / XPU


def _vllm_other(ctx: Ctx) -> RouteResult:
    if ctx.tree is None:
        raise UsageError(
            f"vLLM for {ctx.platform} has no published image hwdock can vouch for; give a vLLM "
            "checkout as SOURCE",
            hint="git clone the vLLM repository and run `hwdock plan <checkout>`",
        )
    rp = kb.recipe_platform(ctx.platform)
    rel = ctx.options.dockerfile or ctx.tree.first(rp.get("dockerfiles", []))
    if rel is None:
        return _from_source(ctx, f"the tree has no {ctx.platform} Dockerfile")
    return _app_build(ctx, rel, "build", rp)


# ------------------------------------------------------------------ generic


def _generic(ctx: Ctx) -> RouteResult:
    if ctx.tree is None:
        raise UsageError(
            "nothing to plan: give a source tree with a Dockerfile (SOURCE), or --recipe vllm "
            "to use a published vLLM image"
        )
    rel = ctx.options.dockerfile or "Dockerfile"
    if not ctx.tree.exists(rel):
        from hwdock.errors import InputError

        raise InputError("no Dockerfile here", path=str(ctx.tree.root / rel), hint="use -f FILE")
    facts = ctx.tree.facts(rel, ctx.options.build_args)
    ctx.step_facts["app"] = facts
    _check_target(ctx, facts, rel)
    name = ctx.tree.root.name or "app"
    tag = ctx.options.tag or f"{name.lower()}:{ctx.arch_tag}-{ctx.tree.version}"
    step = ImageStep(
        id="app",
        action="build",
        image=tag,
        reason=f"{rel} for {ctx.arch_tag}",
        dockerfile=rel,
        context=str(ctx.tree.root),
        target=ctx.options.target,
        labels={PLATFORM_LABEL: ctx.platform},
    )
    ctx.decisions.append(
        Decision(
            "route",
            f"one build of {rel}",
            "a project hwdock has no recipe for: build its Dockerfile with the arch-list and "
            "parallelism ARGs it declares set for this host",
            [f"{rel}: stages {', '.join(s.label for s in facts.stages)}"],
        )
    )
    return RouteResult("build", [step])
