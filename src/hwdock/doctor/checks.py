"""`hwdock doctor`: checks of a host against what a plan needs. Pure.

`run_checks(host, plan)` takes a `HostReport` (from `hwdock.probe`) and optionally a `Plan`
(from `hwdock.plan.make_plan`) and returns one `Check` per question, each with a status
(ok / warn / fail / skip), the evidence it rests on and the exact fix. Figures it compares
against (image sizes, memory per compile job, shared memory) come from
`knowledge/data/doctor.toml`, each with its source.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from hwdock import knowledge
from hwdock.doctor import arch
from hwdock.doctor.model import Check, Status
from hwdock.plan.model import Plan
from hwdock.probe.model import Accelerator, DeviceAccess, HostReport

GIB = 1024**3
MIB = 1024**2
VISIBLE_VARS = ("CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")
_ORDER: dict[Status, int] = {"skip": 0, "ok": 1, "warn": 2, "fail": 3}


def run_checks(host: HostReport, plan: Plan | None = None) -> list[Check]:
    """Every doctor check, in a fixed order."""
    facts = knowledge.load("doctor")
    ctx = _Context(host, plan, facts)
    checks: list[Check] = []
    for fn in _CHECKS:
        checks.extend(fn(ctx))
    return checks


def worst(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=lambda s: _ORDER[s], default="skip")


# ---------------------------------------------------------------- context


class _Context:
    def __init__(self, host: HostReport, plan: Plan | None, facts: dict) -> None:
        self.host = host
        self.plan = plan
        self.facts = facts
        self.chosen = chosen_accelerators(host, plan)
        self.platform = plan.platform if plan else _guess_platform(self.chosen)
        self.engine = next((e for e in host.container.engines if e.server_version), None)
        self.build_args = _build_args(plan)

    def access(self, path: str) -> DeviceAccess | None:
        return next((d for d in self.host.device_access if d.path == path), None)

    def arch_list(self) -> tuple[str, list[str]] | None:
        """(arg name, items) of the image's arch list, from the plan's build args."""
        names = self.facts["arch_args"].get(self.platform, [])
        for name in names:
            for key, value in self.build_args.items():
                if key.lower() == name.lower() and value.strip():
                    return key, arch.split_list(value)
        return None

    def arg(self, names: list[str]) -> tuple[str, str] | None:
        for name in names:
            for key, value in self.build_args.items():
                if key.lower() == name.lower() and value.strip():
                    return key, value.strip()
        return None


def chosen_accelerators(host: HostReport, plan: Plan | None) -> list[Accelerator]:
    """The plan's accelerators; without a plan, the discrete GPUs (all when none is discrete)."""
    if plan is not None and plan.accelerators:
        keys = set(plan.accelerators)
        return [a for a in host.accelerators if a.key in keys]
    if plan is not None and plan.platform == "cpu":
        return []
    discrete = [a for a in host.accelerators if not a.integrated]
    return discrete or list(host.accelerators)


def _guess_platform(chosen: list[Accelerator]) -> str:
    vendors = {a.vendor for a in chosen}
    if "nvidia" in vendors:
        return "cuda"
    if "amd" in vendors:
        return "rocm"
    if "intel" in vendors:
        return "xpu"
    return "cpu"


def _build_args(plan: Plan | None) -> dict[str, str]:
    args: dict[str, str] = {}
    if plan:
        for step in plan.steps:
            if step.action == "build":
                args.update(step.build_args)
    return args


def _version_tuple(v: str | None) -> tuple[int, ...] | None:
    if not v:
        return None
    nums = re.findall(r"\d+", v)
    return tuple(int(n) for n in nums) if nums else None


def parse_size(value: str | None) -> int | None:
    """Docker size strings: '16g', '64m', '1gb', '512k', '1073741824' -> bytes."""
    if not value:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*", value.lower())
    if not m:
        return None
    mult = {"": 1, "k": 1024, "m": MIB, "g": GIB, "t": 1024 * GIB}[m.group(2)]
    return int(float(m.group(1)) * mult)


def _gb(n: int | float) -> str:
    return f"{n / GIB:.1f} GiB"


# ---------------------------------------------------------------- checks


def _check_engine(ctx: _Context) -> list[Check]:
    engines = ctx.host.container.engines
    if not engines:
        return [
            Check(
                "engine",
                "container engine",
                "fail",
                "no container engine found (neither docker nor podman)",
                fix="install Docker Engine (e.g. `sudo apt-get install docker.io`) or Podman",
            )
        ]
    if ctx.engine is None:
        names = ", ".join(f"{e.name} {e.client_version or ''}".strip() for e in engines)
        return [
            Check(
                "engine",
                "container engine",
                "fail",
                f"{names} installed, but the engine did not answer",
                evidence=[e.client_path or e.name for e in engines],
                fix="start it (`sudo systemctl start docker`) and, for Docker without sudo, "
                "join its group: `sudo usermod -aG docker $USER` then log in again",
            )
        ]
    e = ctx.engine
    extra = " (rootless)" if e.rootless else ""
    return [
        Check(
            "engine",
            "container engine",
            "ok",
            f"{e.name} {e.server_version} answers{extra}",
            evidence=[f"{e.client_path or e.name}: client {e.client_version}"],
        )
    ]


