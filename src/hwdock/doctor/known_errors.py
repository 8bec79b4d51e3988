"""The known-error table: match a log against `knowledge/data/errors.toml`.

Pure: text in, matches out. Each entry's patterns are Python regular expressions searched
line by line (case-insensitive); named groups are captured and fill `{name}` placeholders in
the entry's cause and fix. Used by `hwdock explain-error`, and by verify and build on failure.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from hwdock.findings import Finding

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class KnownError:
    id: str
    title: str
    category: str
    patterns: tuple[re.Pattern[str], ...]
    cause: str
    fix: str
    source: str
    examples: tuple[tuple[str, str], ...] = ()  # (text, source)


@dataclass
class ErrorMatch:
    id: str
    title: str
    category: str
    cause: str
    fix: str
    source: str
    line: int  # 1-based line of the first occurrence
    text: str  # that line, stripped and shortened
    count: int = 1  # lines that matched this entry
    captures: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "title": self.title,
            "category": self.category,
            "cause": self.cause,
            "fix": self.fix,
            "source": self.source,
            "line": self.line,
            "text": self.text,
            "count": self.count,
            "captures": dict(self.captures),
        }

    def to_finding(self, where: str | None = None) -> Finding:
        loc = f"{where}:{self.line}: " if where else f"line {self.line}: "
        return Finding(
            code=self.id,
            message=f"{self.title}: {self.cause}",
            severity="error",
            fix=self.fix,
            evidence=[loc + self.text, self.source],
        )


def _fill(template: str, captures: dict[str, str]) -> str:
    """Fill {name} placeholders from captures; unknown names stay as written."""
    out = []
    for literal, name, _spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if name is not None:
            out.append(captures.get(name) or "{" + name + "}")
    return "".join(out)


@cache
def table() -> tuple[KnownError, ...]:
    """The parsed error table (cached)."""
    from hwdock import knowledge

    doc = knowledge.load("errors")
    entries = []
    for e in doc.get("error", []):
        entries.append(
            KnownError(
                id=e["id"],
                title=e["title"],
                category=e.get("category", "other"),
                patterns=tuple(re.compile(p, re.IGNORECASE) for p in e["patterns"]),
                cause=e["cause"],
                fix=e["fix"],
                source=e["source"],
                examples=tuple((x["text"], x["source"]) for x in e.get("examples", [])),
            )
        )
    return tuple(entries)


_MAX_TEXT = 240


def match_text(text: str, entries: tuple[KnownError, ...] | None = None) -> list[ErrorMatch]:
    """Every known error found in `text`, in the order of their first occurrence."""
    entries = table() if entries is None else entries
    found: dict[str, ErrorMatch] = {}
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        for entry in entries:
            for pattern in entry.patterns:
                m = pattern.search(line)
                if m is None:
                    continue
                hit = found.get(entry.id)
                if hit is not None:
                    hit.count += 1
                    break
                captures = {k: v for k, v in m.groupdict().items() if v is not None}
                shown = line.strip()
                if len(shown) > _MAX_TEXT:
                    start = max(0, m.start() - (_MAX_TEXT // 3))
                    shown = "…" + line[start : start + _MAX_TEXT].strip() + "…"
                found[entry.id] = ErrorMatch(
                    id=entry.id,
                    title=entry.title,
                    category=entry.category,
                    cause=_fill(entry.cause, captures),
                    fix=_fill(entry.fix, captures),
                    source=entry.source,
                    line=lineno,
                    text=shown,
                    captures=captures,
                )
                break
    return sorted(found.values(), key=lambda x: x.line)


def report(matches: list[ErrorMatch], source: str) -> dict[str, Any]:
    """The `--json` document of `hwdock explain-error`."""
    return {
        "kind": "error-explanation",
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "matched": bool(matches),
        "matches": [m.to_dict() for m in matches],
    }
