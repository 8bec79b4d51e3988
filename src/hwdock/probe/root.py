"""A read-only view of a host's filesystem, rooted anywhere: `/` live, a capture's `root/` in
replay, a `tmp_path` tree in tests.

Every read the probe makes goes through a `Root`. Reads never raise: a missing file is
`None`; an unreadable or undecodable one is `None` plus an entry in `problems`, which the
probe turns into warnings. Device nodes (which cannot live in git) come from `os.stat` live
and from `devices.json` in replay; free disk space from `os.statvfs` live and from
`meta.json`'s `disks` in replay.
"""

from __future__ import annotations

import os
import stat as _stat
from typing import Any

MAX_READ = 8 * 1024 * 1024  # /proc/cpuinfo of a 512-thread host is ~1 MB


class DeviceNode:
    """One device node as stat(2) sees it (plain class: cheaper to define than a dataclass,
    and this module is on the start-up path of every replay)."""

    __slots__ = (
        "gid",
        "group",
        "major",
        "minor",
        "mode",
        "path",
        "readable",
        "type",
        "uid",
        "writable",
    )

    def __init__(
        self,
        path: str,
        type: str,  # "char" | "block" | "other"
        major: int | None = None,
        minor: int | None = None,
        mode: int = 0,  # permission bits, e.g. 0o660
        uid: int | None = None,
        gid: int | None = None,
        group: str | None = None,
        readable: bool | None = None,  # what access(2) said, live (ACLs included); None:
        writable: bool | None = None,  # unknown, judge from the mode bits
    ) -> None:
        self.path, self.type, self.major, self.minor = path, type, major, minor
        self.mode, self.uid, self.gid, self.group = mode, uid, gid, group
        self.readable, self.writable = readable, writable

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DeviceNode) and self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "path": self.path,
            "type": self.type,
            "major": self.major,
            "minor": self.minor,
            "mode": f"{self.mode:04o}",
            "uid": self.uid,
            "gid": self.gid,
            "group": self.group,
        }
        if self.readable is not None and self.writable is not None:
            d["access"] = {"read": self.readable, "write": self.writable}
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DeviceNode:
        access = d.get("access") if isinstance(d.get("access"), dict) else {}
        mode = d.get("mode", 0)
        if isinstance(mode, str):
            mode = int(mode, 8)
        return cls(
            path=str(d["path"]),
            type=str(d.get("type", "char")),
            major=_int_or_none(d.get("major")),
            minor=_int_or_none(d.get("minor")),
            mode=int(mode) & 0o7777,
            uid=_int_or_none(d.get("uid")),
            gid=_int_or_none(d.get("gid")),
            group=d.get("group"),
            readable=_bool_or_none(access.get("read")),
            writable=_bool_or_none(access.get("write")),
        )


def _bool_or_none(v: Any) -> bool | None:
    return v if isinstance(v, bool) else None