def _check_buildkit(ctx: _Context) -> list[Check]:
    title = "BuildKit"
    if ctx.engine is None:
        return [Check("buildkit", title, "skip", "no engine answers")]
    e = ctx.engine
    builds = [s for s in ctx.plan.steps if s.action == "build"] if ctx.plan else []
    if ctx.plan is not None and not builds:
        return [Check("buildkit", title, "skip", "the plan builds nothing")]
    if e.name == "podman":
        return [Check("buildkit", title, "ok", "podman builds with Buildah (no BuildKit needed)")]
    from hwdock.docker_clients import NO_BUILDKIT_FIX

    evidence = [
        f"{e.client_path or 'docker'} client {e.client_version}, daemon {e.server_version}",
        f"buildx {e.buildx_version}" if e.buildx_version else "buildx: not found",
    ]
    if e.buildkit_usable:
        how = (
            "through buildx"
            if e.buildx_version
            else "built into the client (DOCKER_BUILDKIT=1; client before 23.0)"
        )
        return [Check("buildkit", title, "ok", f"BuildKit is usable, {how}", evidence=evidence)]
    fix = NO_BUILDKIT_FIX
    needing = [s.id for s in builds if s.needs_buildkit]
    if needing:
        return [
            Check(
                "buildkit",
                title,
                "fail",
                f"BuildKit is not usable and step(s) {', '.join(needing)} need it "
                "(RUN --mount, heredocs)",
                evidence=evidence,
                fix=fix,
            )
        ]
    return [
        Check(
            "buildkit",
            title,
            "warn",
            "BuildKit is not usable; the legacy builder is slower and lacks build caches",
            evidence=evidence,
            fix=fix,
        )
    ]


def _nvidia_chosen(ctx: _Context) -> list[Accelerator]:
    return [a for a in ctx.chosen if a.vendor == "nvidia"] if ctx.platform == "cuda" else []


def _check_gpu_present(ctx: _Context) -> list[Check]:
    title = "GPU for the plan"
    if ctx.platform in ("cpu",):
        return [Check("gpu", title, "skip", "CPU image: no GPU needed")]
    if not ctx.chosen:
        status: Status = "fail" if ctx.plan is not None else "warn"
        return [
            Check(
                "gpu",
                title,
                status,
                f"no {ctx.platform} accelerator found on this host",
                evidence=[f"{len(ctx.host.accelerators)} accelerator(s) probed"],
                fix="check `hwdock probe` (driver loaded? GPU bound to its kernel driver?)",
            )
        ]
    names = [f"{a.key} {a.name or a.device_id or ''}".strip() for a in ctx.chosen]
    unbound = [
        a
        for a in ctx.chosen
        if a.pci_address and not a.kernel_driver and not (ctx.host.wsl or ctx.host.jetson_release)
    ]
    if unbound:
        vendor = unbound[0].vendor
        return [
            Check(
                "gpu",
                title,
                "fail",
                f"{len(unbound)} of the chosen GPUs have no kernel driver bound "
                f"({', '.join(a.key for a in unbound[:4])}{' …' if len(unbound) > 4 else ''}): "
                "no render node, containers cannot use them",
                [f"{a.key}: driver=None" for a in unbound[:8]],
                _MISSING_FIX.get(vendor, "bind the GPU to its kernel driver")
                + "; `dmesg` says why the driver did not bind",
            )
        ]
    return [Check("gpu", title, "ok", f"{len(ctx.chosen)} chosen", evidence=names)]


def _check_nvidia_runtime(ctx: _Context) -> list[Check]:
    nv = _nvidia_chosen(ctx)
    title = "NVIDIA container runtime / CDI"
    if not nv:
        return []
    if ctx.host.wsl:
        return [Check("gpu-runtime", title, "skip", "WSL: GPUs reach containers through /dev/dxg")]
    side = ctx.host.container
    run = ctx.plan.run if ctx.plan else None
    use_cdi = bool(run and run.cdi_devices) or (
        ctx.engine is not None and ctx.engine.name == "podman"
    )
    if not use_cdi and _on_jetson(ctx, nv):
        return [_jetson_runtime_check(ctx, title)]
    if not use_cdi:
        evidence = []
        if ctx.engine is not None:
            evidence.append(f"{ctx.engine.name} runtimes: {', '.join(ctx.engine.runtimes) or '-'}")
        if side.nvidia_container_runtime:
            evidence.append(side.nvidia_container_runtime)
        if side.nvidia_ctk_version:
            evidence.append(f"nvidia-ctk {side.nvidia_ctk_version}")
        has = bool(
            (ctx.engine and "nvidia" in ctx.engine.runtimes)
            or side.nvidia_container_runtime
            or side.nvidia_ctk_version
        )
        if has:
            return [
                Check(
                    "gpu-runtime",
                    title,
                    "ok",
                    "NVIDIA container toolkit present (--gpus)",
                    evidence,
                )
            ]
        return [
            Check(
                "gpu-runtime",
                title,
                "fail",
                "no NVIDIA container toolkit: `--gpus` will fail with "
                "'could not select device driver \"\" with capabilities: [[gpu]]'",
                evidence=evidence,
                fix="install nvidia-container-toolkit, then `sudo nvidia-ctk runtime configure "
                "--runtime=docker && sudo systemctl restart docker`",
            )
        ]
    return [_cdi_check(ctx, title)]


