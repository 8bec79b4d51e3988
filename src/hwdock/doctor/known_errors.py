"""The known-error table: match a log against `knowledge/data/errors.toml`.

Pure: text in, matches out. Each entry's patterns are Python regular expressions searched
line by line (case-insensitive); named groups are captured and fill `{name}` placeholders in
the entry's cause and fix. Used by `hwdock explain-error`, and by verify and build on failure.
"""

from __future__ import annotations

import bisect
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
                patterns=tuple(re.compile(p, re.IGNORECASE | re.MULTILINE) for p in e["patterns"]),
                cause=e["cause"],
                fix=e["fix"],
                source=e["source"],
                examples=tuple((x["text"], x["source"]) for x in e.get("examples", [])),
            )
        )
    return tuple(entries)


_MAX_TEXT = 240
_OPTIONAL_GROUP = re.compile(r"\((?:[^()\\]|\\.)*\)[?*]")
_CLASS = re.compile(r"\[(?:[^\]\\]|\\.)*\]")
_ESCAPE = re.compile(r"\\.")


@cache
def needle(pattern: str) -> str | None:
    """A lower-case literal every match of `pattern` contains, or None when unsure.

    Optional groups and characters, character classes, group syntax and escapes are
    dropped first; the longest run of plain text left (at least 4 characters) must then
    be part of any match. Patterns with alternation get no needle.
    """
    if "|" in pattern:
        return None
    rest, prev = pattern, None
    while prev != rest:  # innermost optional groups first
        prev, rest = rest, _OPTIONAL_GROUP.sub("\x00", rest)
    rest = _CLASS.sub("\x00", rest)
    rest = re.sub(r"\(\?P<\w+>|\(\?:|[()]", "\x00", rest)
    rest = _ESCAPE.sub("\x00", rest)
    rest = re.sub(r".[?*]|.\{\d*,?\d*\}|[.^$+]", "\x00", rest)
    runs = [r.strip() for r in re.findall(r"[A-Za-z0-9_ /:,'\"=<>-]{4,}", rest)]
    runs = [r for r in runs if len(r) >= 4]
    return max(runs, key=len).lower() if runs else None


def match_text(text: str, entries: tuple[KnownError, ...] | None = None) -> list[ErrorMatch]:
    """Every known error found in `text`, in the order of their first occurrence.

    Each pattern scans the whole text once (multi-line mode, so `^`, `$` and `.` stay within
    a line); line numbers come from the newline offsets. Fast on logs of many megabytes.
    """
    entries = table() if entries is None else entries
    lower = text.lower()
    newlines: list[int] | None = None
    found: list[ErrorMatch] = []
    for entry in entries:
        lines: dict[int, re.Match[str]] = {}
        for pattern in entry.patterns:
            need = needle(pattern.pattern)
            if need and need not in lower:
                continue  # the pattern cannot match: skip the (slow, case-insensitive) scan
            for m in pattern.finditer(text):
                if newlines is None:
                    newlines = [n.start() for n in re.finditer("\n", text)]
                lineno = bisect.bisect_left(newlines, m.start()) + 1
                if lineno not in lines or m.start() < lines[lineno].start():
                    lines[lineno] = m
        if not lines:
            continue
        assert newlines is not None
        first = min(lines)
        m = lines[first]
        line_start = newlines[first - 2] + 1 if first > 1 else 0
        line_end = newlines[first - 1] if first - 1 < len(newlines) else len(text)
        line = text[line_start:line_end]
        captures = {k: v for k, v in m.groupdict().items() if v is not None}
        shown = line.strip()
        if len(shown) > _MAX_TEXT:
            at = max(0, m.start() - line_start - (_MAX_TEXT // 3))
            shown = "…" + line[at : at + _MAX_TEXT].strip() + "…"
        found.append(
            ErrorMatch(
                id=entry.id,
                title=entry.title,
                category=entry.category,
                cause=_fill(entry.cause, captures),
                fix=_fill(entry.fix, captures),
                source=entry.source,
                line=first,
                text=shown,
                count=len(lines),
                captures=captures,
            )
        )
    return sorted(found, key=lambda x: x.line)


def report(matches: list[ErrorMatch], source: str) -> dict[str, Any]:
    """The `--json` document of `hwdock explain-error`."""
    return {
        "kind": "error-explanation",
        "schema_version": SCHEMA_VERSION,
        "source": source,
        "matched": bool(matches),
        "matches": [m.to_dict() for m in matches],
    }


def explain_log(text: str, where: str | None = None) -> list[Finding]:
    """Findings for every known failure in a build or run log (for `build`/`run` on failure).

    `where` (the log's path) prefixes each evidence line as `path:line: text`.
    """
    return [m.to_finding(where) for m in match_text(text)]
