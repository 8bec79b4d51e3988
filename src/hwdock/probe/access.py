"""Whether this user can open the GPU device nodes, and which GPUs the *_VISIBLE_DEVICES
variables hide."""

from __future__ import annotations

from hwdock.probe.context import Context, User
from hwdock.probe.model import Accelerator, DeviceAccess
from hwdock.probe.root import DeviceNode

VISIBLE_VARS = ("CUDA_VISIBLE_DEVICES", "ROCR_VISIBLE_DEVICES", "HIP_VISIBLE_DEVICES")
ENV_KEPT = (
    *VISIBLE_VARS,
    "HSA_OVERRIDE_GFX_VERSION",
    "CUDA_DEVICE_ORDER",
    "GPU_DEVICE_ORDINAL",
    "DOCKER_HOST",
    "CONTAINER_HOST",
    "DOCKER_BUILDKIT",
)


def can(node: DeviceNode, user: User, bit: int) -> bool:
    """Permission check from the mode bits (bit 4 = read, 2 = write), as the kernel does."""
    if user.uid == 0:
        return True
    if node.uid is not None and node.uid == user.uid:
        return bool(node.mode & (bit << 6))
    if node.gid is not None and (node.gid == user.gid or node.gid in user.groups):
        return bool(node.mode & (bit << 3))
    return bool(node.mode & bit)


def _candidates(ctx: Context) -> list[str]:
    paths: list[str] = []
    accs = ctx.devices.all()
    if any(a.vendor == "amd" for a in accs) or ctx.root.device("/dev/kfd"):
        paths.append("/dev/kfd")
    for a in accs:
        paths.extend(a.device_nodes)
        if a.render_node:
            paths.append(a.render_node)
    for name in ctx.root.device_names("/dev/dri"):
        if name.startswith("renderD"):
            paths.append(f"/dev/dri/{name}")
    for name in ctx.root.device_names("/dev"):
        if name.startswith("nvidia") or name == "dxg":
            paths.append(f"/dev/{name}")
    seen: dict[str, None] = {}
    for p in paths:
        seen.setdefault(p, None)
    return list(seen)


def collect(ctx: Context) -> None:
    if not ctx.root.devices_known:
        return
    for path in _candidates(ctx):
        node = ctx.root.device(path)
        if node is None:
            ctx.report.device_access.append(DeviceAccess(path=path, exists=False))
            if path == "/dev/kfd" and ctx.devices.of("amd"):
                ctx.warn(
                    "kfd-missing",
                    "/dev/kfd does not exist: ROCm cannot reach the AMD GPUs",
                    fix="sudo modprobe amdgpu (a kernel with KFD), or install amdgpu-dkms",
                    evidence=[path],
                )
            continue
        access = DeviceAccess(
            path=path,
            exists=True,
            readable=node.readable if node.readable is not None else can(node, ctx.user, 4),
            writable=node.writable if node.writable is not None else can(node, ctx.user, 2),
            group=node.group,
            gid=node.gid,
            mode=f"{node.mode:04o}",
        )
        ctx.report.device_access.append(access)
        if not (access.readable and access.writable):
            _advise(ctx, access)


def _advise(ctx: Context, a: DeviceAccess) -> None:
    group = a.group or (str(a.gid) if a.gid is not None else None)
    what = "writable" if not a.writable else "readable"
    if a.path == "/dev/kfd":
        code = "kfd-not-writable"
    elif a.path.startswith("/dev/dri/"):
        code = "render-node-not-writable"
    elif a.path.startswith("/dev/nvidia"):
        code = "nvidia-device-not-writable"
    else:
        code = "device-not-accessible"
    if group and (a.mode is None or int(a.mode, 8) & 0o060):
        fix = f"sudo usermod -aG {group} $USER, then log in again"
        hint = f": add yourself to group {group} ({fix})"
    else:
        fix = f"sudo chmod g+rw {a.path}, or a udev rule that grants a group access"
        hint = f" (mode {a.mode}): {fix}"
    ctx.warn(
        code,
        f"{a.path} not {what} by uid {ctx.user.uid}{hint}",
        fix=fix,
        evidence=[
            f"{a.path} mode {a.mode} gid {a.gid} ({a.group})",
            f"user groups {ctx.user.groups}",
        ],
    )


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _hide(
    accs: list[Accelerator], value: str, var: str, *, uuids: bool
) -> list[Accelerator] | None:
    """The accelerators (in enumeration order) that `value` leaves visible; None: unknowable
    (MIG instance UUIDs name slices, not GPUs)."""
    items = _split(value)
    if any(i.upper().startswith("MIG-") for i in items):
        return None
    if not items or items[0] in ("-1", "NoDevFiles", "none"):
        return []
    kept: list[Accelerator] = []
    for item in items:
        if item.isdigit():
            i = int(item)
            if i < len(accs):
                kept.append(accs[i])
            else:
                break  # CUDA stops at the first invalid ordinal
        elif uuids:
            match = [a for a in accs if a.uuid and a.uuid.lower().startswith(item.lower())]
            if not match and not item.upper().startswith(("GPU-", "MIG-")):
                break
            kept.extend(match[:1])
        else:
            break
    return kept


def visibility(ctx: Context) -> None:
    env = ctx.env
    for var in ENV_KEPT:
        if var in env:
            ctx.report.env[var] = env[var]
    nvidia = sorted((a for a in ctx.devices.of("nvidia")), key=lambda a: a.pci_address or "")
    amd = sorted(
        (a for a in ctx.devices.of("amd") if a.kfd_node is not None),
        key=lambda a: a.kfd_node if a.kfd_node is not None else 0,
    )
    plans: list[tuple[str, list[Accelerator], bool]] = [
        ("CUDA_VISIBLE_DEVICES", nvidia, True),
        ("ROCR_VISIBLE_DEVICES", amd, True),
    ]
    for var, accs, uuids in plans:
        if var in env and accs:
            _apply(ctx, var, accs, _hide(accs, env[var], var, uuids=uuids))
    if "HIP_VISIBLE_DEVICES" in env and amd:
        still = [a for a in amd if a.visible]
        kept = _hide(still, env["HIP_VISIBLE_DEVICES"], "HIP_VISIBLE_DEVICES", uuids=False)
        _apply(ctx, "HIP_VISIBLE_DEVICES", still, kept)


def _apply(ctx: Context, var: str, accs: list[Accelerator], kept: list[Accelerator] | None) -> None:
    if kept is None:
        ctx.warn(
            "devices-hidden-unknown",
            f"{var}={ctx.env[var]!r} names MIG instances; which GPUs they belong to is not "
            "known here, so every GPU is reported visible",
            severity="info",
            evidence=[f"{var}={ctx.env[var]}"],
        )
        return
    hidden = [a for a in accs if a not in kept]
    for a in hidden:
        a.visible = False
        a.sources["visible"] = f"env:{var}"
    if hidden:
        order = (
            " (CUDA orders by PCI bus only with CUDA_DEVICE_ORDER=PCI_BUS_ID)"
            if (var == "CUDA_VISIBLE_DEVICES" and ctx.env.get("CUDA_DEVICE_ORDER") != "PCI_BUS_ID")
            else ""
        )
        ctx.warn(
            "devices-hidden-by-env",
            f"{var}={ctx.env[var]!r} hides {len(hidden)} of {len(accs)} GPUs: "
            f"{', '.join(a.pci_address or a.key for a in hidden)}{order}",
            severity="info",
            fix=f"unset {var} to use every GPU",
            evidence=[f"{var}={ctx.env[var]}"],
        )
