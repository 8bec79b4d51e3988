"""`hwdock verify IMAGE`: prove inside the container that the GPU works.

The container runs with the plan's run flags (a `RunSpec`) and our check script
(`verify_check.sh`, with `verify_check.py` for the image's own Python) instead of its
entrypoint. The script prints JSON lines; `evaluate()` turns them, the image's ENV and the
host report into checks. Everything here is pure except `run_verify`, which goes through a
`ContainerRunner` (the engine API, or a small docker/podman CLI runner until it is there).
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol

from hwdock.doctor import arch, known_errors
from hwdock.doctor.checks import chosen_accelerators, worst
from hwdock.doctor.model import Check, Status
from hwdock.plan.facts import jetson_container, jetson_host
from hwdock.plan.model import Plan, RunSpec
from hwdock.probe.model import Accelerator, HostReport

ARCH_ENV = ("PYTORCH_ROCM_ARCH", "TORCH_CUDA_ARCH_LIST")
RECORD_KINDS = {
    "start", "device", "env", "python", "python-exit", "torch", "arch-list",
    "arch-list-error", "gpu", "kernel", "serve", "end",
}  # fmt: skip


class ContainerRunner(Protocol):
    """What verify needs from an engine (`hwdock.engine` objects have these)."""

    name: str

    def image_inspect(self, ref: str) -> dict[str, Any] | None: ...

    def run(
        self,
        spec: RunSpec,
        command: list[str] | None = None,
        *,
        timeout: float | None = None,
        entrypoint: str | None = None,
    ) -> subprocess.CompletedProcess[str]: ...


def check_script() -> str:
    """The sh script with the Python part embedded (as a quoted here-document)."""
    pkg = resources.files(__package__)
    sh = pkg.joinpath("verify_check.sh").read_text("utf-8")
    py = pkg.joinpath("verify_check.py").read_text("utf-8")
    return sh.replace("@HWDOCK_PYTHON_PART@", py.rstrip("\n"))


# ---------------------------------------------------------------- the run spec


def container_path(device: str) -> str:
    """'/tmp/fake:/dev/kfd' -> '/dev/kfd'; '/dev/kfd' -> '/dev/kfd'; drops ':rwm' perms."""
    parts = device.split(":")
    if len(parts) >= 2 and parts[1].startswith("/"):
        return parts[1]
    return parts[0]


def host_path(device: str) -> str:
    return device.split(":", 1)[0]


def default_run_spec(host: HostReport, chosen: list[Accelerator], image: str) -> RunSpec:
    """The least device access the chosen GPUs need, when no plan says otherwise: as the plan
    decides it (CDI when a spec covers all GPUs; Jetson: the `nvidia` runtime; else `--gpus`)."""
    spec = RunSpec(image=image)
    amd = [a for a in chosen if a.vendor == "amd"]
    nvidia = [a for a in chosen if a.vendor == "nvidia"]
    if amd:
        spec.devices = ["/dev/kfd", *(a.render_node for a in amd if a.render_node)]
    if nvidia and host.wsl:
        spec.devices.append("/dev/dxg")
    elif nvidia:
        specs = {d for s in host.container.cdi_specs for d in s.devices}
        if "nvidia.com/gpu=all" in specs and len(nvidia) == len(
            [a for a in host.accelerators if a.vendor == "nvidia"]
        ):
            spec.cdi_devices = ["nvidia.com/gpu=all"]
        elif jetson_host(host, nvidia):
            # CSV mode refuses --gpus: the nvidia runtime, acting on NVIDIA_VISIBLE_DEVICES
            jc = jetson_container()
            spec.runtime = jc["runtime"]
            spec.env[jc["env_name"]] = jc["env_value"]
        else:
            spec.gpus = "all"
    gids = []
    for path in spec.devices:
        da = next((d for d in host.device_access if d.path == path), None)
        if da is not None and da.gid not in (None, 0) and da.gid not in gids:
            gids.append(da.gid)
    spec.group_add = gids
    return spec


@dataclass
class VerifyRequest:
    spec: RunSpec  # the run flags under test (plan's, or derived)
    expected_devices: list[str]  # paths expected inside the container
    missing_on_host: list[str]  # device nodes the spec wanted that this host lacks
    serve_command: list[str] = field(default_factory=list)  # argv of the server, for --serve
    serve_port: int | None = None
    health_path: str = "/health"
    entrypoint: str = "/bin/sh"  # replaces the image's ENTRYPOINT with our check script
    skipped_mounts: list[str] = field(default_factory=list)  # bind sources this host lacks


def prepare(
    image: str,
    spec: RunSpec,
    *,
    extra_devices: Sequence[str] = (),
    exists: Callable[[str], bool],
    serve: bool = False,
    port: int = 8000,
    image_config: dict[str, Any] | None = None,
) -> VerifyRequest:
    """The run spec verify uses: the given flags, minus device nodes this host lacks."""
    devices: list[str] = []
    missing: list[str] = []
    extra = list(extra_devices)
    explicit = {container_path(d) for d in extra}
    for d in [*spec.devices, *extra]:
        if container_path(d) in explicit and d not in extra:
            continue  # an explicit --device replaces the plan's node for that path
        if exists(host_path(d)):
            devices.append(d)
        else:
            missing.append(host_path(d))
    expected = [container_path(d) for d in devices]
    mounts = [m for m in spec.mounts if m.kind != "bind" or exists(m.source)]
    skipped = [m.source for m in spec.mounts if m not in mounts]
    new = dataclasses.replace(
        spec, image=image, name=None, devices=devices, ports=[], mounts=mounts
    )
    serve_cmd: list[str] = []
    if serve:
        config = image_config or {}
        entry = list(config.get("Entrypoint") or [])
        args = list(spec.command) if spec.command else list(config.get("Cmd") or [])
        serve_cmd = entry + args
    new.env = dict(spec.env)
    new.env["HWDOCK_DEVICES"] = " ".join(expected)
    if serve:
        new.env["HWDOCK_SERVE_PORT"] = str(port)
        new.env["HWDOCK_HEALTH_PATH"] = spec.health_path or "/health"
    return VerifyRequest(
        spec=new,
        expected_devices=expected,
        missing_on_host=missing,
        serve_command=serve_cmd,
        serve_port=port if serve else None,
        health_path=spec.health_path or "/health",
        skipped_mounts=skipped,
    )


def command_for(req: VerifyRequest) -> list[str]:
    """Arguments after the image: `sh -c SCRIPT hwdock-verify [server argv...]`."""
    return ["-c", check_script(), "hwdock-verify", *req.serve_command]


# ---------------------------------------------------------------- output


def parse_output(stdout: str) -> tuple[list[dict[str, Any]], list[str]]:
    """JSON records the script printed, and every other line (log text)."""
    records: list[dict[str, Any]] = []
    raw: list[str] = []
    for line in stdout.splitlines():
        s = line.strip()
        if s.startswith("{"):
            try:
                doc = json.loads(s)
            except json.JSONDecodeError:
                doc = None
            if isinstance(doc, dict) and doc.get("check") in RECORD_KINDS:
                records.append(doc)
                continue
        if s:
            raw.append(line)
    return records, raw


def image_env(inspect: dict[str, Any] | None) -> dict[str, str]:
    """The image's ENV, plus its hwdock labels (`dev.hwdock.*`, names no variable can have)."""
    from hwdock import label_names

    config = (inspect or {}).get("Config") or {}
    env: dict[str, str] = {}
    for item in config.get("Env") or []:
        key, _, value = str(item).partition("=")
        env[key] = value
    for key, value in (config.get("Labels") or {}).items():
        if str(key).startswith(label_names.NAMESPACE):
            env[str(key)] = str(value)
    return env


