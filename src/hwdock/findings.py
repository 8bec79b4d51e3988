"""A finding: something hwdock noticed, why it matters and the exact fix."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class Finding:
    code: str  # stable, machine-readable, e.g. "kfd-not-writable"
    message: str  # what is wrong, for people
    severity: Severity = "warning"
    fix: str | None = None  # the exact command or change that resolves it
    evidence: list[str] = field(default_factory=list)  # paths, values, command outputs

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Finding:
        return cls(
            code=d["code"],
            message=d["message"],
            severity=d.get("severity", "warning"),
            fix=d.get("fix"),
            evidence=list(d.get("evidence", [])),
        )