def _on_jetson(ctx: _Context, nv: list[Accelerator]) -> bool:
    from hwdock.plan.facts import jetson_host

    return jetson_host(ctx.host, nv)


def _jetson_runtime_check(ctx: _Context, title: str) -> Check:
    """Jetson: the container needs Docker's `nvidia` runtime (CSV mode refuses `--gpus`)."""
    from hwdock.plan.facts import jetson_container

    jc = jetson_container()
    name = jc["runtime"]
    fix = (
        "install the NVIDIA container runtime (JetPack: sudo apt install "
        f"{jc['jetpack_package']}), then {jc['docker_fix']}"
    )
    run = ctx.plan.run if ctx.plan else None
    e = ctx.engine
    evidence = [f"Jetson: {ctx.host.jetson_release or 'integrated NVIDIA GPU on aarch64'}"]
    if e is not None:
        evidence.append(f"{e.name} runtimes: {', '.join(e.runtimes) or '-'}")
    if ctx.host.container.nvidia_ctk_version:
        evidence.append(f"nvidia-ctk {ctx.host.container.nvidia_ctk_version}")
    evidence.append(jc["source"])
    if run is not None and run.gpus and run.runtime != name:
        return Check(
            "gpu-runtime",
            title,
            "fail",
            f"the plan runs the container with --gpus {run.gpus}: Jetson's NVIDIA runtime "
            "(CSV mode) refuses it; the container must use --runtime nvidia",
            evidence=[*evidence, *jc["reports"]],
            fix="make the plan again with this hwdock (`hwdock plan`): it runs Jetson containers "
            f"with --runtime {name}",
        )
    if e is None:
        return Check(
            "gpu-runtime",
            title,
            "warn",
            f"no Docker daemon answered: cannot tell whether the '{name}' runtime is registered "
            f"(Jetson containers need --runtime {name})",
            evidence=evidence,
            fix=fix,
        )
    if name in e.runtimes:
        return Check(
            "gpu-runtime",
            title,
            "ok",
            f"Docker has the '{name}' runtime (Jetson: --runtime {name}, not --gpus)",
            evidence,
        )
    return Check(
        "gpu-runtime",
        title,
        "fail",
        f"Docker has no '{name}' runtime registered: a Jetson container gets no GPU "
        f"(--gpus is refused in CSV mode, --runtime {name} fails without it)",
        evidence=[*evidence, jc["docker_fix_source"]],
        fix=fix,
    )


def _cdi_check(ctx: _Context, title: str) -> Check:
    facts = ctx.facts["cdi"]
    run = ctx.plan.run if ctx.plan else None
    wanted = list(run.cdi_devices) if run and run.cdi_devices else ["nvidia.com/gpu=all"]
    have = {d for spec in ctx.host.container.cdi_specs for d in spec.devices}
    evidence = [f"{s.path}: {', '.join(s.devices)}" for s in ctx.host.container.cdi_specs]
    missing = [d for d in wanted if d not in have]
    gen_fix = (
        "sudo nvidia-ctk cdi generate --output=/etc/cdi/nvidia.yaml (then `nvidia-ctk cdi list`)"
    )
    if missing:
        return Check(
            "gpu-runtime",
            title,
            "fail",
            f"CDI device(s) {', '.join(missing)} not defined in any CDI spec",
            evidence=evidence or ["no CDI spec in /etc/cdi or /var/run/cdi"],
            fix=gen_fix,
        )
    e = ctx.engine
    if e is not None and e.name == "docker":
        v = _version_tuple(e.server_version)
        floor = _version_tuple(facts["docker_min_version"])
        evidence.append(f"docker {e.server_version}, cdi_enabled={e.cdi_enabled}")
        if v is not None and floor is not None and v < floor:
            return Check(
                "gpu-runtime",
                title,
                "fail",
                f"Docker {e.server_version} cannot use CDI devices "
                f"(needs {facts['docker_min_version']}+)",
                evidence=[*evidence, facts["docker_source"]],
                fix=f"upgrade: {facts['docker_fix']}; or use --gpus with the NVIDIA runtime",
            )
        if e.cdi_enabled is False:
            return Check(
                "gpu-runtime",
                title,
                "fail",
                "CDI is not enabled in this Docker daemon",
                evidence=[*evidence, facts["docker_source"]],
                fix=facts["docker_fix"],
            )
        if e.cdi_enabled is None:
            return Check(
                "gpu-runtime",
                title,
                "warn",
                "could not tell whether CDI is enabled in this Docker daemon",
                evidence=[*evidence, facts["docker_source"]],
                fix=facts["docker_fix"],
            )
    return Check("gpu-runtime", title, "ok", f"CDI device(s) {', '.join(wanted)} defined", evidence)