def _first(records: list[dict[str, Any]], kind: str) -> dict[str, Any] | None:
    return next((r for r in records if r.get("check") == kind), None)


def target_of(acc: Accelerator, env: dict[str, str]) -> tuple[str | None, str | None]:
    """(gfx target, compute capability) the runtime will see for this GPU."""
    if acc.vendor == "amd":
        override = arch.gfx_from_override(env.get("HSA_OVERRIDE_GFX_VERSION"))
        return override or acc.gfx_target, None
    if acc.vendor == "nvidia":
        return None, acc.compute_capability
    return None, None


def evaluate(
    records: list[dict[str, Any]],
    raw: list[str],
    *,
    host: HostReport,
    plan: Plan | None,
    req: VerifyRequest,
    image_environment: dict[str, str],
    returncode: int,
    stderr: str = "",
    serve: bool = False,
    chosen: list[Accelerator] | None = None,
) -> list[Check]:
    """Checks from what the script printed. Pure. `chosen` defaults to the plan's GPUs."""
    checks: list[Check] = []
    start = _first(records, "start")
    log_matches = known_errors.match_text("\n".join([*raw, stderr]))
    if start is None:
        detail = (stderr.strip().splitlines() or ["no output"])[-1]
        fix = log_matches[0].fix if log_matches else "run `hwdock doctor` for this host and plan"
        checks.append(
            Check(
                "container",
                "container starts",
                "fail",
                f"the container did not run the check (exit {returncode}): {detail}",
                [stderr.strip()[-1000:]] if stderr.strip() else [],
                fix,
            )
        )
        checks += _log_checks(log_matches)
        return checks
    checks.append(
        Check(
            "container",
            "container starts",
            "ok",
            f"ran as uid {start.get('uid')}",
            [f"groups: {start.get('gids')}"],
        )
    )
    checks += _device_checks(records, req, start)
    if req.skipped_mounts:
        checks.append(
            Check(
                "mounts",
                "the plan's mounts",
                "warn",
                "left out bind mount(s) whose source is missing here: "
                + ", ".join(req.skipped_mounts),
                fix="create them or pass the right --model path to the plan",
            )
        )
    if chosen is None:
        chosen = chosen_accelerators(host, plan)
    checks += _framework_checks(records, chosen, image_environment, req)
    if serve:
        checks.append(_serve_check(records, req))
    crashed = _first(records, "python-exit")
    if crashed is not None:
        code = int(crashed.get("code", 0))
        sig = _SIGNALS.get(code - 128, "") if code > 128 else ""
        checks.append(
            Check(
                "python-crash",
                "the image's Python runs",
                "fail",
                f"the image's Python stopped with exit {code}" + (f" ({sig})" if sig else ""),
                raw[-5:],
                "see the log lines; `hwdock explain-error` explains known ones",
            )
        )
    if _first(records, "end") is None:
        checks.append(
            Check(
                "finished",
                "the check ran to the end",
                "fail",
                f"the check script stopped early (exit {returncode})",
                [*raw[-5:], *stderr.strip().splitlines()[-3:]],
                "raise --timeout if it timed out; otherwise see the log lines",
            )
        )
    checks += _log_checks(log_matches)
    return checks


