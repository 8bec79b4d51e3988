"""`probe_host`: the whole probe, pure over its inputs (root, runner, environment, user)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from hwdock.probe import access, amd, cdi, cpu, disk, engines, nvidia, other, pci, system
from hwdock.probe.context import Context, User
from hwdock.probe.model import HostReport
from hwdock.probe.root import Root
from hwdock.probe.runner import DEFAULT_TIMEOUT, Runner

COLLECTORS: tuple[tuple[str, Callable[[Context], None]], ...] = (
    ("system", system.collect),
    ("cpu", cpu.collect),
    ("pci", pci.collect),
    ("jetson", nvidia.collect_jetson),
    ("amd", amd.collect),
    ("nvidia", nvidia.collect),
    ("other-vendors", other.collect),
    ("cdi", cdi.collect),
    ("engines", engines.collect),
    ("disk", disk.collect),
    ("device-access", access.collect),
    ("visible-devices", access.visibility),
)


def probe_host(
    root: Root,
    runner: Runner,
    env: Mapping[str, str],
    user: User | Mapping[str, object],
    *,
    use_nvml: bool = False,
    source: str = "live",
    timeout: float = DEFAULT_TIMEOUT,
) -> HostReport:
    """Everything the probe knows about the host behind `root` and `runner`.

    Never raises for bad input: a collector that fails leaves a warning naming it.
    """
    report = HostReport(source=source)
    ctx = Context(
        root,
        runner,
        dict(env),
        user if isinstance(user, User) else user_from_dict(user),
        report,
        use_nvml=use_nvml,
        timeout=timeout,
    )
    report.user_groups = sorted(set(ctx.user.groups))
    for name, collect in COLLECTORS:
        try:
            collect(ctx)
        except Exception as err:  # a bug or a shape nobody foresaw: report, never crash
            ctx.warn(
                "probe-collector-failed",
                f"the {name} probe failed ({type(err).__name__}: {err}); its facts are missing",
                evidence=[name],
            )
    for path, what in root.problems:
        ctx.warn("probe-read-failed", f"{path}: {what}", evidence=[path])
    report.accelerators = sorted(
        ctx.devices.all(), key=lambda a: (a.pci_address is None, a.pci_address or "", a.key)
    )
    return report


def user_from_dict(d: Mapping[str, object]) -> User:
    def num(v: object) -> int:
        return v if isinstance(v, int) and not isinstance(v, bool) else 0

    groups = d.get("groups")
    return User(
        uid=num(d.get("uid")),
        gid=num(d.get("gid")),
        groups=[g for g in groups if isinstance(g, int)] if isinstance(groups, list) else [],
    )


def live_user() -> User:
    import os

    return User(os.getuid(), os.getgid(), sorted(set(os.getgroups()) | {os.getgid()}))
