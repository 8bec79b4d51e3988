"""Decision 1: which accelerator(s) the image is for, and so the platform."""

from __future__ import annotations

from dataclasses import dataclass, field

from hwdock.errors import UsageError
from hwdock.plan.model import Decision
from hwdock.probe.model import Accelerator, HostReport

VENDOR_PLATFORM = {"amd": "rocm", "nvidia": "cuda", "intel": "xpu"}
PLATFORMS = ("cuda", "rocm", "cpu", "xpu")


@dataclass
class PlatformChoice:
    platform: str
    chosen: list[Accelerator] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)


def describe(acc: Accelerator) -> str:
    arch = acc.gfx_target or (f"CC {acc.compute_capability}" if acc.compute_capability else "")
    where = acc.pci_address or "no PCI address"
    return f"{acc.name or acc.vendor} ({arch or 'arch unknown'}, {where})".replace(" ()", "")


def _gpu_candidates(host: HostReport) -> list[Accelerator]:
    return [a for a in host.accelerators if a.vendor in VENDOR_PLATFORM and a.visible]


def _match(selector: str, accs: list[Accelerator]) -> list[Accelerator]:
    sel = selector.strip().lower()
    if sel.isdigit():
        idx = int(sel)
        return [accs[idx]] if idx < len(accs) else []
    return [
        a
        for a in accs
        if (a.pci_address and (a.pci_address.lower() == sel or a.pci_address.lower().endswith(sel)))
        or (a.uuid and a.uuid.lower() == sel)
        or a.key.lower() == sel
        or (a.gfx_target and a.gfx_target.lower() == sel)
    ]


def decide_platform(host: HostReport, platform: str | None, gpu: list[str]) -> PlatformChoice:
    accs = _gpu_candidates(host)
    listing = ", ".join(f"[{i}] {describe(a)}" for i, a in enumerate(accs)) or "none"
    if platform is not None and platform not in PLATFORMS:
        raise UsageError(
            f"unknown platform {platform!r}", hint=f"use one of: {', '.join(PLATFORMS)}"
        )

    if gpu:
        chosen: list[Accelerator] = []
        for sel in gpu:
            found = _match(sel, accs)
            if not found:
                raise UsageError(
                    f"--gpu {sel!r} matches no accelerator of this host",
                    hint=f"accelerators: {listing}",
                )
            chosen.extend(a for a in found if a not in chosen)
        vendors = {a.vendor for a in chosen}
        if len(vendors) > 1:
            raise UsageError(
                "--gpu picks accelerators of different vendors; one image cannot serve both",
                hint=f"pick GPUs of one vendor: {listing}",
            )
        plat = VENDOR_PLATFORM[chosen[0].vendor]
        if platform is not None and platform != plat:
            raise UsageError(f"--platform {platform} does not fit --gpu (they are {plat} devices)")
        return PlatformChoice(
            plat,
            chosen,
            [
                Decision(
                    "platform",
                    f"{plat} for {len(chosen)} GPU(s) chosen with --gpu",
                    "you named the GPUs",
                    [describe(a) for a in chosen],
                )
            ],
        )

    if platform == "cpu":
        return PlatformChoice(
            "cpu", [], [Decision("platform", "cpu", "--platform cpu was given", [])]
        )

    hidden = [a for a in host.accelerators if a.vendor in VENDOR_PLATFORM and not a.visible]
    if hidden:
        names = ", ".join(f"{k}={v}" for k, v in host.env.items() if k.endswith("VISIBLE_DEVICES"))
        decisions_hidden = [
            Decision(
                "hidden-gpus",
                f"leave out {len(hidden)} GPU(s) hidden by the visible-devices variables",
                "they were hidden when the host was probed; unset the variable to plan for them",
                [names or "visible=false in the host report", *(describe(a) for a in hidden)],
            )
        ]
    else:
        decisions_hidden = []
    discrete = [a for a in accs if not a.integrated]
    integrated = [a for a in accs if a.integrated]
    pool = discrete or integrated
    evidence = [describe(a) for a in accs]
    decisions: list[Decision] = list(decisions_hidden)
    if discrete and integrated:
        decisions.append(
            Decision(
                "integrated-gpu",
                f"leave out {len(integrated)} integrated GPU(s)",
                "an integrated GPU shares system memory and is much slower; "
                "the discrete GPU is the one to serve models on",
                [describe(a) for a in integrated],
            )
        )
    if platform is not None:
        want = [a for a in pool if VENDOR_PLATFORM[a.vendor] == platform]
        if not want and platform != "cpu":
            want = [a for a in accs if VENDOR_PLATFORM[a.vendor] == platform]
        if not want:
            raise UsageError(
                f"--platform {platform}, but this host has no such accelerator",
                hint=f"accelerators: {listing}; use --platform cpu to plan a CPU image",
            )
        decisions.insert(
            0, Decision("platform", platform, "--platform was given", [describe(a) for a in want])
        )
        return PlatformChoice(platform, want, decisions)

    if not pool:
        return PlatformChoice(
            "cpu",
            [],
            [
                Decision(
                    "platform",
                    "cpu",
                    "no GPU of a supported vendor (AMD, NVIDIA, Intel) is visible on this host",
                    evidence or ["host report lists no accelerator"],
                )
            ],
        )
    vendors = sorted({a.vendor for a in pool})
    if len(vendors) > 1:
        raise UsageError(
            f"this host has GPUs of several vendors ({', '.join(vendors)}); "
            "which one should the image be for?",
            hint=f"pass --gpu <index|PCI address> or --platform cuda|rocm|xpu. GPUs: {listing}",
        )
    plat = VENDOR_PLATFORM[vendors[0]]
    decisions.insert(
        0,
        Decision(
            "platform",
            f"{plat} for {len(pool)} {vendors[0].upper()} GPU(s)",
            "the only GPU vendor on this host"
            + ("" if discrete else " (integrated GPU, no discrete one present)"),
            [describe(a) for a in pool],
        ),
    )
    return PlatformChoice(plat, pool, decisions)
