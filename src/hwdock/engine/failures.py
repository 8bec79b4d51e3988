"""Turn a failed build's (or run's) exit status and output into the right exit code and
advice: `classify` picks the exit code from the status and the last lines; `explain` adds
what the known-error table (`knowledge/data/errors.toml`, via
`hwdock.doctor.known_errors.explain_log`) recognises anywhere in the output: the cause, the
fix, and the log lines it was seen on, with the table entry's source."""

from __future__ import annotations

import re
from collections.abc import Iterable

from hwdock.errors import ExitCode

_OOM = re.compile(r"exit code: 137|signal: killed|\bKilled\b|out of memory|OOMKilled", re.I)
_NOSPACE = re.compile(r"no space left on device|ENOSPC|disk quota exceeded", re.I)
_DAEMON = re.compile(r"Cannot connect to the (?:Docker )?daemon|Is the docker daemon running", re.I)
_NET = re.compile(r"network bridge not found|network \S+ not found", re.I)
_SECRET = re.compile(r"secret (\S+): not found|secret \S+ not provided", re.I)


def classify(returncode: int, lines: Iterable[str]) -> tuple[ExitCode, str | None]:
    """(exit code, hint) for a failed build, from its status and last lines of output."""
    text = "\n".join(lines)
    if _NOSPACE.search(text):
        return ExitCode.NO_SPACE, (
            "the disk is full: free space (docker system prune, docker builder prune) or move "
            "the engine's data root; check with df -h"
        )
    if returncode == 137 or _OOM.search(text):
        return ExitCode.OUT_OF_MEMORY, (
            "the build was killed for lack of memory: lower MAX_JOBS "
            "(hwdock build --build-arg MAX_JOBS=2) or add memory or swap"
        )
    if _DAEMON.search(text):
        return ExitCode.ENGINE_UNAVAILABLE, "start the engine's daemon and check `docker info`"
    if _NET.search(text):
        return ExitCode.BUILD_FAILED, (
            "the engine has no default bridge network: build with --network host "
            "(or --network none when the build needs no network)"
        )
    m = _SECRET.search(text)
    if m:
        return ExitCode.BUILD_FAILED, (
            "a build secret was missing: export it in hwdock's environment "
            "(e.g. export HF_TOKEN=...) — hwdock passes it by name only"
        )
    return ExitCode.BUILD_FAILED, None


MAX_EXPLAINED = 3


def explain(text: str, where: str | None = None) -> str | None:
    """The known errors found in a failed build's or run's output, for its error message:
    one block per error (cause, fix, `where:line: text`, source); None when none matched.
    `where` names the log (its path) so the lines can be found in it."""
    from hwdock.doctor.known_errors import explain_log

    findings = explain_log(text, where)
    if not findings:
        return None
    blocks = []
    for f in findings[:MAX_EXPLAINED]:
        seen, source = [*f.evidence, "", ""][:2]
        blocks.append(
            f"  known error [{f.code}]: {f.message}\n"
            f"    fix: {f.fix}\n"
            f"    seen at {seen}\n"
            f"    source: {source}"
        )
    more = len(findings) - MAX_EXPLAINED
    if more > 0:
        blocks.append(f"  ... and {more} more (hwdock explain-error {where or 'LOG'})")
    return "\n".join(blocks)
