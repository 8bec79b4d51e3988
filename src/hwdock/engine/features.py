"""Which BuildKit-only features a Dockerfile uses: decides whether the legacy builder may run it.

Uses the Dockerfile package's feature list when it provides one (`hwdock.dockerfile`
`features`); otherwise a small line scanner that knows the common ones: `RUN --mount`,
`--network`/`--security` on RUN, heredocs (`<<EOF`), `COPY --link`/`--chmod`/`--parents`,
and a `# syntax=` directive.
"""

from __future__ import annotations

import re

_CONT = re.compile(r"\\\s*\n")
_INSTR = re.compile(r"^\s*(RUN|COPY|ADD)\s+(.*)$", re.I)
_HEREDOC = re.compile(r"<<-?\s*[\"']?[A-Za-z_][A-Za-z0-9_]*[\"']?")
_SYNTAX = re.compile(r"^#\s*syntax\s*=", re.I)


def needs_buildkit(text: str) -> list[str]:
    """Names of the BuildKit-only features in `text` (empty when the legacy builder can run it)."""
    try:  # the Dockerfile helper's richer answer, when it is there
        from hwdock.dockerfile import features as _features  # type: ignore[attr-defined]

        fn = getattr(_features, "buildkit_features", None) or getattr(
            _features, "needs_buildkit", None
        )
        if callable(fn):
            got = fn(text)
            return sorted({str(x) for x in got})
    except ImportError:
        pass
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
