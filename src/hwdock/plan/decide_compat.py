"""Decision 3: compatibility verdicts, before anything is built or pulled.

Each verdict is a `Finding` whose code is stable (documented in docs/json-schema.md):
arch-not-covered, arch-list-unknown, driver-too-old, driver-minor-compat, driver-unknown,
cuda-drops-capability, cuda-too-old-for-gpu, rocm-too-old, rocm-unsupported-target,
rocm-feature-unavailable, rocm-driver-ok, rocm-driver-too-old, rocm-driver-too-new,
rocm-driver-unknown,
hsa-override, cpu-isa-missing, cpu-isa-mismatch, cpu-image-not-portable, jetson-jetpack,
gpu-driver-unbound.
"""

from __future__ import annotations

from hwdock.findings import Finding
from hwdock.plan import facts as kb
from hwdock.plan.context import Ctx
from hwdock.plan.decide_build_args import CPU_ISA_LABEL
from hwdock.plan.decide_route import ARCH_LABEL, host_covered
from hwdock.plan.model import ImageStep

_SYMPTOM = {
    "rocm": "HIP error: invalid device function",
    "cuda": "CUDA error: no kernel image is available for execution on the device",
}


def decide_compat(ctx: Ctx, steps: list[ImageStep]) -> None:
    _unbound(ctx)
    if ctx.platform in ("cuda", "rocm"):
        _arch(ctx, steps)
    if ctx.platform == "cuda":
        _cuda(ctx, steps)
    if ctx.platform == "rocm":
        _rocm(ctx, steps)
    if ctx.platform == "cpu":
        _cpu(ctx, steps)


def _unbound(ctx: Ctx) -> None:
    """A GPU with no kernel driver bound is invisible to every container."""
    for acc in ctx.chosen:
        if acc.pci_address and acc.kernel_driver is None and not ctx.host.wsl:
            want = {"amd": "amdgpu", "nvidia": "nvidia", "intel": "i915 or xe"}.get(acc.vendor, "")
            ctx.verdicts.append(
                Finding(
                    "gpu-driver-unbound",
                    f"no kernel driver is bound to {acc.pci_address}: the GPU is visible on the "
                    "PCI bus only, so no container (and no ROCm/CUDA program) can use it",
                    "error",
                    fix=f"load the {want} driver and check `dmesg` for why it failed to "
                    "initialise, then probe again",
                    evidence=[acc.sources.get("kernel_driver", "sysfs PCI device has no driver")],
                )
            )


def _add(ctx: Ctx, finding: Finding) -> None:
    if all(f.code != finding.code or f.message != finding.message for f in ctx.verdicts):
        ctx.verdicts.append(finding)


# ------------------------------------------------------------------ arch lists


def _arch(ctx: Ctx, steps: list[ImageStep]) -> None:
    if not (ctx.gfx_targets or ctx.capabilities):
        return
    for step in steps:
        arch = step.labels.get(ARCH_LABEL)
        if arch is None:
            continue
        if host_covered(ctx, arch):
            continue
        user = [k for k in ctx.options.build_args if k in step.build_args]
        fix = (
            f"drop --build-arg {', '.join(user)} (hwdock narrows the list to {ctx.arch_tag})"
            if user and step.action == "build"
            else f"use an image built for {ctx.arch_tag}: give the base's Dockerfile with "
            "--base-dockerfile, or --build-arg BASE_IMAGE=<image built for it>"
        )
        _add(
            ctx,
            Finding(
                "arch-not-covered",
                f"{step.image} is built for {arch}; {ctx.arch_tag} is not in it. This will fail "
                f"with '{_SYMPTOM[ctx.platform]}' because the image has no GPU code for this "
                "GPU.",
                "error",
                fix=fix,
                evidence=[f"step {step.id}: {ARCH_LABEL}={arch}"],
            ),
        )
    final = steps[-1] if steps else None
    if final is not None and ARCH_LABEL not in final.labels:
        ctx.warnings.append(
            Finding(
                "arch-list-unknown",
                f"hwdock cannot tell which GPU architectures {final.image} is built for",
                "warning",
                fix="check the image's TORCH_CUDA_ARCH_LIST / PYTORCH_ROCM_ARCH, or let hwdock "
                "build it",
            )
        )


