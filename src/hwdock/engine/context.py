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


def context_digest(context: Path, matcher: Matcher | None = None) -> ContextDigest:
    """Walk `context` with os.scandir and hash the metadata of what the build would see.

    Entries are taken in the order the directory lists them (no sorting): that order is
    stable while a directory is unchanged, and when it changes the answer can only be
    "changed" — a needless rebuild, never a missed one.
    """
    root = Path(context)
    matcher = matcher if matcher is not None else Matcher.from_context(root)
    filtering = bool(matcher.patterns)
    rows: list[tuple[str, str, int, int, int, str]] = []
    append = rows.append
    files = 0
    total = 0
    stack: list[tuple[str, str]] = [(str(root), "")]
    s_isdir, s_islnk = stat.S_ISDIR, stat.S_ISLNK
    while stack:
        abs_dir, rel_dir = stack.pop()
        try:
            it = os.scandir(abs_dir)
        except (PermissionError, FileNotFoundError, NotADirectoryError):
            append((rel_dir, "?unreadable", 0, 0, 0, ""))
            continue
        with it:
            for e in it:
                rel = f"{rel_dir}/{e.name}" if rel_dir else e.name
                try:
                    st = e.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                mode = st.st_mode
                if filtering and matcher.excluded_in_walk(rel):
                    if s_isdir(mode) and matcher.may_include_below(rel):
                        stack.append((e.path, rel))
                    continue
                if s_isdir(mode):
                    append((rel_dir, e.name, mode, 0, 0, ""))
                    stack.append((e.path, rel))
                    continue
                link = ""
                if s_islnk(mode):
                    try:
                        link = os.readlink(e.path)
                    except OSError:
                        link = "?"
                files += 1
                total += st.st_size
                append((rel_dir, e.name, mode, st.st_size, st.st_mtime_ns, link))
    h = hashlib.sha256(repr(rows).encode("utf-8", "surrogateescape"))
    return ContextDigest("sha256:" + h.hexdigest(), files, total)
