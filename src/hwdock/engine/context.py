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
import marshal
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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

    Each directory's rows go into the hash as they are read (`marshal` format 2, which has
    no back-references, so equal rows always give equal bytes; about 5x cheaper than `repr`
    of the whole list). The `.dockerignore` test is one precompiled regular expression
    called directly when the file has no `!` exceptions (see Matcher).
    """
    root = Path(context)
    matcher = matcher if matcher is not None else Matcher.from_context(root)
    h = hashlib.sha256(b"hwdock-context-v2\0")
    counts = [0, 0]  # files, bytes
    fd = os.open(root, _DIR_FLAGS)
    try:
        _walk(fd, "", _excluder(matcher), matcher, h, counts)
    finally:
        os.close(fd)
    return ContextDigest("sha256:" + h.hexdigest(), counts[0], counts[1])


def _excluder(matcher: Matcher) -> Callable[[str], object] | None:
    """The fastest test of "left out" for this matcher: a bound regex match where possible."""
    if not matcher.patterns:
        return None
    fast = matcher.combined_regex()
    return fast.match if fast is not None else matcher.excluded_in_walk


_DIR = stat.S_IFDIR
_LNK = stat.S_IFLNK
_FMT = 0o170000


def _walk(
    fd: int,
    rel: str,  # "" or "dir/sub/" (with the trailing slash)
    excluded: Callable[[str], object] | None,
    matcher: Matcher,
    h: Any,
    counts: list[int],
) -> None:
    rows: list[object] = [rel]
    append = rows.append
    subdirs: list[str] = []
    files = size = 0
    with os.scandir(fd) as it:
        for e in it:
            name = e.name
            try:
                st = e.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            mode = st.st_mode
            kind = mode & _FMT
            if excluded is not None and excluded(rel + name):
                if kind == _DIR and matcher.may_include_below(rel + name):
                    subdirs.append(name)  # walked for what an exception re-includes
                continue
            if kind == _DIR:
                append((name, mode))
                subdirs.append(name)
                continue
            files += 1
            size += st.st_size
            if kind == _LNK:
                try:
                    link = os.readlink(name, dir_fd=fd)
                except OSError:
                    link = "?"
                append((name, mode, st.st_size, st.st_mtime_ns, link))
            else:
                append((name, mode, st.st_size, st.st_mtime_ns))
    counts[0] += files
    counts[1] += size
    h.update(marshal.dumps(rows, 2))
    for name in subdirs:
        try:
            sub = os.open(name, _DIR_FLAGS, dir_fd=fd)
        except OSError:
            h.update(marshal.dumps([rel + name, "?unreadable"], 2))
            continue
        try:
            _walk(sub, f"{rel}{name}/", excluded, matcher, h, counts)
        finally:
            os.close(sub)