def _device_paths(ctx: _Context) -> list[tuple[str, str]]:
    """(path, vendor) of every device node the chosen accelerators need."""
    out: list[tuple[str, str]] = []
    amd = [a for a in ctx.chosen if a.vendor == "amd"] if ctx.platform == "rocm" else []
    if amd:
        out.append(("/dev/kfd", "amd"))
        out += [(a.render_node, "amd") for a in amd if a.render_node]
    nv = _nvidia_chosen(ctx)
    if nv and ctx.host.wsl:
        out.append(("/dev/dxg", "wsl"))
    elif nv and not ctx.host.jetson_release:
        out += [("/dev/nvidiactl", "nvidia"), ("/dev/nvidia-uvm", "nvidia")]
        out += [
            (f"/dev/nvidia{a.minor_number}", "nvidia") for a in nv if a.minor_number is not None
        ]
    seen: set[str] = set()
    return [(p, v) for p, v in out if not (p in seen or seen.add(p))]


_MISSING_FIX = {
    "amd": "load the amdgpu driver with KFD (`sudo modprobe amdgpu`; install amdgpu-dkms or a "
    "kernel with it) and check `ls -l /dev/kfd /dev/dri`",
    "nvidia": "load the NVIDIA driver (`sudo modprobe nvidia nvidia_uvm`; `nvidia-smi` creates "
    "missing nodes) or install it",
    "wsl": "update the Windows GPU driver and WSL (`wsl --update`)",
}


def _check_device_access(ctx: _Context) -> list[Check]:
    """One check over every device node the chosen GPUs need; the worst result wins."""
    paths = _device_paths(ctx)
    if not paths:
        return []
    rootless = bool(ctx.engine and ctx.engine.rootless)
    run = ctx.plan.run if ctx.plan else None
    results: list[tuple[Status, str, str | None]] = []
    evidence: list[str] = []
    for a in ctx.chosen:
        if a.vendor == "amd" and ctx.platform == "rocm" and not a.render_node:
            results.append(
                (
                    "fail",
                    f"{a.key} has no render node (is amdgpu bound to it?)",
                    _MISSING_FIX["amd"],
                )
            )
    for path, vendor in paths:
        da = ctx.access(path)
        if da is None:
            results.append(("skip", f"{path} not probed", None))
            continue
        evidence.append(f"{path} exists={da.exists} mode={da.mode} group={da.group}({da.gid})")
        if not da.exists:
            results.append(("fail", f"{path} does not exist", _MISSING_FIX[vendor]))
            continue
        group = da.group or (str(da.gid) if da.gid is not None else None)
        if not (da.readable and da.writable):
            join = f"sudo usermod -aG {group} $USER, then log in again" if group else None
            if rootless:
                msg = (
                    f"this user cannot open {path} and the engine is rootless, so containers cannot"
                )
                results.append(("fail", msg, join))
            else:
                msg = (
                    f"this user cannot open {path} (root containers of a rootful engine still "
                    "can; host tools and non-root containers cannot)"
                )
                results.append(("warn", msg, join))
            continue
        world_rw = bool(da.mode) and da.mode[-1] in "67"
        if (
            vendor == "amd"
            and run
            and da.gid is not None
            and not world_rw
            and da.gid not in run.group_add
        ):
            msg = (
                f"the run flags do not add group {da.gid} ({da.group}): a non-root user in the "
                f"container cannot open {path}"
            )
            results.append(("warn", msg, f"add `--group-add {da.gid}` to the run flags"))
            continue
        results.append(("ok", f"{path} ok", None))
    status = worst(r[0] for r in results)
    problems = [m for st, m, _f in results if st in ("warn", "fail")]
    fixes = list(dict.fromkeys(f for st, _m, f in results if f and st in ("warn", "fail")))
    if status == "ok":
        message = f"{len(results)} device node(s) present and openable"
    elif status == "skip":
        message = "device access not probed"
    else:
        message = "; ".join(problems)
    return [
        Check(
            "device-access",
            "device nodes for the GPUs",
            status,
            message,
            evidence,
            "; ".join(fixes) or None,
        )
    ]


def _image_version(
    ctx: _Context, names: list[str], decision_keys: tuple[str, ...]
) -> tuple[str, str] | None:
    found = ctx.arg(names)
    if found:
        return f"build arg {found[0]}", found[1]
    if ctx.plan:
        for d in ctx.plan.decisions:
            if d.key in decision_keys:
                m = re.search(r"\d+\.\d+(?:\.\d+)?", d.what)
                if m:
                    return f"plan decision {d.key}", m.group(0)
    return None


