"""Turn a failed build's exit status and output into the right exit code and advice."""

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
