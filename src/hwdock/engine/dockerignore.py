"""`.dockerignore` semantics, as the Docker/BuildKit context loaders apply them.

Rules (moby's pattern matcher, written down here from its documented behaviour):
- one pattern per line; lines starting with `#` are comments; blank lines are ignored;
  surrounding whitespace is trimmed;
- `!pattern` is an exception: it re-includes what an earlier pattern excluded;
- each pattern is cleaned like Go's `filepath.Clean` and a leading `/` is stripped, so
  `/foo`, `foo/` and `./foo` all mean the path `foo` at the context root;
- `*` matches any run of characters except `/`, `?` one such character, `[...]` a class
  (`[^...]` negated, ranges `a-z`), `\\` escapes the next character;
- `**` matches any number of path segments, including none (`**/x`, `a/**/b`, `a/**`);
- a path is excluded when the last pattern that matches it, or one of its parent
  directories, is a plain pattern (and included when it is an exception).

Pure: no file system access here; `context.py` walks the tree.
"""

from __future__ import annotations

import posixpath
import re

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from pathlib import Path

_REGEX_SPECIAL = set(".+()|{}$^")


class Pattern:
    """One line of the file, compiled. Immutable; a plain class rather than a frozen dataclass
    because `hwdock build`'s "nothing changed" path imports this module (dataclasses: ~9 ms)."""

    __slots__ = ("exclusion", "regex", "segments", "text")

    text: str  # cleaned pattern, without the leading "!"
    exclusion: bool  # True for "!pattern" (re-include)
    regex: re.Pattern[str]
    segments: int  # number of "/"-separated parts, for parent matching

    def __init__(self, text: str, exclusion: bool, regex: re.Pattern[str], segments: int):
        set_ = object.__setattr__
        set_(self, "text", text)
        set_(self, "exclusion", exclusion)
        set_(self, "regex", regex)
        set_(self, "segments", segments)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Pattern is immutable (cannot set {name})")

    def _key(self) -> tuple[str, bool, re.Pattern[str], int]:
        return (self.text, self.exclusion, self.regex, self.segments)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._key() == other._key()  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (
            f"Pattern(text={self.text!r}, exclusion={self.exclusion!r}, regex={self.regex!r}, "
            f"segments={self.segments!r})"
        )


def clean(path: str) -> str:
    """Go's filepath.Clean for "/"-separated paths."""
    if not path:
        return "."
    out = posixpath.normpath(path)
    # normpath keeps a leading "//"; Go collapses it.
    if out.startswith("//"):
        out = "/" + out.lstrip("/")
    return out


def _translate(pattern: str) -> str:
    """Turn a cleaned dockerignore pattern into an anchored regular expression."""
    out: list[str] = ["^"]
    i, n = 0, len(pattern)
    while i < n:
        ch = pattern[i]
        if ch == "*":
            if i + 1 < n and pattern[i + 1] == "*":
                i += 2
                if i < n and pattern[i] == "/":
                    i += 1
                if i >= n:
                    out.append(".*")  # trailing "**": everything below
                else:
                    out.append("(.*/)?")  # "**/" : zero or more whole segments
                continue
            out.append("[^/]*")
        elif ch == "?":
            out.append("[^/]")
        elif ch == "\\":
            if i + 1 < n:
                i += 1
                out.append(re.escape(pattern[i]))
            else:
                out.append(re.escape("\\"))
        elif ch == "[":
            j = pattern.find("]", i + 1)
            if j == -1:
                out.append(re.escape(ch))
            else:
                body = pattern[i + 1 : j]
                if body.startswith("^") or body.startswith("!"):
                    body = "^" + body[1:].replace("\\", "\\\\")
                else:
                    body = body.replace("\\", "\\\\")
                out.append("[" + body + "]")
                i = j
        elif ch in _REGEX_SPECIAL:
            out.append("\\" + ch)
        else:
            out.append(re.escape(ch) if not ch.isalnum() and ch not in "/-_" else ch)
        i += 1
    out.append("$")
    return "".join(out)