def cuda_driver_floor(cuda: str) -> tuple[str, str] | None:
    """(minimum driver, source) for a CUDA version, from the plan's `cuda.toml` when present."""
    try:
        doc = knowledge.load("cuda")
    except (FileNotFoundError, OSError):
        return None
    want = _version_tuple(cuda)
    if want is None:
        return None
    best: tuple[tuple[int, ...], str, str] | None = None
    for row in doc.get("toolkit", []):  # the one CUDA -> minimum driver table
        ver, drv = row.get("version"), row.get("min_driver")
        vt = _version_tuple(str(ver)) if ver is not None else None
        if vt is None or drv is None:
            continue
        if vt[:2] <= want[:2] and (best is None or vt > best[0]):
            best = (vt, str(drv), str(row.get("source", "cuda.toml")))
    return (best[1], best[2]) if best else None


def _check_driver(ctx: _Context) -> list[Check]:
    checks: list[Check] = []
    names = ctx.facts["arch_args"]
    if _nvidia_chosen(ctx):
        title = "NVIDIA driver new enough for the image's CUDA"
        found = _image_version(ctx, names["cuda_version"], ("cuda-version", "cuda"))
        driver = next((d for d in ctx.host.drivers if d.vendor == "nvidia"), None)
        if driver is None:
            checks.append(
                Check("driver", title, "fail", "no NVIDIA driver found", fix=_MISSING_FIX["nvidia"])
            )
        elif found is None:
            by_plan = [f"plan:{f.code}" for f in (ctx.plan.verdicts if ctx.plan else [])]
            by_plan = [c for c in by_plan if c.startswith("plan:driver")]
            msg = (
                f"the plan checked it: see {', '.join(by_plan)}"
                if by_plan
                else "the plan does not say which CUDA the image uses"
            )
            checks.append(Check("driver", title, "skip", msg))
        else:
            where, cuda = found
            ev = [
                f"image CUDA {cuda} ({where})",
                f"driver {driver.version} supports CUDA {driver.cuda_driver_version}",
            ]
            need = _version_tuple(cuda)
            have = _version_tuple(driver.cuda_driver_version)
            floor = cuda_driver_floor(cuda)
            fix = (
                f"upgrade the NVIDIA driver to one that supports CUDA {cuda}"
                + (f" (>= {floor[0]}, {floor[1]})" if floor else "")
                + f", or use an image built for CUDA <= {driver.cuda_driver_version or '?'}"
            )
            if need and have:
                if need[:2] <= have[:2]:
                    checks.append(
                        Check(
                            "driver",
                            title,
                            "ok",
                            f"driver supports CUDA {driver.cuda_driver_version} >= {cuda}",
                            ev,
                        )
                    )
                else:
                    checks.append(
                        Check(
                            "driver",
                            title,
                            "fail",
                            f"the image needs CUDA {cuda} but the driver supports only "
                            f"{driver.cuda_driver_version}: 'CUDA driver version is insufficient'",
                            ev,
                            fix,
                        )
                    )
            elif floor and _version_tuple(driver.version):
                have_v, floor_v = _version_tuple(driver.version), _version_tuple(floor[0])
                ok = bool(have_v and floor_v and have_v >= floor_v)
                status: Status = "ok" if ok else "fail"
                cmp = ">=" if ok else "<"
                msg = f"driver {driver.version} {cmp} {floor[0]} needed by CUDA {cuda}"
                checks.append(
                    Check("driver", title, status, msg, [*ev, floor[1]], None if ok else fix)
                )
            else:
                checks.append(
                    Check(
                        "driver",
                        title,
                        "skip",
                        "driver's CUDA version unknown and no driver-floor data",
                        ev,
                    )
                )
    amd = [a for a in ctx.chosen if a.vendor == "amd"] if ctx.platform == "rocm" else []
    if amd:
        title = "amdgpu driver for the image's ROCm"
        driver = next((d for d in ctx.host.drivers if d.vendor == "amd"), None)
        found = _image_version(ctx, names["rocm_version"], ("rocm-version", "rocm"))
        ev = [f"amdgpu {driver.version} ({driver.flavor})" if driver else "amdgpu version unknown"]
        if found:
            ev.append(f"image ROCm {found[1]} ({found[0]})")
        if not any(a.kernel_driver == "amdgpu" for a in amd):
            checks.append(
                Check(
                    "driver", title, "skip", "amdgpu is not bound to the chosen GPUs (see gpu)", ev
                )
            )
        else:
            from hwdock.plan.amdgpu import image_rocm_from_verdicts, rocm_driver_compat

            if not found and ctx.plan:  # the ROCm of the image the plan runs, as it found it
                for v in ctx.plan.verdicts:
                    planned = image_rocm_from_verdicts(v.evidence)
                    if v.code.startswith("rocm-driver") and planned:
                        found = ("plan", planned)
                        ev += [e for e in v.evidence if e.startswith("image ROCm")]
                        break
            got = rocm_driver_compat(driver.version if driver else None, found and found[1])
            ev += got.sources
            # outside AMD's supported window: warn (as the plan does; such pairs often run);
            # unknown (in-kernel amdgpu, a driver not in the table): skip, saying why
            status = {"ok": "ok", "driver-too-old": "warn", "driver-too-new": "warn"}.get(
                got.verdict, "skip"
            )
            checks.append(Check("driver", title, status, got.message, ev, got.fix))
    return checks


