"""Decision 5: how to run the image — the device access each vendor needs and no more.

AMD: `/dev/kfd` plus the render nodes of the chosen GPUs, groups by numeric id (names differ
between host and image). NVIDIA: CDI devices when CDI specs exist; else on a Jetson the
`nvidia` runtime (its CSV mode refuses `--gpus`; cuda.toml [jetson_container]); else `--gpus`.
Always
`--ipc=host`, the model read-only, the Hugging Face cache, `HF_TOKEN` by name only.
SYS_PTRACE and seccomp=unconfined only with --debug; never --privileged.
"""

from __future__ import annotations

from hwdock.findings import Finding
from hwdock.plan import facts as kb
from hwdock.plan.context import Ctx
from hwdock.plan.model import Decision, ImageStep, Mount, RunSpec


def decide_run(ctx: Ctx, final: ImageStep | None) -> RunSpec | None:
    if final is None:
        return None
    spec = RunSpec(image=final.image, name=ctx.options.name)
    if ctx.platform == "rocm":
        _amd(ctx, spec)
    elif ctx.platform == "cuda":
        _nvidia(ctx, spec)
    elif ctx.platform == "xpu":
        renders = [a.render_node for a in ctx.chosen if a.render_node]
        spec.devices = renders or ["/dev/dri"]  # Level Zero needs the render node only
        spec.group_add = _gids(ctx, renders or ["/dev/dri/renderD"])
    if ctx.recipe == "vllm":
        _vllm(ctx, spec, final)
    else:
        _generic(ctx, spec)
    if ctx.options.debug:
        spec.cap_add.append("SYS_PTRACE")
        spec.security_opt.append("seccomp=unconfined")
        note = (
            "--debug: SYS_PTRACE and seccomp=unconfined let gdb/rocgdb/cuda-gdb and py-spy "
            "attach to processes; leave them out in production"
        )
        spec.notes.append(note)
        ctx.decisions.append(Decision("run-debug", "SYS_PTRACE, seccomp=unconfined", note, []))
    return spec


def _gids(ctx: Ctx, prefixes: list[str]) -> list[int]:
    gids = {
        d.gid
        for d in ctx.host.device_access
        if d.exists and d.gid not in (None, 0) and any(d.path.startswith(p) for p in prefixes)
    }
    return sorted(g for g in gids if g is not None)


def _amd(ctx: Ctx, spec: RunSpec) -> None:
    renders = [a.render_node for a in ctx.chosen if a.render_node]
    spec.devices = ["/dev/kfd", *renders]
    spec.group_add = _gids(ctx, ["/dev/kfd", *renders])
    evidence = [
        f"{d.path} gid {d.gid} ({d.group})"
        for d in ctx.host.device_access
        if d.path in spec.devices
    ]
    ctx.decisions.append(
        Decision(
            "run-devices",
            " ".join(f"--device {d}" for d in spec.devices)
            + "".join(f" --group-add {g}" for g in spec.group_add),
            "ROCm needs /dev/kfd and the render node of each GPU it may use; only the chosen "
            "GPUs' render nodes are passed; groups by number because the image's group names "
            "differ from the host's",
            evidence,
        )
    )
    missing = [a for a in ctx.chosen if not a.render_node]
    if missing:
        ctx.warnings.append(
            Finding(
                "render-node-unknown",
                f"no render node is known for {len(missing)} chosen GPU(s); they will not be "
                "visible in the container",
                "warning",
                fix="check /dev/dri/renderD* and the amdgpu driver, then probe again",
            )
        )
    if not spec.group_add:
        ctx.warnings.append(
            Finding(
                "device-group-unknown",
                "the groups owning /dev/kfd and the render nodes are unknown; the container "
                "may get 'Permission denied' on them",
                "warning",
                fix="probe on the host itself (hwdock probe) so device_access is recorded",
            )
        )


def _nvidia(ctx: Ctx, spec: RunSpec) -> None:
    nvidia = sorted(
        (a for a in ctx.host.accelerators if a.vendor == "nvidia"),
        key=lambda a: a.pci_address or "",
    )
    all_chosen = len(ctx.chosen) == len(nvidia)
    indices = [str(nvidia.index(a)) for a in ctx.chosen if a in nvidia]
    cdi = [
        dev
        for spec_ in ctx.host.container.cdi_specs
        if spec_.kind == "nvidia.com/gpu"
        for dev in spec_.devices
    ]
    if cdi:
        wanted = ["nvidia.com/gpu=all"] if all_chosen else [f"nvidia.com/gpu={i}" for i in indices]
        if all(w in cdi for w in wanted):
            spec.cdi_devices = wanted
            ctx.decisions.append(
                Decision(
                    "run-devices",
                    " ".join(f"--device {d}" for d in wanted),
                    "CDI specs exist for the NVIDIA GPUs: the engine injects exactly these "
                    "devices and the driver libraries",
                    [f"CDI devices: {', '.join(cdi)}"],
                )
            )
            return
    if ctx.is_jetson():
        _jetson(ctx, spec)
        return
    if all_chosen or not indices:
        spec.gpus = "all"
    else:
        uuids = [a.uuid for a in ctx.chosen]
        ids = uuids if all(uuids) else indices
        spec.gpus = "device=" + ",".join(i for i in ids if i)
    ctx.decisions.append(
        Decision(
            "run-devices",
            f"--gpus {spec.gpus}",
            "the NVIDIA container toolkit passes the chosen GPUs and their driver libraries",
            [f"{len(ctx.chosen)} of {len(nvidia)} NVIDIA GPU(s) chosen"],
        )
    )