def compile_pattern(line: str) -> Pattern | None:
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    exclusion = text.startswith("!")
    if exclusion:
        text = text[1:].strip()
        if not text:
            return None
    text = clean(text)
    if len(text) > 1 and text.startswith("/"):
        text = text[1:]
    if text == "/":
        text = "."
    try:
        regex = re.compile(_translate(text))
    except re.error:
        regex = re.compile(re.escape(text) + "$")
    return Pattern(text, exclusion, regex, len(text.split("/")))


def parse(text: str) -> list[Pattern]:
    """Patterns of a .dockerignore file's text, in order."""
    return [p for p in (compile_pattern(line) for line in text.splitlines()) if p]


class Matcher:
    """Decides, for a context-relative "/"-separated path, whether the context leaves it out."""

    def __init__(self, patterns: Iterable[Pattern]):
        self.patterns = list(patterns)
        self.has_exclusions = any(p.exclusion for p in self.patterns)
        # Without exceptions a path is left out when it or a parent matches any pattern;
        # a walk never enters a left-out directory, so one combined match per entry does.
        self._any: re.Pattern[str] | None = None
        if self.patterns and not self.has_exclusions:
            self._any = re.compile("|".join(f"(?:{p.regex.pattern})" for p in self.patterns))

    @classmethod
    def from_context(cls, context: Path) -> Matcher:
        f = context / ".dockerignore"
        try:
            return cls(parse(f.read_text(encoding="utf-8", errors="replace")))
        except FileNotFoundError:
            return cls([])

    def excluded(self, path: str) -> bool:
        """True when `path` (context-relative, "/"-separated) is left out of the context.

        A pattern that matches a parent directory applies to everything below it; the last
        pattern that matches (the path or a parent) decides.
        """
        if not self.patterns:
            return False
        parts = path.split("/")
        prefixes = ["/".join(parts[:k]) for k in range(1, len(parts))]
        matched = False
        for p in self.patterns:
            if p.exclusion != matched:  # only a pattern that could flip the answer matters
                continue
            hit = p.regex.match(path) is not None or any(
                p.regex.match(pre) is not None for pre in prefixes
            )
            if hit:
                matched = not p.exclusion
        return matched

    def combined_regex(self) -> re.Pattern[str] | None:
        """One regular expression equivalent to `excluded_in_walk`, when there is one."""
        return self._any

    def excluded_in_walk(self, path: str) -> bool:
        """Like `excluded`, for a walk that only visits children of directories it kept."""
        if self._any is not None:
            return self._any.match(path) is not None
        return self.excluded(path)

    def may_include_below(self, directory: str) -> bool:
        """Whether an exception pattern could re-include something under `directory`.

        Conservative: only an exception whose literal leading segments lead elsewhere is
        ruled out, so an excluded directory is skipped whole only when that is safe.
        """
        if not self.has_exclusions:
            return False
        dparts = directory.split("/")
        for p in self.patterns:
            if not p.exclusion:
                continue
            lead: list[str] = []
            for seg in p.text.split("/"):
                if any(c in seg for c in "*?[\\"):
                    break
                lead.append(seg)
            k = min(len(lead), len(dparts))
            if lead[:k] == dparts[:k]:
                return True
        return False


class BothMatcher(Matcher):
    """Leaves a path out only when both matchers do.

    Used when a Dockerfile has its own `<Dockerfile>.dockerignore`: newer BuildKit
    frontends read that one instead of the context's, older ones ignore it. Hashing what
    either would send (a superset) can cause a needless rebuild, never a missed one.
    """

    def __init__(self, a: Matcher, b: Matcher):
        super().__init__([*a.patterns, *b.patterns])
        self.a, self.b = a, b
        self._any = None

    def excluded(self, path: str) -> bool:
        return self.a.excluded(path) and self.b.excluded(path)

    def excluded_in_walk(self, path: str) -> bool:
        return self.a.excluded_in_walk(path) and self.b.excluded_in_walk(path)

    def may_include_below(self, directory: str) -> bool:
        return self.a.may_include_below(directory) or self.b.may_include_below(directory)
