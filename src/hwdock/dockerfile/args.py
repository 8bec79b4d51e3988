"""Known build ARGs (GPU arch lists, parallelism, versions) and the toolkit versions base
images imply; the facts live in `knowledge/data/build_args.toml`."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from hwdock import knowledge
from hwdock.dockerfile.imageref import ImageRef
from hwdock.dockerfile.model import Toolkit

__all__ = ["known_arg", "toolkit_from_arg", "toolkit_from_image"]


_VERSION = re.compile(r"^v?(\d+(?:\.\d+){0,2})").match


@cache
def _data() -> dict[str, Any]:
    return knowledge.load("build_args")


def known_arg(name: str) -> dict[str, Any] | None:
    """The knowledge entry for an ARG/ENV name, or None."""
    return _data()["args"].get(name)


@cache
def _image_rules() -> list[tuple[str | None, str | None, str, re.Pattern[str]]]:
    return [
        (r.get("repository"), r.get("repository_prefix"), r["toolkit"], re.compile(r["pattern"]))
        for r in _data()["image_versions"]
    ]


def toolkit_from_image(ref: ImageRef, line: int | None) -> Toolkit | None:
    if ref.tag is None:
        return None
    name = ref.name
    for repo, prefix, toolkit, rx in _image_rules():
        if repo is not None and name != repo:
            continue
        if prefix is not None and not name.startswith(prefix):
            continue
        m = rx.search(ref.tag)
        if m:
            return Toolkit(toolkit, m.group("version"), ref.familiar, line)
    return None


def toolkit_from_arg(name: str, value: str | None, line: int | None) -> Toolkit | None:
    entry = known_arg(name)
    if entry is None or entry.get("kind") != "toolkit-version" or not value:
        return None
    m = _VERSION(value)
    if m is None:
        return None
    return Toolkit(entry["toolkit"], m.group(1), f"ARG {name}={value}", line)