_SIGNALS = {
    4: "SIGILL: illegal instruction",
    6: "SIGABRT",
    9: "SIGKILL: out of memory?",
    11: "SIGSEGV",
}


def _device_checks(
    records: list[dict[str, Any]], req: VerifyRequest, start: dict[str, Any]
) -> list[Check]:
    checks = []
    for path in req.missing_on_host:
        checks.append(
            Check(
                f"device:{path}",
                f"{path} in the container",
                "fail",
                f"{path} does not exist on this host, so it could not be passed in",
                fix="check `hwdock doctor` (driver loaded? right GPU chosen?)",
            )
        )
    seen = {r.get("path"): r for r in records if r.get("check") == "device"}
    for path in req.expected_devices:
        r = seen.get(path)
        cid, title = f"device:{path}", f"{path} in the container"
        if r is None:
            checks.append(Check(cid, title, "fail", "the check script did not report it"))
        elif not r.get("exists"):
            checks.append(
                Check(
                    cid,
                    title,
                    "fail",
                    f"{path} is missing in the container",
                    fix=f"pass --device {path}",
                )
            )
        elif not r.get("char"):
            checks.append(
                Check(cid, title, "fail", f"{path} is not a character device in the container")
            )
        elif not (r.get("readable") and r.get("writable")):
            gids = " ".join(str(g) for g in req.spec.group_add)
            checks.append(
                Check(
                    cid,
                    title,
                    "fail",
                    f"{path} is there but the container user (uid {start.get('uid')}, groups "
                    f"{start.get('gids')}) cannot open it",
                    fix=f"add --group-add for the device's group ({gids or 'its gid'})",
                )
            )
        else:
            checks.append(Check(cid, title, "ok", f"{path} present, readable and writable"))
    if req.spec.group_add:
        have = set(str(start.get("gids", "")).split())
        missing = [g for g in req.spec.group_add if str(g) not in have]
        status = "warn" if missing else "ok"
        msg = f"groups {missing} missing in the container" if missing else "device groups added"
        checks.append(
            Check("groups", "device groups", status, msg, [f"groups: {start.get('gids')}"])
        )
    return checks


