"""Which BuildKit-only features a Dockerfile uses: decides whether the legacy builder may run it.

Uses the Dockerfile package's analysis; when that cannot read a file, a small line scanner
that knows the common ones: `RUN --mount`, `--network`/`--security` on RUN, heredocs
(`<<EOF`), `COPY --link`/`--chmod`/`--parents`, and a `# syntax=` directive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_CONT = re.compile(r"\\\s*\n")
_INSTR = re.compile(r"^\s*(RUN|COPY|ADD)\s+(.*)$", re.I)
_HEREDOC = re.compile(r"<<-?\s*[\"']?[A-Za-z_][A-Za-z0-9_]*[\"']?")
_SYNTAX = re.compile(r"^#\s*syntax\s*=", re.I)


def needs_buildkit(
    text: str,
    *,
    path: str = "Dockerfile",
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
) -> list[str]:
    """BuildKit-only features in `text` (empty when the legacy builder can run it).

    Asks the Dockerfile package (`hwdock.dockerfile.analyze(...).features`, BuildKit's own
    parser rules, `--target` pruning) and falls back to the line scanner below when that
    cannot read the file.
    """
    try:
        from hwdock.dockerfile import analyze

        graph = analyze(text, path, dict(build_args or {}), target)
        return sorted({f.detail for f in graph.features})
    except Exception:  # a file the analyzer refuses still gets the simple scan
        return scan_buildkit_features(text)


def scan_buildkit_features(text: str) -> list[str]:
    """A small line scanner for the common BuildKit-only features."""
    found: set[str] = set()
    lines = text.splitlines()
    if lines and _SYNTAX.match(lines[0]):
        found.add("syntax directive")
    for line in _CONT.sub(" ", text).splitlines():
        m = _INSTR.match(line)
        if not m:
            continue
        instr, rest = m.group(1).upper(), m.group(2)
        flags: list[str] = []
        for tok in rest.split():
            if not tok.startswith("--"):
                break
            flags.append(tok[2:].split("=", 1)[0].lower())
        if instr == "RUN":
            if "mount" in flags:
                found.add("RUN --mount")
            if "network" in flags or "security" in flags:
                found.add("RUN --network/--security")
        else:
            for f in ("link", "chmod", "parents", "exclude"):
                if f in flags:
                    found.add(f"{instr} --{f}")
        if _HEREDOC.search(rest):
            found.add("heredoc")
    return sorted(found)