def _disk_for(ctx: _Context) -> tuple[int | None, str | None]:
    disks = ctx.host.disks
    root = ctx.engine.data_root if ctx.engine else None
    disk = next((d for d in disks if root and d.path == root), None) or next(
        (d for d in disks if d.path != "/dev/shm"), None
    )
    return (disk.free_bytes, disk.path) if disk else (None, None)


def _check_disk(ctx: _Context) -> list[Check]:
    title = "free disk for the images"
    if ctx.plan is None:
        return [Check("disk", title, "skip", "no plan: nothing to size")]
    facts = ctx.facts["disk"]
    sizes = {row["platform"]: row for row in facts["image"]}
    row = sizes.get(ctx.platform)
    if row is None:
        return [Check("disk", title, "skip", f"no size estimate for platform {ctx.platform}")]
    need = 0.0
    evidence = []
    for step in ctx.plan.steps:
        if step.action == "pull":
            gb = float(row["gb"])
        elif step.action == "build" and step.depends_on:
            gb = float(facts["layers_gb"])
        elif step.action == "build":
            gb = float(row["gb"]) * float(facts["build_factor"])
        else:
            continue
        need += gb
        evidence.append(f"{step.id} ({step.action} {step.image}): ~{gb:.0f} GB")
    evidence.append(f"{ctx.platform} image ~{row['gb']} GB: {row['note']} ({row['source']})")
    if need == 0:
        return [Check("disk", title, "ok", "the plan uses local images only", evidence)]
    free, path = _disk_for(ctx)
    if free is None:
        return [
            Check(
                "disk", title, "skip", f"free disk unknown; the plan needs ~{need:.0f} GB", evidence
            )
        ]
    need_b = need * 1e9
    margin_b = float(facts["margin_gb"]) * 1e9
    evidence.insert(0, f"{path}: {free / 1e9:.0f} GB free")
    short = (need_b + margin_b - free) / 1e9
    fix = f"free at least {short:.0f} GB on {path} (`docker system prune`, or move data-root)"
    if free < need_b:
        return [
            Check(
                "disk",
                title,
                "fail",
                f"~{need:.0f} GB needed, {free / 1e9:.0f} GB free on {path}",
                evidence,
                fix,
            )
        ]
    if free < need_b + margin_b:
        return [
            Check(
                "disk",
                title,
                "warn",
                f"~{need:.0f} GB needed leaves less than {facts['margin_gb']} GB free on {path}",
                evidence,
                fix,
            )
        ]
    return [
        Check(
            "disk",
            title,
            "ok",
            f"~{need:.0f} GB needed, {free / 1e9:.0f} GB free on {path}",
            evidence,
        )
    ]


