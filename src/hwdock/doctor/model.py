"""Results of `hwdock doctor` and `hwdock verify`: checks with a status, evidence and fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "warn", "fail", "skip"]
STATUSES: tuple[Status, ...] = ("ok", "warn", "fail", "skip")
SCHEMA_VERSION = 1


@dataclass
class Check:
    id: str  # stable, e.g. "engine", "device-access:/dev/kfd", "arch-coverage"
    title: str
    status: Status
    message: str  # what was found, for people
    evidence: list[str] = field(default_factory=list)
    fix: str | None = None  # the exact change that resolves a warn/fail

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def summary(checks: list[Check]) -> dict[str, int]:
    return {s: sum(1 for c in checks if c.status == s) for s in STATUSES}


def document(kind: str, checks: list[Check], **extra: Any) -> dict[str, Any]:
    """A `--json` document: kind "doctor-report" or "verify-report"."""
    counts = summary(checks)
    return {
        "kind": kind,
        "schema_version": SCHEMA_VERSION,
        **extra,
        "ok": counts["fail"] == 0,
        "summary": counts,
        "checks": [c.to_dict() for c in checks],
    }
