"""Which Dockerfile of a source tree builds a given image ("built by another Dockerfile").

A tree often documents it: `docker build -f docker/Dockerfile.rocm_base -t rocm/vllm-dev:base .`
in a README, a script, a CI file or a Dockerfile comment, or a bake file target with both
`dockerfile = ...` and `tags = [...]`. `find_base_recipes(root)` reads those files under the
given root (the only effect here) and returns `{normalized image ref: (dockerfile, evidence)}`.
"""

from __future__ import annotations

import os
import re
import shlex
from pathlib import Path

from hwdock.dockerfile.imageref import InvalidReference, parse_image_ref

__all__ = ["find_base_recipes", "parse_base_dockerfile_options"]

_SUFFIXES = (".md", ".rst", ".txt", ".sh", ".bash", ".hcl", ".yml", ".yaml", ".mk", ".json")
_NAMES = ("Makefile", "Justfile")
_SKIP_DIRS = frozenset((".git", "node_modules", ".venv", "venv", "__pycache__", "build", "dist"))
_MAX_FILES = 5000
_MAX_BYTES = 1_000_000
_BUILD = re.compile(r"\b(?:docker|podman|buildah)(?:\s+buildx)?\s+build\b")
_HCL_TARGET = re.compile(r'target\s+"([^"]+)"\s*\{(.*?)\n\}', re.S)
_HCL_FILE = re.compile(r'dockerfile\s*=\s*"([^"]+)"')
_HCL_TAGS = re.compile(r"tags\s*=\s*\[(.*?)\]", re.S)
_HCL_CONTEXT = re.compile(r'context\s*=\s*"([^"]+)"')


def _candidates(root: Path) -> list[Path]:
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for f in sorted(filenames):
            if f.endswith(_SUFFIXES) or f in _NAMES or "Dockerfile" in f or f.endswith(".ci"):
                out.append(Path(dirpath) / f)
                if len(out) >= _MAX_FILES:
                    return out
    return out


def _logical_lines(text: str) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    buf: list[str] = []
    start = 0
    for i, raw in enumerate(text.split("\n"), 1):
        line = raw.rstrip("\r")
        stripped = line.lstrip()
        if stripped.startswith("#"):
            stripped = stripped.lstrip("#").lstrip()
        if not buf:
            start = i
        if stripped.endswith("\\"):
            buf.append(stripped[:-1])
            continue
        buf.append(stripped)
        out.append((start, " ".join(buf)))
        buf = []
    return out


def _normalize(tag: str) -> str | None:
    try:
        return parse_image_ref(tag).normalized
    except InvalidReference:
        return None


def _from_command(cmd: str) -> tuple[str | None, list[str]]:
    m = _BUILD.search(cmd)
    if m is None:
        return None, []
    rest = cmd[m.end() :]
    rest = re.split(r"\s(?:&&|\|\||;|\|)\s", rest)[0].strip().strip("`")
    try:
        words = shlex.split(rest, comments=False)
    except ValueError:
        words = rest.split()
    dockerfile: str | None = None
    tags: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        val = None
        if w in ("-f", "--file", "-t", "--tag") and i + 1 < len(words):
            val = words[i + 1]
            i += 1
        elif w.startswith(("--file=", "--tag=")):
            val = w.split("=", 1)[1]
            w = w.split("=", 1)[0]
        if val is not None:
            if w in ("-f", "--file"):
                dockerfile = val
            else:
                tags.append(val)
        i += 1
    return dockerfile, tags


def _resolve(root: Path, src: Path, dockerfile: str) -> str | None:
    for base in (root, src.parent):
        cand = (base / dockerfile).resolve()
        if cand.is_file():
            try:
                return str(cand.relative_to(root.resolve()))
            except ValueError:
                return None
    return None


def find_base_recipes(root: Path) -> dict[str, tuple[str, str]]:
    """`{image: (dockerfile relative to root, "file:line" that says so)}` for the tree."""
    found: dict[str, tuple[str, str]] = {}
    root = Path(root)
    if not root.is_dir():
        return found
    for path in _candidates(root):
        try:
            if path.stat().st_size > _MAX_BYTES:
                continue
            text = path.read_text("utf-8", errors="replace")
        except OSError:
            continue
        rel = path.relative_to(root)
        if path.suffix == ".hcl":
            for m in _HCL_TARGET.finditer(text):
                body = m.group(2)
                fm, tm = _HCL_FILE.search(body), _HCL_TAGS.search(body)
                if fm is None or tm is None or "${" in fm.group(1):
                    continue
                ctx = _HCL_CONTEXT.search(body)
                df = fm.group(1)
                if ctx is not None and "${" not in ctx.group(1):
                    df = str(Path(ctx.group(1)) / df)
                resolved = _resolve(root, path, df)
                if resolved is None:
                    continue
                line = text[: m.start()].count("\n") + 1
                for tag in re.findall(r'"([^"]+)"', tm.group(1)):
                    ref = _normalize(tag) if "${" not in tag else None
                    if ref is not None:
                        found.setdefault(ref, (resolved, f"{rel}:{line}"))
            continue
        if "build" not in text:
            continue
        for line, cmd in _logical_lines(text):
            if "build" not in cmd:
                continue
            dockerfile, tags = _from_command(cmd)
            if dockerfile is None or not tags:
                continue
            resolved = _resolve(root, path, dockerfile)
            if resolved is None:
                continue
            for tag in tags:
                ref = _normalize(tag) if "$" not in tag else None
                if ref is not None:
                    found.setdefault(ref, (resolved, f"{rel}:{line}"))
    return found


def parse_base_dockerfile_options(values: list[str]) -> dict[str, tuple[str, str]]:
    """`--base-dockerfile IMAGE=PATH` values → the same map; raises ValueError."""
    out: dict[str, tuple[str, str]] = {}
    for v in values:
        image, eq, path = v.partition("=")
        if not eq or not image or not path:
            raise ValueError(f"--base-dockerfile expects IMAGE=PATH, got {v!r}")
        try:
            ref = parse_image_ref(image).normalized
        except InvalidReference as err:
            raise ValueError(f"--base-dockerfile {v!r}: {err}") from None
        out[ref] = (path, "--base-dockerfile")
    return out
