"""Capture and replay of a host (docs/capture-format.md).

`record(dest)` runs the live probe through recording wrappers of `Root` and `Runner`, so the
capture holds exactly what the probe read; `load(dir)` gives the root, runner, environment
and user to replay it with `probe_host`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from hwdock.errors import InputError, UsageError
from hwdock.probe.access import ENV_KEPT
from hwdock.probe.context import User
from hwdock.probe.host import live_user, probe_host, user_from_dict
from hwdock.probe.model import HostReport
from hwdock.probe.root import DeviceNode, DiskUsage, Root
from hwdock.probe.runner import CommandResult, RecordingRunner, ReplayRunner

FORMAT = "hwdock-capture"
VERSION = 1


class Capture:
    __slots__ = ("env", "meta", "root", "runner", "user")

    def __init__(
        self,
        root: Root,
        runner: ReplayRunner,
        env: dict[str, str],
        user: User,
        meta: dict[str, Any],
    ) -> None:
        self.root, self.runner, self.env, self.user, self.meta = root, runner, env, user, meta


def _read_json(path: Path, what: str) -> Any:
    if path.exists() or path.is_symlink():
        from hwdock.jsonin import check_regular_file

        check_regular_file(str(path), f"capture's {what}")
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"cannot read the capture's {what} ({err})", path=str(path)) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(
            f"{what} is not valid JSON: {err.msg}",
            path=str(path),
            line=err.lineno,
            hint="re-create the capture with `hwdock capture DIR`",
        ) from None


def load(directory: str | os.PathLike[str]) -> Capture:
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise InputError(
            "not a capture directory (a file)",
            path=str(d),
            hint="--from takes the folder `hwdock capture DIR` wrote; a report file goes to --host",
        )
    if not d.is_dir():
        raise InputError(
            "no such capture directory", path=str(d), hint="make one with `hwdock capture DIR`"
        )
    meta = _read_json(d / "meta.json", "meta.json")
    if meta is None:
        raise InputError(
            "not a hwdock capture: meta.json is missing",
            path=str(d),
            hint="make one with `hwdock capture DIR`",
        )
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise InputError(f"meta.json does not say format {FORMAT!r}", path=str(d / "meta.json"))
    version = meta.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise InputError(
            f"capture format version {version!r} is newer than this hwdock reads ({VERSION})",
            path=str(d / "meta.json"),
            hint="upgrade hwdock",
        )
    devices_doc = _read_json(d / "devices.json", "devices.json") or []
    commands_doc = _read_json(d / "commands.json", "commands.json") or []
    if not isinstance(devices_doc, list) or not isinstance(commands_doc, list):
        raise InputError("devices.json and commands.json must be JSON lists", path=str(d))
    devices: list[DeviceNode] = []
    for i, item in enumerate(devices_doc):
        try:
            devices.append(DeviceNode.from_dict(item))
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(
                f"devices.json entry {i} is malformed ({err})", path=str(d / "devices.json")
            ) from None
    commands: list[CommandResult] = []
    for i, item in enumerate(commands_doc):
        try:
            if not isinstance(item, dict):
                raise TypeError(f"expected an object, got {type(item).__name__}")
            commands.append(CommandResult.from_dict(item))
        except (KeyError, TypeError, ValueError) as err:
            raise InputError(
                f"commands.json entry {i} is malformed ({err})",
                path=str(d / "commands.json"),
                hint="re-create the capture with `hwdock capture DIR`",
            ) from None
    disks = [
        DiskUsage(str(x["path"]), int(x["total_bytes"]), int(x["free_bytes"]))
        for x in meta.get("disks") or []
        if isinstance(x, dict) and {"path", "total_bytes", "free_bytes"} <= x.keys()
    ]
    env = {str(k): str(v) for k, v in (meta.get("env") or {}).items()}
    user = user_from_dict(meta.get("user") or {})
    root = Root(d / "root", devices=devices, disks=disks, meta=meta)
    return Capture(root, ReplayRunner(commands), env, user, meta)


def replay(directory: str | os.PathLike[str]) -> HostReport:
    cap = load(directory)
    return probe_host(cap.root, cap.runner, cap.env, cap.user, source=f"capture:{directory}")


class RecordingRoot(Root):
    """A root (live by default) that copies everything it reads under `<dest>/root/`."""

    def __init__(
        self,
        dest: Path,
        base: str | os.PathLike[str] = "/",
        *,
        devices: list[DeviceNode] | None = None,
        disks: list[DiskUsage] | None = None,
    ) -> None:
        super().__init__(base, devices=devices, disks=disks)
        self.dest = dest / "root"
        self.recorded_devices: dict[str, DeviceNode] = {}
        self.recorded_disks: list[DiskUsage] = []

    def _target(self, path: str) -> Path:
        target = self.dest / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.is_dir() and not target.is_symlink() and not any(target.iterdir()):
            target.rmdir()  # a placeholder made by listdir, now known to be a file
        return target

    def read_bytes(self, path: str) -> bytes | None:
        data = super().read_bytes(path)
        if data is not None:
            target = self._target(path)
            if not target.is_dir():
                target.write_bytes(data)
        return data

    def listdir(self, path: str) -> list[str] | None:
        names = super().listdir(path)
        if names is not None:
            base = self.dest / path.lstrip("/")
            base.mkdir(parents=True, exist_ok=True)
            for n in names:
                if os.path.isdir(os.path.join(self._full(path), n)):
                    (base / n).mkdir(exist_ok=True)
        return names

    def readlink(self, path: str) -> str | None:
        link = super().readlink(path)
        if link is not None:
            target = self._target(path)
            if not target.exists() and not target.is_symlink():
                os.symlink(link, target)
        return link

    def exists(self, path: str) -> bool:
        found = super().exists(path)
        if found and os.path.isdir(self._full(path)):
            (self.dest / path.lstrip("/")).mkdir(parents=True, exist_ok=True)
        return found

    def device(self, path: str) -> DeviceNode | None:
        node = super().device(path)
        if node is not None:
            self.recorded_devices[path] = node
        return node

    def disk_usage(self, path: str) -> DiskUsage | None:
        usage = super().disk_usage(path)
        if usage is not None:
            self.recorded_disks.append(usage)
        return usage


def record(
    dest: str | os.PathLike[str],
    *,
    description: str = "",
    env: dict[str, str] | None = None,
    force: bool = False,
) -> HostReport:
    """Probe this host live, recording what was read into `dest`; returns the live report."""
    import platform
    import shutil
    from datetime import UTC, datetime

    from hwdock import __version__
    from hwdock.probe.runner import LiveRunner

    d = Path(dest)
    if d.exists() and not d.is_dir():
        raise UsageError(
            f"{d}: exists and is not a directory", hint="give a new or empty folder to capture into"
        )
    if d.exists() and any(d.iterdir()):
        if not force:
            raise InputError(
                "the capture directory is not empty",
                path=str(d),
                hint="choose a new directory, or pass --force to replace it",
            )
        shutil.rmtree(d)
    try:
        d.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(
            f"{d}: cannot create the capture folder: {err.strerror or err}",
            hint="give a folder whose parent is a writable directory",
        ) from None
    environ = dict(os.environ if env is None else env)
    kept = {k: environ[k] for k in ENV_KEPT if k in environ}
    meta = {
        "machine": platform.machine(),
        "captured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "hwdock_version": __version__,
        "description": description,
    }
    return record_with(
        d, RecordingRoot(d), RecordingRunner(LiveRunner(environ)), kept, live_user(), meta
    )


def record_with(
    d: Path,
    root: RecordingRoot,
    runner: RecordingRunner,
    env: dict[str, str],
    user: User,
    meta: dict[str, Any],
) -> HostReport:
    """Probe through recording wrappers and write the capture files; the report is returned."""
    report = probe_host(root, runner, env, user, use_nvml=False, source="live")
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "hostname": report.hostname,
        "kernel": report.kernel,
        "env": env,
        "user": {"uid": user.uid, "gid": user.gid, "groups": user.groups},
        "sources": [],
        **meta,
        "disks": [
            {"path": u.path, "total_bytes": u.total_bytes, "free_bytes": u.free_bytes}
            for u in root.recorded_disks
        ],
    }
    _write_json(d / "meta.json", meta)
    _write_json(d / "devices.json", [n.to_dict() for n in root.recorded_devices.values()])
    _write_json(d / "commands.json", [r.to_dict() for r in runner.results])
    return report


def _write_json(path: Path, doc: Any) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", "utf-8")
