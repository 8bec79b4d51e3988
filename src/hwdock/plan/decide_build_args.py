"""Decision 4: build args — arch lists narrowed to the GPUs present, parallelism sized to the
machine, CUDA version and CPU ISA chosen; the user's `--build-arg` always wins.

The ARG names are read from the Dockerfile being built (they change between vLLM versions);
the recipe data says which names carry what.
"""

from __future__ import annotations

from hwdock import label_names
from hwdock.findings import Finding
from hwdock.knowledge import load
from hwdock.plan import facts as kb
from hwdock.plan.context import Ctx
from hwdock.plan.decide_route import ARCH_LABEL
from hwdock.plan.dockerfile_facts import DockerfileFacts, read_facts
from hwdock.plan.model import Decision, ImageStep

CPU_ISA_LABEL = label_names.CPU_ISA
GIB = 1024**3


def _facts_for(ctx: Ctx, step: ImageStep) -> DockerfileFacts | None:
    if step.generated_dockerfile is not None:
        return read_facts(step.generated_dockerfile, "hwdock.Dockerfile", {})
    return ctx.step_facts.get(step.id)


def _arch_names(ctx: Ctx, step: ImageStep, facts: DockerfileFacts) -> list[str]:
    declared = facts.arg_names()
    generic = kb.generic_arch_args(ctx.platform)
    if ctx.recipe == "vllm" and step.generated_dockerfile is None:
        rp = kb.recipe_platform(ctx.platform)
        names = rp.get("base_arch_args" if step.id == "base" else "arch_args", [])
        first = [n for n in names if n in declared][:1]
        return first
    return [n for n in generic if n in declared]


def _arch_value(ctx: Ctx, name: str) -> str:
    if ctx.platform == "cuda":
        if "ARCHITECTURES" in name.upper():  # CMake style: 90;89
            return ";".join(c.replace(".", "") for c in ctx.capabilities)
        return " ".join(ctx.capabilities)
    return ";".join(ctx.gfx_targets)