def _int_or_none(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


class DiskUsage:
    __slots__ = ("free_bytes", "path", "total_bytes")

    def __init__(self, path: str, total_bytes: int, free_bytes: int) -> None:
        self.path, self.total_bytes, self.free_bytes = path, total_bytes, free_bytes


class Root:
    """The live filesystem (base "/") or a tree holding a host's files at their absolute paths.

    `devices`: None means device nodes are read live with os.stat; a list (from devices.json)
    means replay. `disks`: recorded statvfs results for replay (None means live statvfs).
    `meta`: the capture's meta.json (hostname, kernel fallbacks), empty live.
    """

    def __init__(
        self,
        base: str | os.PathLike[str] = "/",
        *,
        devices: list[DeviceNode] | None = None,
        disks: list[DiskUsage] | None = None,
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.base = os.path.abspath(os.fspath(base))
        self._real_base = os.path.realpath(self.base)
        self.live = self.base == "/" and devices is None
        self._devices = None if devices is None else {d.path: d for d in devices}
        self._disks = disks
        self.meta: dict[str, Any] = meta or {}
        self.problems: list[tuple[str, str]] = []  # (path, what failed)

    # -- paths -----------------------------------------------------------------------------
    def _full(self, path: str) -> str:
        if self.base == "/":
            return path
        return self.base + "/" + path.lstrip("/")

    def _inside(self, full: str) -> bool:
        """A replayed tree must not lead outside itself through symlinks."""
        if self.base == "/":
            return True
        return self._within(os.path.realpath(full))

    def _within(self, real: str) -> bool:
        return real == self._real_base or real.startswith(self._real_base + os.sep)

    def _problem(self, path: str, what: str) -> None:
        self.problems.append((path, what))

    # -- reads -----------------------------------------------------------------------------
    def read_bytes(self, path: str) -> bytes | None:
        full = self._full(path)
        try:
            fd = os.open(full, os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except PermissionError:
            self._problem(path, "permission denied")
            return None
        except OSError as err:
            self._problem(path, f"read failed ({err.strerror or err})")
            return None
        try:
            if self.base != "/" and not self._within(_real_path_of(fd, full)):
                self._problem(path, "points outside the captured tree; ignored")
                return None
            chunks: list[bytes] = []
            size = 0
            while size < MAX_READ:  # small reads: /proc/sys refuses huge buffers (ENOMEM)
                chunk = os.read(fd, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
            return b"".join(chunks)
        except IsADirectoryError:
            self._problem(path, "is a directory, expected a file")
        except OSError as err:
            self._problem(path, f"read failed ({err.strerror or err})")
        finally:
            os.close(fd)
        return None

    def read_text(self, path: str) -> str | None:
        data = self.read_bytes(path)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            self._problem(path, "is not valid UTF-8 text; undecodable bytes replaced")
            return data.decode("utf-8", errors="replace")

    def listdir(self, path: str) -> list[str] | None:
        full = self._full(path)
        try:
            if self.base == "/":
                return sorted(os.listdir(full))
            fd = os.open(full, os.O_RDONLY | os.O_DIRECTORY)
            try:
                if not self._within(_real_path_of(fd, full)):
                    self._problem(path, "points outside the captured tree; ignored")
                    return None
                return sorted(os.listdir(fd))
            finally:
                os.close(fd)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except PermissionError:
            self._problem(path, "directory not readable (permission denied)")
        except OSError as err:
            self._problem(path, f"listing failed ({err.strerror or err})")
        return None

    def readlink(self, path: str) -> str | None:
        try:
            return os.readlink(self._full(path))
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as err:
            if err.errno != 22:  # EINVAL: not a symlink, which is just "no link"
                self._problem(path, f"readlink failed ({err.strerror or err})")
            return None

    def exists(self, path: str) -> bool:
        full = self._full(path)
        return self._inside(full) and os.path.lexists(full)

    # -- device nodes ----------------------------------------------------------------------
    @property
    def devices_known(self) -> bool:
        """False when replaying a capture that recorded no device nodes at all."""
        return self._devices is None or bool(self._devices)

    def device(self, path: str) -> DeviceNode | None:
        if self._devices is not None:
            return self._devices.get(path)
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as err:
            self._problem(path, f"stat failed ({err.strerror or err})")
            return None
        kind = (
            "char"
            if _stat.S_ISCHR(st.st_mode)
            else "block"
            if _stat.S_ISBLK(st.st_mode)
            else "other"
        )
        return DeviceNode(
            path=path,
            type=kind,
            major=os.major(st.st_rdev) if kind != "other" else None,
            minor=os.minor(st.st_rdev) if kind != "other" else None,
            mode=_stat.S_IMODE(st.st_mode),
            uid=st.st_uid,
            gid=st.st_gid,
            group=_group_name(st.st_gid),
            readable=os.access(path, os.R_OK),
            writable=os.access(path, os.W_OK),
        )

    def device_names(self, directory: str) -> list[str]:
        """Names of the device nodes directly inside `directory` (e.g. /dev/dri)."""
        if self._devices is not None:
            prefix = directory.rstrip("/") + "/"
            return sorted(
                p[len(prefix) :]
                for p in self._devices
                if p.startswith(prefix) and "/" not in p[len(prefix) :]
            )
        try:
            return sorted(os.listdir(directory))
        except OSError:
            return []

    # -- disks -----------------------------------------------------------------------------
    def disk_usage(self, path: str) -> DiskUsage | None:
        if self._disks is not None:
            best: DiskUsage | None = None
            for d in self._disks:
                p = d.path.rstrip("/") or "/"
                if (path == p or path.startswith(p.rstrip("/") + "/")) and (
                    best is None or len(p) > len(best.path)
                ):
                    best = d
            return best
        probe = path
        while True:  # the nearest existing ancestor (rootless data roots may be unreadable)
            try:
                st = os.statvfs(self._full(probe))
                return DiskUsage(path, st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize)
            except OSError:
                if probe in ("/", ""):
                    self._problem(path, "statvfs failed")
                    return None
                probe = os.path.dirname(probe.rstrip("/")) or "/"


def _real_path_of(fd: int, fallback: str) -> str:
    """The resolved path of an open file: one readlink instead of realpath's lstat per part."""
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return os.path.realpath(fallback)


def _group_name(gid: int) -> str | None:
    try:
        import grp

        return grp.getgrgid(gid).gr_name
    except (KeyError, ImportError):
        return None
