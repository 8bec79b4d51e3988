"""Regular expressions compiled on first use.

Compiling a pattern costs 50-300 µs; `hwdock explain` runs as a short process, so the fast
paths that only some Dockerfiles need (flags, JSON forms, escapes) compile theirs only when
a file needs them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = ["LazyRegex"]


class LazyRegex:
    """`re.compile(pattern, flags)` on first use of `match`, `search`, `findall` or `sub`
    (then those are the compiled pattern's own bound methods, as fast as a plain pattern's).
    """

    __slots__ = ("_flags", "_pattern", "findall", "match", "search", "sub")
    findall: Callable[..., list[Any]]
    match: Callable[..., re.Match[str] | None]
    search: Callable[..., re.Match[str] | None]
    sub: Callable[..., str]

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self._pattern = pattern
        self._flags = flags

    def __getattr__(self, name: str) -> Any:  # only while a method slot is still empty
        if name not in ("findall", "match", "search", "sub"):
            raise AttributeError(name)
        rx = re.compile(self._pattern, self._flags)
        self.findall = rx.findall
        self.match = rx.match
        self.search = rx.search
        self.sub = rx.sub
        return getattr(self, name)