def _framework_checks(
    records: list[dict[str, Any]],
    chosen: list[Accelerator],
    image_environment: dict[str, str],
    req: VerifyRequest,
) -> list[Check]:
    checks: list[Check] = []
    env_records = {r["name"]: r.get("value", "") for r in records if r.get("check") == "env"}
    env = {**image_environment, **env_records, **req.spec.env}
    python = _first(records, "python")
    torch = _first(records, "torch")
    gpu = _first(records, "gpu")
    kernel = _first(records, "kernel")
    blocked: str | None = None
    if python is None or not python.get("found"):
        blocked = "no python in image"
        checks.append(Check("python", "Python in the image", "skip", blocked))
    else:
        checks.append(Check("python", "Python in the image", "ok", str(python.get("path"))))
        if torch is None or not torch.get("found"):
            blocked = "no torch in image"
            ev = [str(torch.get("error"))] if torch and torch.get("error") else []
            checks.append(Check("torch", "PyTorch in the image", "skip", blocked, ev))
        else:
            flavor = f"HIP {torch.get('hip')}" if torch.get("hip") else f"CUDA {torch.get('cuda')}"
            checks.append(
                Check(
                    "torch",
                    "PyTorch in the image",
                    "ok",
                    f"torch {torch.get('version')} ({flavor})",
                )
            )
    # GPU visible to the framework
    if blocked:
        checks.append(
            Check(
                "gpu-visible", "GPU visible to the framework", "skip", f"could not check: {blocked}"
            )
        )
    elif gpu is None or not gpu.get("count"):
        err = (gpu or {}).get("error")
        where = "no GPU on this host" if not chosen else "the container got no usable GPU"
        checks.append(
            Check(
                "gpu-visible",
                "GPU visible to the framework",
                "fail",
                f"torch sees no GPU ({where})",
                [str(err)] if err else [],
                "start the container with the plan's device flags; `hwdock doctor` checks them"
                if chosen
                else "run verify on a host with the GPU the image is for",
            )
        )
    else:
        devs = gpu.get("devices") or []
        names = [f"{d.get('name')} ({d.get('gcn_arch') or d.get('capability')})" for d in devs]
        mismatch = _platform_mismatch(torch or {}, chosen)
        if mismatch:
            checks.append(
                Check("gpu-visible", "GPU visible to the framework", "fail", mismatch, names)
            )
        else:
            checks.append(
                Check(
                    "gpu-visible",
                    "GPU visible to the framework",
                    "ok",
                    f"{gpu.get('count')} GPU(s)",
                    names,
                )
            )
    checks.append(_arch_check(records, chosen, env, image_environment, gpu))
    # kernel
    if blocked:
        checks.append(Check("kernel", "a tiny kernel runs", "skip", f"could not check: {blocked}"))
    elif kernel is None:
        checks.append(
            Check("kernel", "a tiny kernel runs", "skip", "no GPU visible, nothing to run on")
        )
    elif kernel.get("ok"):
        checks.append(
            Check("kernel", "a tiny kernel runs", "ok", "sum(2·arange(1024)) computed on the GPU")
        )
    else:
        err = str(kernel.get("error") or f"wrong result {kernel.get('value')}")
        matches = known_errors.match_text(err)
        fix = matches[0].fix if matches else None
        checks.append(
            Check("kernel", "a tiny kernel runs", "fail", err, [m.source for m in matches], fix)
        )
    return checks


def _platform_mismatch(torch: dict[str, Any], chosen: list[Accelerator]) -> str | None:
    vendors = {a.vendor for a in chosen}
    if torch.get("hip") and vendors == {"nvidia"}:
        return "the image's torch is built for ROCm (HIP) but the chosen GPU is NVIDIA"
    if torch.get("cuda") and not torch.get("hip") and vendors == {"amd"}:
        return "the image's torch is built for CUDA but the chosen GPU is AMD"
    return None


