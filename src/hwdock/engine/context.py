"""A fast digest of a build context, as `.dockerignore` leaves it.

The digest decides whether an image is up to date without sending the context to the
engine, so it must be quick on large trees (50,000 files in well under a second here).

Trade-off, chosen on purpose: each file contributes its context-relative path, type, mode,
size and modification time in nanoseconds (and a symlink its target); file contents are not
read. Editors, `git checkout`, `cp` and `tar -x` without `-p` all change the mtime, so a real
edit is seen. The known limit: a change that keeps both the size and the nanosecond mtime
(for example `touch -r` after editing, or a tool that restores timestamps) is not seen; use
`hwdock build --force` then. Hashing contents instead would read the whole context (500 MB
in the benchmark) on every check and make the "nothing changed" answer as slow as the
build it avoids. The Dockerfile itself and `.dockerignore` are hashed by content elsewhere.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from hwdock.engine.dockerignore import Matcher


@dataclass(frozen=True)
class ContextDigest:
    digest: str  # "sha256:<hex>"
    files: int
    bytes: int


_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def context_digest(context: Path, matcher: Matcher | None = None) -> ContextDigest:
    """Walk `context` and hash the metadata of what the build would see.

    The walk goes by directory file descriptors (`scandir(fd)`, `fstatat` relative to it),
    which spares the kernel a full path look-up per file: about 1.5x faster than a walk by
    path names on 50,000 files. Entries are taken in the order the directory lists them (no
    sorting): that order is stable while a directory is unchanged, and when it changes the
    answer can only be "changed" — a needless rebuild, never a missed one.
    """
    root = Path(context)
    matcher = matcher if matcher is not None else Matcher.from_context(root)
    rows: list[tuple[str, str, int, int, int, str]] = []
    counts = [0, 0]  # files, bytes
    fd = os.open(root, _DIR_FLAGS)
    try:
        _walk(fd, "", matcher, rows, counts)
    finally:
        os.close(fd)
    h = hashlib.sha256(repr(rows).encode("utf-8", "surrogateescape"))
    return ContextDigest("sha256:" + h.hexdigest(), counts[0], counts[1])


def _walk(
    fd: int,
    rel_dir: str,
    matcher: Matcher,
    rows: list[tuple[str, str, int, int, int, str]],
    counts: list[int],
) -> None:
    filtering = bool(matcher.patterns)
    append = rows.append
    s_isdir, s_islnk = stat.S_ISDIR, stat.S_ISLNK
    subdirs: list[tuple[str, str]] = []
    with os.scandir(fd) as it:
        for e in it:
            name = e.name
            rel = f"{rel_dir}/{name}" if rel_dir else name
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            mode = st.st_mode
            if filtering and matcher.excluded_in_walk(rel):
                if s_isdir(mode) and matcher.may_include_below(rel):
                    subdirs.append((name, rel))
                continue
            if s_isdir(mode):
                append((rel_dir, name, mode, 0, 0, ""))
                subdirs.append((name, rel))
                continue
            link = ""
            if s_islnk(mode):
                try:
                    link = os.readlink(name, dir_fd=fd)
                except OSError:
                    link = "?"
            counts[0] += 1
            counts[1] += st.st_size
            append((rel_dir, name, mode, st.st_size, st.st_mtime_ns, link))
    for name, rel in subdirs:
        try:
            sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            append((rel, "?unreadable", 0, 0, 0, ""))
            continue
        try:
            _walk(sub, rel, matcher, rows, counts)
        finally:
            os.close(sub)
