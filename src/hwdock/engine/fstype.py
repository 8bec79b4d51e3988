"""Which filesystem holds a path, and whether a file watcher sees every change there.

Pure: `filesystem_of` reads the text of `/proc/self/mountinfo` given to it; the knowledge
of which filesystems report every change is `knowledge/data/watch.toml`.
"""

from __future__ import annotations

from hwdock.knowledge import load

__all__ = ["filesystem_of", "watchable"]


def _unescape(field: str) -> str:
    """mountinfo writes space, tab, newline and backslash in paths as octal escapes."""
    if "\\" not in field:
        return field
    out: list[str] = []
    i = 0
    while i < len(field):
        if field[i] == "\\" and i + 4 <= len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def filesystem_of(path: str, mountinfo: str) -> str | None:
    """The filesystem type (`ext4`, `nfs4`, `fuse.sshfs`...) of the mount holding `path`
    (absolute, symlinks resolved), or None when no mount line covers it.

    The mount with the longest mount point that is `path` or a parent of it wins; among
    equal mount points the later line (mounted on top) wins.
    """
    best: tuple[int, str] | None = None
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        if not sep:
            continue
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        point = _unescape(fields[4])
        if not (path == point or point == "/" or path.startswith(point.rstrip("/") + "/")):
            continue
        fstype = right.split()[0]
        if best is None or len(point) >= best[0]:
            best = (len(point), fstype)
    return best[1] if best else None


def watchable(fstype: str | None) -> tuple[bool, str]:
    """Whether a watcher sees every change on `fstype`, and why (for logs and `doctor`)."""
    if not fstype:
        return False, "the filesystem of the context is unknown"
    table = load("watch")["filesystems"]
    family = fstype.split(".", 1)[0]  # fuse.sshfs -> fuse
    entry = table.get(fstype) or table.get(family)
    if entry is None:
        return False, f"{fstype} is not a filesystem hwdock knows to report every change"
    if not entry["local"]:
        return False, f"{fstype}: {entry.get('note') or 'changes may happen elsewhere'}"
    return True, f"{fstype} reports every change made on this machine"