def _jetson(ctx: Ctx, spec: RunSpec) -> None:
    """Jetson without CDI specs: the `nvidia` runtime injects the iGPU (CSV mode), not `--gpus`."""
    jc = kb.jetson_container()
    spec.runtime = jc["runtime"]
    spec.env[jc["env_name"]] = jc["env_value"]
    engines = [e for e in ctx.host.container.engines if e.name == "docker" and e.server_version]
    evidence = [f"Jetson: {ctx.host.jetson_release or 'integrated NVIDIA GPU on aarch64'}"]
    evidence += [f"docker runtimes: {', '.join(e.runtimes) or '-'}" for e in engines]
    evidence += [jc["source"], jc["source_env"], *jc["reports"]]
    ctx.decisions.append(
        Decision(
            "run-devices",
            f"--runtime {spec.runtime} -e {jc['env_name']}={jc['env_value']} (not --gpus)",
            f"{jc['why']}; the runtime acts only when {jc['env_name']} is set, so the plan sets "
            "it; Podman gets the CDI device instead",
            evidence,
        )
    )


def _vllm(ctx: Ctx, spec: RunSpec, final: ImageStep) -> None:
    run = kb.vllm()["run"]
    port = int(run["port"])
    spec.ipc = run["ipc"]
    spec.ports = [(ctx.options.port, port)]
    spec.health_path = run["health_path"]
    spec.env_passthrough = list(run["secrets"])
    if ctx.options.hf_cache is not None:
        spec.mounts.append(Mount(str(ctx.options.hf_cache), run["hf_cache"]))
    else:
        spec.mounts.append(Mount("hwdock-hf-cache", run["hf_cache"], kind="volume"))
    model_arg: str | None = None
    if ctx.options.model is not None:
        target = f"{run['models_dir']}/{ctx.options.model.name or 'model'}"
        spec.mounts.append(Mount(str(ctx.options.model), target, read_only=True))
        model_arg = target
    entry = _server_entrypoint(ctx, final)
    if model_arg:
        if entry:
            spec.command = ["--model", model_arg]
        else:
            spec.command = ["vllm", "serve", model_arg]
        spec.command += ["--host", "0.0.0.0", "--port", str(port)]
        if len(ctx.chosen) > 1:
            spec.command += ["--tensor-parallel-size", str(len(ctx.chosen))]
    ctx.decisions.append(
        Decision(
            "run",
            f"--ipc={spec.ipc}, port {ctx.options.port}->{port}, model read-only, HF_TOKEN by name",
            "PyTorch shares memory between processes through /dev/shm (tensor parallel); the "
            "server listens on 8000 with a /health endpoint; the token never appears in the "
            "plan",
            [run["source"]],
        )
    )
    if model_arg is None:
        ctx.warnings.append(
            Finding(
                "no-model",
                "no --model given: the container starts without a model to serve",
                "info",
                fix="hwdock plan ... --model /path/to/model",
            )
        )


def _server_entrypoint(ctx: Ctx, final: ImageStep) -> bool:
    if final.generated_dockerfile is not None:
        return False  # ours: ENTRYPOINT ["vllm", "serve"] takes the model first
    for pub in kb.vllm().get("published", []):
        if pub["image"] == final.image:
            return bool(pub.get("server_entrypoint"))
    return bool(kb.recipe_platform(ctx.platform).get("server_entrypoint"))


def _generic(ctx: Ctx, spec: RunSpec) -> None:
    facts = ctx.step_facts.get("app")
    ports: list[int] = []
    if facts is not None and facts.last_stage is not None:
        for item in facts.last_stage.expose:
            num = item.split("/")[0]
            if num.isdigit():
                ports.append(int(num))
    spec.ports = [(p, p) for p in ports]
    if ctx.options.model is not None:
        spec.mounts.append(Mount(str(ctx.options.model), "/models", read_only=True))
    if ctx.platform in ("cuda", "rocm"):
        spec.ipc = "host"