# ------------------------------------------------------------------ CUDA


def image_cuda(ctx: Ctx, step: ImageStep) -> str | None:
    if step.action != "build":
        for pub in kb.vllm().get("published", []):
            if pub["image"] == step.image:
                return pub.get("cuda")
        env = ctx.image_env(step.image) if ctx.local_images(step.image) else None
        return (env or {}).get("CUDA_VERSION") or kb.cuda_version_of(step.image)
    if step.generated_dockerfile is not None:
        vendor = kb.vllm()["vendor_pytorch"]
        kind = "cuda_jetson" if ctx.is_jetson() else "cuda"
        return vendor[kind].get("cuda")
    name = kb.recipe_platform("cuda").get("cuda_version_arg", "CUDA_VERSION")
    if step.build_args.get(name):
        return step.build_args[name]
    facts = ctx.step_facts.get(step.id)
    if facts is None:
        return None
    val = facts.value_of(name)
    if val:
        return val
    for st in facts.stages:
        v = kb.cuda_version_of(st.base)
        if v:
            return v
    return None


def _cuda(ctx: Ctx, steps: list[ImageStep]) -> None:
    final = steps[-1] if steps else None
    if final is None:
        return
    cuda = image_cuda(ctx, final)
    if cuda is None:
        return
    tk = kb.toolkit(cuda)
    version, supports = ctx.nvidia_driver()
    src = kb.cuda_source()
    if ctx.is_jetson():
        version = None  # L4T drivers follow JetPack, not the desktop driver table
        ctx.verdicts.append(
            Finding(
                "jetson-jetpack",
                f"Jetson: the image must match the JetPack release ({ctx.host.jetson_release}); "
                f"CUDA {cuda} in the vendor image is for JetPack 6",
                "info",
                evidence=[kb.vllm()["vendor_pytorch"]["cuda_jetson"]["source"]],
            )
        )
    elif version is None:
        ctx.warnings.append(
            Finding(
                "driver-unknown",
                f"the NVIDIA driver version is unknown; the image uses CUDA {cuda}",
                "warning",
                fix="load the NVIDIA driver (nvidia-smi should answer), then plan again",
            )
        )
    elif tk is not None:
        have = kb.version_tuple(version)
        floor = kb.major_floor(cuda)
        if have >= kb.version_tuple(tk["min_driver"]):
            pass
        elif floor and have >= kb.version_tuple(floor):
            ctx.verdicts.append(
                Finding(
                    "driver-minor-compat",
                    f"driver {version} is older than CUDA {tk['version']}'s ({tk['min_driver']}); "
                    f"it runs through CUDA minor-version compatibility, but PTX JIT and the newest "
                    "features are unavailable",
                    "warning",
                    fix=f"upgrade the NVIDIA driver to >= {tk['min_driver']}",
                    evidence=[f"driver {version} (CUDA {supports or '?'})", src],
                )
            )
        else:
            ctx.verdicts.append(
                Finding(
                    "driver-too-old",
                    f"This will fail with 'CUDA driver version is insufficient for CUDA runtime "
                    f"version' because driver {version} supports CUDA up to {supports or '?'} "
                    f"and the image uses CUDA {cuda}, which needs driver >= "
                    f"{floor or tk['min_driver']}.",
                    "error",
                    fix=f"upgrade the NVIDIA driver to >= {tk['min_driver']} "
                    f"(at least {floor or tk['min_driver']} for any CUDA {cuda.split('.')[0]}.x)",
                    evidence=[f"driver {version}", f"CUDA {cuda} ({src})"],
                )
            )
    if tk is None:
        return
    for cc in ctx.capabilities:
        v = kb.version_tuple(cc)
        if v < kb.version_tuple(tk["min_capability"]):
            ctx.verdicts.append(
                Finding(
                    "cuda-drops-capability",
                    f"CUDA {tk['version']} cannot build code for compute capability {cc} (its "
                    f"floor is {tk['min_capability']}); the build will fail with 'nvcc fatal : "
                    f"Unsupported gpu architecture'",
                    "error",
                    fix="build with an older CUDA: --build-arg CUDA_VERSION=12.9.1",
                    evidence=[
                        f"CUDA {tk['version']}: capabilities {tk['min_capability']}.."
                        f"{tk['max_capability']} ({tk['source']})"
                    ],
                )
            )
        elif v > kb.version_tuple(tk["max_capability"]):
            ctx.verdicts.append(
                Finding(
                    "cuda-too-old-for-gpu",
                    f"CUDA {tk['version']} knows capabilities up to {tk['max_capability']}; this "
                    f"GPU is {cc}. This will fail with '{_SYMPTOM['cuda']}'.",
                    "error",
                    fix="build with a newer CUDA (--build-arg CUDA_VERSION=<12.8 or newer>)",
                    evidence=[tk["source"]],
                )
            )


