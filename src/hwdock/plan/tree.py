"""The source tree the plan reads: which recipe it is and its Dockerfiles' facts.

Reads go through `read_text(path) -> str | None` (None: absent), so tests and callers can
hand in any tree; the default reads the filesystem.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hwdock.errors import InputError, UsageError
from hwdock.plan import facts as kb
from hwdock.plan.dockerfile_facts import DockerfileFacts, read_facts

ReadText = Callable[[Path], "str | None"]


def read_text_fs(path: Path) -> str | None:
    """The file's text; None when it is absent or a folder; InputError when it is something
    that cannot be read (a FIFO would block, a device, no permission)."""
    if path.exists() and not path.is_dir():
        from hwdock.jsonin import check_regular_file

        check_regular_file(str(path), "file")
    try:
        return path.read_text("utf-8", errors="replace")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror}", path=str(path)) from err


@dataclass
class SourceTree:
    root: Path
    recipe: str  # "vllm" | "generic"
    version: str  # short commit or "local"
    read_text: ReadText = field(repr=False, default=read_text_fs)
    _facts: dict[tuple, DockerfileFacts] = field(default_factory=dict, repr=False)

    def exists(self, rel: str) -> bool:
        return self.read_text(self.root / rel) is not None

    def first(self, candidates: list[str]) -> str | None:
        for rel in candidates:
            if self.exists(rel):
                return rel
        return None

    def facts(self, rel: str, build_args: dict[str, str]) -> DockerfileFacts:
        key = (rel, tuple(sorted(build_args.items())))
        if key not in self._facts:
            text = self.read_text(self.root / rel)
            if text is None:
                raise InputError("Dockerfile not found", path=str(self.root / rel))
            self._facts[key] = read_facts(text, rel, build_args)
        return self._facts[key]


def _git_version(root: Path, read_text: ReadText) -> str:
    head = read_text(root / ".git" / "HEAD")
    if not head:
        return "local"
    head = head.strip()
    if head.startswith("ref:"):
        ref = head[4:].strip()
        sha = read_text(root / ".git" / ref)
        if sha is None:
            packed = read_text(root / ".git" / "packed-refs") or ""
            for line in packed.splitlines():
                if line.endswith(" " + ref):
                    sha = line.split()[0]
        return sha.strip()[:7] if sha else "local"
    return head[:7]


def load_tree(
    source: Path | None, recipe: str | None, read_text: ReadText = read_text_fs
) -> SourceTree | None:
    if source is None:
        return None
    if read_text(source) is not None:  # a Dockerfile given as SOURCE: its folder is the tree
        raise InputError(
            "SOURCE is a file; give the folder (the build context)",
            path=str(source),
            hint="use -f/--file for the Dockerfile inside it",
        )
    markers = kb.vllm()["detect"]["markers"]
    looks_vllm = any(read_text(source / m) is not None for m in markers)
    if recipe not in (None, "vllm", "generic"):
        raise UsageError(f"unknown recipe {recipe!r}", hint="use --recipe vllm, or leave it out")
    chosen = recipe or ("vllm" if looks_vllm else "generic")
    return SourceTree(source, chosen, _git_version(source, read_text), read_text)