def _jobs(ctx: Ctx, threads: int) -> tuple[int, list[str]]:
    mem = load("cuda")["build_memory"]
    per_job = mem["cpu_per_job_gib"] if ctx.platform == "cpu" else mem["per_job_gib"]
    cores = ctx.host.cpu.logical_cores or 1
    avail = ctx.host.cpu.memory_available_bytes or ctx.host.cpu.memory_total_bytes
    by_cores = max(1, cores // max(1, threads))
    evidence = [f"{cores} logical cores", f"{per_job} GiB per compile job ({mem['source']})"]
    if avail is None:
        return by_cores, [*evidence, "free memory unknown: limited by cores only"]
    by_mem = max(1, int(avail / GIB) // (per_job * max(1, threads)))
    evidence.append(f"{avail / GIB:.0f} GiB memory available")
    return min(by_cores, by_mem), evidence


def decide_build_args(ctx: Ctx, steps: list[ImageStep]) -> None:
    for step in steps:
        if step.action != "build":
            continue
        facts = _facts_for(ctx, step)
        if facts is None:
            continue
        args: dict[str, str] = {}
        _arch_args(ctx, step, facts, args)
        threads = _threads(ctx, facts, args)
        _jobs_args(ctx, step, facts, args, threads)
        if ctx.platform == "cuda":
            _cuda_version(ctx, step, facts, args)
        if ctx.platform == "rocm":
            _rocm_old_shape(ctx, step, facts, args)
        if ctx.platform == "cpu":
            _cpu_isa(ctx, step, facts, args)
        user = dict(ctx.options.build_args)
        if step.id == "base":
            user = {k: v for k, v in user.items() if k != "BASE_IMAGE"}
        overridden = [k for k in user if k in args and args[k] != user[k]]
        if overridden:
            ctx.decisions.append(
                Decision(
                    "build-args",
                    f"kept your --build-arg {', '.join(overridden)}",
                    "your values win over hwdock's",
                    [f"{k}={user[k]} (hwdock would use {args[k]})" for k in overridden],
                )
            )
        step.build_args = {**step.build_args, **args, **user}
        _record_arch(ctx, step, facts)
        if ctx.platform == "cpu":
            _record_isa(ctx, step, facts)


def _arch_args(ctx: Ctx, step: ImageStep, facts: DockerfileFacts, args: dict[str, str]) -> None:
    if ctx.platform not in ("cuda", "rocm"):
        return
    names = _arch_names(ctx, step, facts)
    if not names:
        ctx.decisions.append(
            Decision(
                "arch-list",
                f"{step.id}: no arch-list ARG to narrow",
                f"{facts.path} declares none of the known arch-list ARGs; its list is fixed",
                [],
            )
        )
        return
    if not (ctx.gfx_targets or ctx.capabilities):
        ctx.warnings.append(
            Finding(
                "arch-unknown",
                "the GPU architecture of the chosen GPU is unknown; the arch list is left as the "
                "Dockerfile has it",
                "warning",
                fix="probe again with the vendor driver loaded, or pass --build-arg "
                f"{names[0]}=<arch>",
            )
        )
        return
    for name in names:
        default = facts.find_arg(name)
        before = default[0].default if default else None
        args[name] = _arch_value(ctx, name)
        n_before = (
            len(kb.parse_cuda_arch_list(before))
            if ctx.platform == "cuda"
            else len(kb.rocm_list(before))
        )
        ctx.decisions.append(
            Decision(
                "arch-list",
                f"{name}={args[name]}",
                "compile GPU code only for the GPUs present"
                + (f" ({n_before} targets by default)" if n_before else "")
                + ": each extra target is another full compile of every kernel",
                [
                    f"{facts.path}:{default[0].line}: ARG {name}" + (f"={before}" if before else "")
                    if default
                    else f"{facts.path}: ARG {name}",
                    f"host: {ctx.arch_tag}",
                ],
            )
        )


def _threads(ctx: Ctx, facts: DockerfileFacts, args: dict[str, str]) -> int:
    if ctx.platform != "cuda":
        return 1
    names = [n for n in kb.generic_threads_args() if n in facts.arg_names()]
    if not names:
        return 1
    # nvcc --threads compiles the -gencode targets in parallel: more threads than targets
    # only costs memory.
    n_targets = max(1, len(ctx.capabilities))
    threads = min(load("cuda")["build_memory"]["nvcc_threads_default"], n_targets)
    for name in names:
        args[name] = str(threads)
    ctx.decisions.append(
        Decision(
            "nvcc-threads",
            f"{names[0]}={threads}",
            "nvcc's --threads runs one thread per target architecture; with "
            f"{n_targets} target(s) more threads would only take memory",
            [f"{facts.path}: ARG {names[0]}"],
        )
    )
    return threads


def _jobs_args(
    ctx: Ctx, step: ImageStep, facts: DockerfileFacts, args: dict[str, str], threads: int
) -> None:
    declared = facts.arg_names()
    names = [n for n in kb.generic_jobs_args() if n in declared]
    if not names:
        return
    jobs, evidence = _jobs(ctx, threads)
    for name in names:
        args[name] = str(jobs)
    ctx.decisions.append(
        Decision(
            "max-jobs",
            f"{step.id}: {'/'.join(names)}={jobs}",
            "parallel compile jobs sized so the build is not OOM-killed: "
            "min(cores / nvcc threads, available memory / memory per job)",
            evidence,
        )
    )


def _cuda_version(ctx: Ctx, step: ImageStep, facts: DockerfileFacts, args: dict[str, str]) -> None:
    rp = kb.recipe_platform("cuda")
    name = rp.get("cuda_version_arg", "CUDA_VERSION")
    if name not in facts.arg_names() or name in ctx.options.build_args:
        return
    current = facts.value_of(name)
    if not current:
        return
    if _toolkit_fits(ctx, current):
        return
    min_cuda = kb.version_tuple(rp.get("min_cuda", "12.0"))
    for tk in reversed(kb.toolkits()):
        if kb.version_tuple(tk["version"]) < min_cuda:
            break
        if _toolkit_fits(ctx, tk["version"]):
            args[name] = tk["image_tag"]
            ctx.decisions.append(
                Decision(
                    "cuda-version",
                    f"{name}={tk['image_tag']} (instead of {current})",
                    _why_not(ctx, current),
                    [
                        f"{facts.path}: ARG {name}={current}",
                        f"CUDA {tk['version']} ({tk['source']})",
                    ],
                )
            )
            return


def _toolkit_fits(ctx: Ctx, cuda: str) -> bool:
    from hwdock.plan.decide_route import driver_ok_for

    tk = kb.toolkit(cuda)
    if tk is None:
        return True  # unknown toolkit: nothing to say
    lo, hi = kb.version_tuple(tk["min_capability"]), kb.version_tuple(tk["max_capability"])
    ccs_ok = all(lo <= kb.version_tuple(cc) <= hi for cc in ctx.capabilities)
    return ccs_ok and driver_ok_for(ctx, cuda)


def _why_not(ctx: Ctx, cuda: str) -> str:
    from hwdock.plan.decide_route import driver_ok_for

    tk = kb.toolkit(cuda)
    if tk and any(
        kb.version_tuple(cc) < kb.version_tuple(tk["min_capability"]) for cc in ctx.capabilities
    ):
        return (
            f"CUDA {tk['version']} dropped compute capability {ctx.capabilities[0]} "
            f"(its floor is {tk['min_capability']})"
        )
    if not driver_ok_for(ctx, cuda):
        return f"driver {ctx.nvidia_driver()[0]} cannot run CUDA {cuda}"
    return f"CUDA {cuda} does not support this GPU"


def _rocm_old_shape(
    ctx: Ctx, step: ImageStep, facts: DockerfileFacts, args: dict[str, str]
) -> None:
    rp = kb.recipe_platform("rocm")
    fa = rp.get("fa_args", {})
    names = facts.arg_names()
    if fa and fa["build"] in names and fa["archs"] in names:
        fa_archs = kb.rocm_list(facts.value_of(fa["archs"]))
        missing = [g for g in ctx.gfx_targets if g not in fa_archs]
        if missing:
            args[fa["build"]] = "0"
            ctx.decisions.append(
                Decision(
                    "flash-attention",
                    f"{fa['build']}=0",
                    f"CK flash-attention is built only for {';'.join(fa_archs)}; building it for "
                    f"{', '.join(missing)} fails, vLLM uses its Triton attention instead",
                    [f"{facts.path}: ARG {fa['archs']}={';'.join(fa_archs)}"],
                )
            )
    navi = [s.name for s in facts.stages if s.name and "navi" in s.name.lower()]
    is_navi = any(g.startswith(("gfx10", "gfx11", "gfx12")) for g in ctx.gfx_targets)
    if navi and is_navi:
        for arg, default in facts.stage_selector_args().items():
            if default != navi[0]:
                args[arg] = navi[0]
                ctx.decisions.append(
                    Decision(
                        "stage",
                        f"{arg}={navi[0]}",
                        "this Dockerfile has a stage for Radeon (Navi) GPUs; "
                        f"{', '.join(ctx.gfx_targets)} is one",
                        [f"{facts.path}: stage {navi[0]}, ARG {arg} (default {default})"],
                    )
                )


def _cpu_isa(ctx: Ctx, step: ImageStep, facts: DockerfileFacts, args: dict[str, str]) -> None:
    flags = set(ctx.host.cpu.isa_flags)
    declared = facts.arg_names()
    if (ctx.host.cpu.architecture or "x86_64") != "x86_64":
        return
    chosen: list[str] = []
    for entry in kb.cpu_build_args():
        name = entry["name"]
        if name not in declared:
            continue
        has_512 = "avx512f" in flags
        if name in ("VLLM_CPU_DISABLE_AVX512", "VLLM_CPU_AVX2"):
            if not has_512:
                args[name] = entry["value_for_portable"]
                chosen.append(f"{name}={args[name]}")
            elif name == "VLLM_CPU_DISABLE_AVX512":
                args[name] = "false"
                chosen.append(f"{name}=false")
        elif all(f in flags for f in entry["needs"]):
            args[name] = "true"
            chosen.append(f"{name}=true")
        else:
            args[name] = "false"
            chosen.append(f"{name}=false")
    if chosen:
        ctx.decisions.append(
            Decision(
                "cpu-isa",
                ", ".join(chosen),
                "vLLM's CPU build compiles for the ISA it is told (by default the build "
                "machine's); set explicitly from this host's flags",
                [f"host flags: {' '.join(sorted(flags)) or 'none reported'}", kb.cpu_source()],
            )
        )


def _record_arch(ctx: Ctx, step: ImageStep, facts: DockerfileFacts) -> None:
    """Label the step with the arch list its image will be built for."""
    if ctx.platform not in ("cuda", "rocm"):
        return
    names = _arch_names(ctx, step, facts)
    rp = kb.recipe_platform(ctx.platform) if ctx.recipe == "vllm" else {}
    for name in names:
        val = step.build_args.get(name) or facts.value_of(name)
        if val:
            step.labels[ARCH_LABEL] = val
            return
    for name in rp.get("arch_env", []):
        val = facts.value_of(name)
        if val and "$" not in val:
            step.labels[ARCH_LABEL] = val
            return


def _record_isa(ctx: Ctx, step: ImageStep, facts: DockerfileFacts) -> None:
    """Label the step with the ISA its image will use, after the user's --build-arg."""
    if (ctx.host.cpu.architecture or "x86_64") != "x86_64":
        return
    declared = facts.arg_names()
    disabled = str(step.build_args.get("VLLM_CPU_DISABLE_AVX512", "")).lower() in ("true", "1")
    if "VLLM_CPU_DISABLE_AVX512" in declared and "VLLM_CPU_DISABLE_AVX512" in step.build_args:
        isa = "avx2" if disabled else "avx512"
    else:  # not told: the build machine's ISA, which is this host's when built here
        isa = "avx512" if "avx512f" in ctx.host.cpu.isa_flags else "avx2"
    step.labels[CPU_ISA_LABEL] = isa