# ------------------------------------------------------------------ ROCm


def _rocm_driver(ctx: Ctx, version: str | None, how: str) -> None:
    """The host's amdgpu driver against the image's ROCm (rocm.toml's driver table)."""
    from hwdock.plan.amdgpu import IMAGE_ROCM, rocm_driver_compat

    driver = next((d for d in ctx.host.drivers if d.vendor == "amd"), None)
    if driver is None or not ctx.gfx_targets:
        return
    got = rocm_driver_compat(driver.version, version)
    evidence = [f"amdgpu {driver.version or '(in-kernel)'} ({driver.flavor or '?'})"]
    if version:
        evidence.append(f"{IMAGE_ROCM}{version}: {how}")
    evidence += got.sources
    if got.verdict in ("driver-too-old", "driver-too-new"):
        # AMD does not support the pair; it often still runs, so this warns, not refuses
        _add(ctx, Finding(f"rocm-{got.verdict}", got.message, "warning", got.fix, evidence))
    elif got.verdict == "ok":
        ctx.verdicts.append(Finding("rocm-driver-ok", got.message, "info", None, evidence))
    elif not driver.version:  # in-kernel amdgpu: say what cannot be known
        ctx.verdicts.append(Finding("rocm-driver-unknown", got.message, "info", got.fix, evidence))


def image_rocm(ctx: Ctx, steps: list[ImageStep]) -> tuple[str | None, str]:
    """(ROCm version of the image the app runs on, how it is known)."""
    for step in steps:
        if step.generated_dockerfile is not None:
            v = kb.vllm()["vendor_pytorch"]["rocm"].get("rocm")
            return v, "vendor PyTorch image"
        if step.action != "build":
            for pub in kb.vllm().get("published", []):
                if pub["image"] == step.image:
                    return pub.get("rocm"), f"{step.image} ({pub['source']})"
            v = kb.rocm_version_of(step.image)
            if v:
                return v, f"tag of {step.image}"
            known = kb.recipe_platform("rocm")["base_image"]
            if step.image == known["ref"] and ctx.tree is not None:
                rel = ctx.options.base_dockerfile or ctx.tree.first(
                    kb.recipe_platform("rocm")["base_dockerfiles"]
                )
                if rel:
                    f = ctx.tree.facts(rel, {})
                    base = f.stages[0].base if f.stages else None
                    v = kb.rocm_version_of(base)
                    if v:
                        return v, f"{step.image} is built by {rel} FROM {base}"
            if step.image == known["ref"]:
                fallback = kb.load_table("rocm", "vllm_base_arch")
                return fallback.get("rocm"), f"{step.image} ({fallback['source']})"
            continue
        facts = ctx.step_facts.get(step.id)
        if facts is not None:
            for st in facts.stages:
                v = kb.rocm_version_of(st.base)
                if v:
                    return v, f"{facts.path}: FROM {st.base}"
    return None, ""


def _rocm_fix(ctx: Ctx, steps: list[ImageStep], need: str) -> str:
    base = next((s for s in steps if s.id == "base"), None)
    if base is not None and base.action == "build":
        return (
            f"the base is built FROM a ROCm image: set ARG BASE_IMAGE in {base.dockerfile} to "
            f"a ROCm >= {need} image (e.g. rocm/dev-ubuntu-24.04:{need}-complete)"
        )
    return f"use a base image with ROCm >= {need}: --build-arg BASE_IMAGE=<image>"