def _arch_check(
    records: list[dict[str, Any]],
    chosen: list[Accelerator],
    env: dict[str, str],
    image_environment: dict[str, str],
    gpu: dict[str, Any] | None,
) -> Check:
    title = "image's arch list covers the GPU"
    targets: list[tuple[str, str | None, str | None]] = []  # (label, gfx, cc)
    for a in chosen:
        gfx, cc = target_of(a, env)
        if gfx or cc:
            targets.append((a.key, gfx, cc))
    if not targets and gpu:
        for d in gpu.get("devices") or []:
            gfx = arch.normalize_gfx(str(d.get("gcn_arch") or ""))
            targets.append((str(d.get("name")), gfx, None if gfx else d.get("capability")))
    lists: list[tuple[str, list[str]]] = []
    arch_rec = _first(records, "arch-list")
    if arch_rec and arch_rec.get("items"):
        lists.append(("torch.cuda.get_arch_list()", [str(i) for i in arch_rec["items"]]))
    for name in ARCH_ENV:
        value = image_environment.get(name) or env.get(name)
        if value:
            lists.append((f"image ENV {name}", arch.split_list(value)))
    from hwdock import label_names

    labelled = image_environment.get(label_names.ARCH)
    if labelled and not any(n.startswith("image ENV") for n, _ in lists):
        lists.append((f"image label {label_names.ARCH}", arch.split_list(labelled)))
    if not targets:
        return Check(
            "arch-coverage",
            title,
            "skip",
            "no GPU target known (no GPU on this host)",
            [f"{n}: {' '.join(i)}" for n, i in lists],
        )
    if not lists:
        return Check(
            "arch-coverage", title, "skip", "the image declares no arch list (ENV or torch)"
        )
    results: list[tuple[Status, str]] = []
    evidence = [f"{n}: {' '.join(i)}" for n, i in lists]
    for label, gfx, cc in targets:
        target = gfx or cc or "?"
        for name, items in lists:
            verdict = arch.covers(items, gfx=gfx, capability=cc)
            if verdict is False:
                results.append(("fail", f"{target} ({label}) not covered by {name}"))
            elif verdict is True:
                results.append(("ok", f"{target} covered by {name}"))
    if not results:
        return Check(
            "arch-coverage",
            title,
            "skip",
            "the arch lists name no target of this GPU's vendor",
            evidence,
        )
    status = worst(s for s, _m in results)
    fails = [m for s, m in results if s == "fail"]
    if fails:
        first = targets[0]
        arg = "PYTORCH_ROCM_ARCH" if first[1] else "TORCH_CUDA_ARCH_LIST"
        return Check(
            "arch-coverage",
            title,
            "fail",
            "; ".join(fails)
            + ": kernels will fail with 'invalid device function' / 'no kernel image'",
            evidence,
            f"rebuild with {first[1] or first[2]} in {arg} (`hwdock plan` narrows it to this GPU)",
        )
    return Check("arch-coverage", title, status, "; ".join(m for _s, m in results), evidence)


def _serve_check(records: list[dict[str, Any]], req: VerifyRequest) -> Check:
    title = f"server answers {req.health_path} on port {req.serve_port}"
    rec = _first(records, "serve")
    if not req.serve_command:
        return Check(
            "serve",
            title,
            "skip",
            "no server command (image has no entrypoint/cmd and the plan none)",
        )
    if rec is None:
        return Check("serve", title, "fail", "the check script did not get to start the server")
    status = rec.get("status")
    secs = rec.get("seconds")
    if status == "ok":
        return Check("serve", title, "ok", f"healthy after {secs}s", [" ".join(req.serve_command)])
    if status == "no-client":
        return Check(
            "serve", title, "skip", "no curl, wget or python in the image to ask the server"
        )
    what = "exited" if status == "exited" else f"did not answer within {secs}s"
    return Check(
        "serve",
        title,
        "fail",
        f"the server {what}",
        [" ".join(req.serve_command)],
        "see the log lines below; `hwdock explain-error` explains known ones",
    )


def _log_checks(matches: list[known_errors.ErrorMatch]) -> list[Check]:
    return [
        Check(
            f"log:{m.id}", m.title, "fail", m.cause, [f"line {m.line}: {m.text}", m.source], m.fix
        )
        for m in matches
    ]


# ---------------------------------------------------------------- effects


def run_verify(
    runner: ContainerRunner, req: VerifyRequest, *, timeout: float
) -> subprocess.CompletedProcess[str]:
    return runner.run(req.spec, command_for(req), timeout=timeout, entrypoint=req.entrypoint)
