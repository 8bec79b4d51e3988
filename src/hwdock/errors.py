"""Errors hwdock expects, each with a message for people and a distinct exit code.

The CLI turns any `HwdockError` into one short message and its exit code; no traceback.
Exit codes are documented in docs/exit-codes.md; keep the two in step.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILED_CHECK = 1  # a check or verdict failed (doctor, verify)
    USAGE = 2  # bad arguments or options
    INPUT = 3  # a file hwdock was asked to read is missing or malformed
    ENGINE_UNAVAILABLE = 4  # no container engine, or it does not answer
    BUILD_FAILED = 5  # a build step failed
    RUN_FAILED = 6  # the container failed to start or exited non-zero
    REGISTRY = 7  # a registry could not be reached or refused
    INTERRUPTED = 8  # Ctrl-C; partial work was cleaned up
    NO_SPACE = 9  # disk full
    LOCKED = 10  # another hwdock holds the lock for this tag (with --no-wait)
    INCOMPATIBLE = 11  # the plan found the image cannot work on this host
    OUT_OF_MEMORY = 12  # the build was killed by the OOM killer


class HwdockError(Exception):
    """An expected failure: says what happened and what to do."""

    exit_code: ExitCode = ExitCode.INPUT

    def __init__(self, message: str, *, hint: str | None = None, exit_code: ExitCode | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        if exit_code is not None:
            self.exit_code = exit_code

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class InputError(HwdockError):
    """A file or value given to hwdock is missing or malformed; names file:line where known."""

    exit_code = ExitCode.INPUT

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        hint: str | None = None,
    ):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message, hint=hint)
        self.path = path
        self.line = line


class UsageError(HwdockError):
    exit_code = ExitCode.USAGE