def _rocm(ctx: Ctx, steps: list[ImageStep]) -> None:
    version, how = image_rocm(ctx, steps)
    for gfx in ctx.gfx_targets:
        info = kb.gfx_info(gfx)
        need = info.get("min_rocm") if info else None
        if need is None:
            _add(
                ctx,
                Finding(
                    "rocm-unsupported-target",
                    f"ROCm does not support {gfx}"
                    + (f" ({', '.join(info['products'])})" if info else "")
                    + f"; this will fail with '{_SYMPTOM['rocm']}' or not find the GPU",
                    "error",
                    fix="use a supported GPU (--gpu), or set HSA_OVERRIDE_GFX_VERSION to a "
                    "close supported target at your own risk",
                    evidence=[kb.load_source("rocm")],
                ),
            )
            continue
        if version and kb.version_tuple(version) < kb.version_tuple(need):
            _add(
                ctx,
                Finding(
                    "rocm-too-old",
                    f"{gfx} needs ROCm >= {need}; the image has ROCm {version}. This will fail "
                    f"with '{_SYMPTOM['rocm']}' or 'No HIP GPUs are available'.",
                    "error",
                    fix=_rocm_fix(ctx, steps, need),
                    evidence=[how, info["source"]],
                ),
            )
    _rocm_driver(ctx, version, how)
    for feat in kb.rocm_features():
        lacking = [g for g in ctx.gfx_targets if g not in feat["targets"]]
        if lacking:
            ctx.verdicts.append(
                Finding(
                    "rocm-feature-unavailable",
                    f"{feat['name']} is limited to {', '.join(feat['targets'])}: "
                    f"{feat['effect']} ({', '.join(lacking)})",
                    "info",
                    evidence=[feat["source"]],
                )
            )
    override = ctx.host.env.get("HSA_OVERRIDE_GFX_VERSION")
    if override:
        ctx.warnings.append(
            Finding(
                "hsa-override",
                f"HSA_OVERRIDE_GFX_VERSION={override} is set on the host: ROCm will treat the "
                "GPU as that target; the plan uses the real one",
                "warning",
                fix="pass -e HSA_OVERRIDE_GFX_VERSION to the container only if you mean it",
            )
        )


# ------------------------------------------------------------------ CPU


def _cpu(ctx: Ctx, steps: list[ImageStep]) -> None:
    cpu = ctx.host.cpu
    if (cpu.architecture or "x86_64") != "x86_64":
        return
    flags = set(cpu.isa_flags)
    if flags and "avx2" not in flags:
        ctx.verdicts.append(
            Finding(
                "cpu-isa-missing",
                "this CPU lacks AVX2; vLLM's x86 CPU backend needs AVX2 at least",
                "error",
                fix="run on a CPU with AVX2 (or AVX-512)",
                evidence=[kb.cpu_source()],
            )
        )
        return
    final = steps[-1] if steps else None
    isa = final.labels.get(CPU_ISA_LABEL) if final else None
    if isa == "avx512" and "avx512f" not in flags:
        ctx.verdicts.append(
            Finding(
                "cpu-isa-mismatch",
                "This will fail with 'Illegal instruction' because the image is built for "
                "AVX-512 and this CPU has only AVX2.",
                "error",
                fix="--build-arg VLLM_CPU_DISABLE_AVX512=true",
                evidence=[f"host flags: {' '.join(sorted(flags))}", kb.cpu_source()],
            )
        )
    elif isa == "avx512":
        ctx.verdicts.append(
            Finding(
                "cpu-image-not-portable",
                "the image will use AVX-512: it runs on this host, but dies with 'Illegal "
                "instruction' on AVX2-only CPUs",
                "info",
                fix="for an image that runs anywhere: --build-arg VLLM_CPU_DISABLE_AVX512=true",
                evidence=[kb.cpu_source()],
            )
        )
