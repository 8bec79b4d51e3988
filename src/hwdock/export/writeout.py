"""Writing exports so that nothing is left half-written.

One file: written to a temporary file in the same directory, flushed, then renamed over the
target (atomic on POSIX). Several files: written into a temporary directory next to the
output directory, then moved into place; on any error the temporary directory is removed
and the output directory is untouched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from hwdock.errors import HwdockError, UsageError


def _check_rel(rel: str) -> None:
    p = Path(rel)
    if p.is_absolute() or ".." in p.parts or not p.parts:
        raise UsageError(f"refusing to write outside the output directory: {rel!r}")


def write_atomic(path: Path, text: str, *, mode: int = 0o644) -> None:
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    if not parent.is_dir():
        what = "is not a directory" if parent.exists() else "does not exist"
        raise UsageError(
            f"cannot write {path}: {parent} {what}", hint="-o takes a file in an existing folder"
        )
    if path.is_dir():
        raise UsageError(
            f"cannot write {path}: it is a directory", hint="-o takes a file name, not a folder"
        )
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=parent)
    except OSError as err:
        raise UsageError(f"cannot write in {parent}: {err.strerror or err}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_tree(
    out_dir: Path,
    files: dict[str, str],
    *,
    executable: frozenset[str] = frozenset(),
    owned_dirs: tuple[str, ...] = (),
) -> list[Path]:
    """Write `files` (relative path → text) under `out_dir`. Subdirectories named in
    `owned_dirs` belong to hwdock: they are swapped whole, so files of an earlier run that
    this run did not write (a variant that no longer exists) do not linger."""
    out_dir = Path(out_dir)
    for rel in files:
        _check_rel(rel)
    parent = out_dir.parent
    if not parent.is_dir():
        raise UsageError(f"directory {parent} does not exist")
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError(f"{out_dir} exists and is not a directory")
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=parent))
    try:
        for rel, text in files.items():
            dest = tmp / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_text(text, encoding="utf-8", newline="\n")
            if rel in executable:
                dest.chmod(0o755)
        if not out_dir.exists():
            os.rename(tmp, out_dir)
            return [out_dir / rel for rel in files]
        for owned in owned_dirs:
            _check_rel(owned)
            new, cur = tmp / owned, out_dir / owned
            if not new.is_dir():
                continue
            old = tmp / f".old-{Path(owned).name}"
            if cur.exists():
                os.rename(cur, old)
            cur.parent.mkdir(parents=True, exist_ok=True)
            os.rename(new, cur)
        for rel in files:
            src = tmp / rel
            if not src.exists():  # moved with its owned directory
                continue
            dest = out_dir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(src, dest)
        return [out_dir / rel for rel in files]
    except OSError as e:
        raise HwdockError(f"could not write {out_dir}: {e.strerror or e}") from e
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