def _check_build_memory(ctx: _Context) -> list[Check]:
    title = "memory for the build's parallel jobs"
    builds = [s for s in ctx.plan.steps if s.action == "build"] if ctx.plan else []
    if not builds:
        return [Check("build-memory", title, "skip", "nothing to build")]
    facts = ctx.facts["build_memory"]
    jobs_arg = ctx.arg(facts["job_args"])
    threads_arg = ctx.arg(facts["thread_args"])
    cores = ctx.host.cpu.logical_cores
    jobs = int(jobs_arg[1]) if jobs_arg and jobs_arg[1].isdigit() else cores
    threads = int(threads_arg[1]) if threads_arg and threads_arg[1].isdigit() else 1
    mem = ctx.host.cpu.memory_available_bytes or ctx.host.cpu.memory_total_bytes
    if jobs is None or mem is None:
        return [Check("build-memory", title, "skip", "cores or memory unknown")]
    per = float(facts["gb_per_job"]) * GIB
    need = jobs * threads * per
    source = "MAX_JOBS unset: one job per core" if jobs_arg is None else f"{jobs_arg[0]}={jobs}"
    evidence = [
        source,
        f"nvcc threads per job: {threads}",
        f"~{facts['gb_per_job']} GB per job ({facts['source']})",
        f"memory available: {_gb(mem)}",
    ]
    suggested = max(1, int(mem // (per * threads)))
    fix = f"build with --build-arg MAX_JOBS={suggested}" + (
        " and nvcc_threads=1" if threads > 1 else ""
    )
    if need > mem:
        return [
            Check(
                "build-memory",
                title,
                "fail",
                f"{jobs * threads} parallel compile jobs need ~{_gb(need)}, {_gb(mem)} available: "
                "the build would be OOM-killed ('Killed signal terminated program cc1plus')",
                evidence,
                fix,
            )
        ]
    return [
        Check(
            "build-memory",
            title,
            "ok",
            f"{jobs * threads} jobs need ~{_gb(need)} of {_gb(mem)}",
            evidence,
        )
    ]


def tensor_parallel_size(command: list[str]) -> int | None:
    for i, arg in enumerate(command):
        for flag in ("--tensor-parallel-size", "-tp"):
            if arg == flag and i + 1 < len(command) and command[i + 1].isdigit():
                return int(command[i + 1])
            if arg.startswith(flag + "=") and arg.split("=", 1)[1].isdigit():
                return int(arg.split("=", 1)[1])
    return None


def _check_shm(ctx: _Context) -> list[Check]:
    title = "shared memory (/dev/shm) for tensor parallelism"
    run = ctx.plan.run if ctx.plan else None
    if run is None:
        return [Check("shm", title, "skip", "no run flags in the plan")]
    facts = ctx.facts["shm"]
    tp = tensor_parallel_size(run.command) or max(1, len(ctx.chosen))
    need = int(facts["tensor_parallel_min_mb"]) * MIB
    evidence = [f"tensor parallel size {tp}", f"ipc={run.ipc} shm_size={run.shm_size}"]
    fix = "run with --ipc=host, or --shm-size=16g"
    if run.ipc == "host":
        host_shm = next((d for d in ctx.host.disks if d.path == "/dev/shm"), None)
        if host_shm and host_shm.total_bytes is not None and tp > 1 and host_shm.total_bytes < need:
            return [
                Check(
                    "shm",
                    title,
                    "fail",
                    "--ipc=host shares the host's /dev/shm, which is only "
                    f"{_gb(host_shm.total_bytes)}",
                    evidence,
                    "enlarge the host's /dev/shm (`sudo mount -o remount,size=16G /dev/shm`)",
                )
            ]
        return [
            Check(
                "shm", title, "ok", "--ipc=host: the container shares the host's /dev/shm", evidence
            )
        ]
    size = parse_size(run.shm_size) if run.shm_size else int(facts["default_mb"]) * MIB
    label = run.shm_size or f"engine default {facts['default_mb']} MB"
    if size is None:
        return [
            Check("shm", title, "warn", f"shm size {run.shm_size!r} cannot be read", evidence, fix)
        ]
    if tp > 1 and size < need:
        return [
            Check(
                "shm",
                title,
                "fail",
                f"{label} of /dev/shm is too small for tensor parallelism over {tp} GPUs: NCCL "
                "will fail with 'Error while creating shared memory segment'",
                [*evidence, facts["tensor_parallel_source"]],
                fix,
            )
        ]
    if not run.shm_size:
        return [
            Check(
                "shm",
                title,
                "warn",
                f"/dev/shm stays at the {label}",
                [*evidence, facts["default_source"]],
                fix,
            )
        ]
    return [Check("shm", title, "ok", f"/dev/shm {label}", evidence)]


def _check_igpu(ctx: _Context) -> list[Check]:
    title = "integrated GPU picked before the discrete one"
    discrete = [a for a in ctx.chosen if not a.integrated]
    if not discrete:
        return []
    vendors = {a.vendor for a in discrete}
    igpus = [a for a in ctx.host.accelerators if a.integrated and a.vendor in vendors and a.visible]
    if not igpus:
        return [Check("igpu-order", title, "ok", "no integrated GPU of the same vendor is visible")]
    run = ctx.plan.run if ctx.plan else None
    first = min(discrete, key=lambda a: a.kfd_node if a.kfd_node is not None else 1 << 30)
    evidence = [
        f"{a.key} {a.name or ''} render={a.render_node} kfd_node={a.kfd_node}".strip()
        for a in igpus
    ]
    before = [
        a
        for a in igpus
        if a.kfd_node is not None and first.kfd_node is not None and a.kfd_node < first.kfd_node
    ]
    if run is not None:
        passed = set()
        for d in run.devices:
            passed.add(d.split(":", 1)[0])
        whole_dri = "/dev/dri" in passed
        leaked = [a for a in igpus if whole_dri or (a.render_node and a.render_node in passed)]
        if not leaked:
            return [
                Check(
                    "igpu-order",
                    title,
                    "ok",
                    "the run flags pass only the chosen GPUs' render nodes",
                    evidence,
                )
            ]
        nodes = " ".join(f"--device {a.render_node}" for a in discrete if a.render_node)
        if "amd" in vendors:
            nodes += " with --device /dev/kfd"
        return [
            Check(
                "igpu-order",
                title,
                "fail" if before else "warn",
                "the container also gets the integrated GPU"
                + (", which ROCm enumerates first: device 0 would be the iGPU" if before else ""),
                evidence,
                f"pass only the discrete GPU's nodes ({nodes}) instead of /dev/dri",
            )
        ]
    if before:
        idx = sorted(a.kfd_node for a in ctx.host.accelerators if a.kfd_node is not None)
        visible = ",".join(str(idx.index(a.kfd_node)) for a in discrete if a.kfd_node in idx)
        return [
            Check(
                "igpu-order",
                title,
                "warn",
                "an integrated GPU comes before the discrete one in device order",
                evidence,
                f"pass only the discrete GPU's render node, or set ROCR_VISIBLE_DEVICES={visible}",
            )
        ]
    return [Check("igpu-order", title, "ok", "the discrete GPU comes first", evidence)]


def _check_hsa_override(ctx: _Context) -> list[Check]:
    title = "HSA_OVERRIDE_GFX_VERSION"
    amd = [a for a in ctx.chosen if a.vendor == "amd" and a.gfx_target]
    run = ctx.plan.run if ctx.plan else None
    value = (run.env.get("HSA_OVERRIDE_GFX_VERSION") if run else None) or ctx.host.env.get(
        "HSA_OVERRIDE_GFX_VERSION"
    )
    if not amd:
        return []
    if not value:
        return [Check("hsa-override", title, "ok", "not set")]
    target = arch.gfx_from_override(value)
    evidence = [f"HSA_OVERRIDE_GFX_VERSION={value}"]
    if target is not None and all(a.gfx_target == target for a in amd):
        return [
            Check("hsa-override", title, "ok", f"set to the GPU's own target {target}", evidence)
        ]
    if target is None:
        return [
            Check(
                "hsa-override",
                title,
                "fail",
                f"{value!r} is not a version like 11.0.0",
                evidence,
                "unset it or set it to MAJOR.MINOR.STEPPING",
            )
        ]
    evidence.append(
        f"pretends the GPU is {target}; native: "
        + ", ".join(sorted({a.gfx_target for a in amd if a.gfx_target}))
    )
    found = ctx.arch_list()
    if found is None:
        return [
            Check(
                "hsa-override",
                title,
                "warn",
                f"makes the GPU look like {target}; the image's arch list is unknown, so "
                f"hwdock cannot tell whether it has {target}",
                evidence,
            )
        ]
    name, items = found
    evidence.append(f"{name}={';'.join(items)}")
    if not arch.rocm_covers(items, target):
        return [
            Check(
                "hsa-override",
                title,
                "fail",
                f"set to {target}, which the image lacks ({name}): 'invalid device function'",
                evidence,
                f"unset HSA_OVERRIDE_GFX_VERSION, or build with {target} in {name}",
            )
        ]
    if all(arch.rocm_covers(items, a.gfx_target or "") for a in amd):
        return [
            Check(
                "hsa-override",
                title,
                "warn",
                "set, but the image already has the GPU's own target",
                evidence,
                "unset HSA_OVERRIDE_GFX_VERSION",
            )
        ]
    return [Check("hsa-override", title, "ok", f"the image has {target}", evidence)]


def _check_visible(ctx: _Context) -> list[Check]:
    title = "visible-device variables"
    run = ctx.plan.run if ctx.plan else None
    env = {k: v for k, v in ctx.host.env.items() if k in VISIBLE_VARS}
    if run:
        env.update({k: v for k, v in run.env.items() if k in VISIBLE_VARS})
    if not ctx.chosen:
        return []
    evidence = [f"{k}={v!r}" for k, v in env.items()]
    hidden = [a for a in ctx.chosen if not a.visible]
    blank = [k for k, v in env.items() if v.strip() in ("", "-1", "none", "NoDevFiles")]
    if hidden or blank:
        what = ", ".join(a.key for a in hidden) or "every GPU"
        # without a plan nobody chose these GPUs: hiding some may be on purpose
        status: Status = "fail" if ctx.plan is not None or blank else "warn"
        return [
            Check(
                "visible-devices",
                title,
                status,
                f"{', '.join(env) or 'a visible-device variable'} hides {what}",
                evidence,
                "unset " + " ".join(env) if env else "unset the visible-device variables",
            )
        ]
    if env:
        return [
            Check("visible-devices", title, "ok", "set, and the chosen GPUs stay visible", evidence)
        ]
    return [Check("visible-devices", title, "ok", "none set")]


def _check_plan_verdicts(ctx: _Context) -> list[Check]:
    if ctx.plan is None:
        return []
    status_of: dict[str, Status] = {"error": "fail", "warning": "warn", "info": "ok"}
    return [
        Check(
            f"plan:{f.code}",
            "plan verdict",
            status_of.get(f.severity, "warn"),
            f.message,
            list(f.evidence),
            f.fix,
        )
        for f in ctx.plan.verdicts
    ]


_CHECKS: tuple[Callable[[_Context], list[Check]], ...] = (
    _check_engine,
    _check_buildkit,
    _check_gpu_present,
    _check_nvidia_runtime,
    _check_device_access,
    _check_driver,
    _check_disk,
    _check_build_memory,
    _check_shm,
    _check_igpu,
    _check_hsa_override,
    _check_visible,
    _check_plan_verdicts,
)
