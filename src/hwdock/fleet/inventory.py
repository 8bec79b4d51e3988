"""Reading the fleet's hosts: `hwdock probe --json` reports, or capture directories.

Checks before anything is planned: the document is a host report, its schema version is one
this hwdock reads, and no two hosts share a name (the name is what the table, variant
membership and Kubernetes pinning refer to).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hwdock.errors import InputError
from hwdock.jsonin import read_json
from hwdock.probe.model import SCHEMA_VERSION, HostReport

MIN_SCHEMA_VERSION = 1


@dataclass
class FleetHost:
    name: str
    report: HostReport
    source: str


def _from_capture(path: Path) -> HostReport:
    """Replay a capture directory with the probe (`hwdock probe --from DIR`)."""
    from hwdock.probe.capture import replay

    return replay(path)


def read_report(path: Path) -> HostReport:
    if path.is_dir():
        if not (path / "meta.json").is_file():
            raise InputError(
                "not a host capture (no meta.json) and not a report file", path=str(path)
            )
        return _from_capture(path)
    doc = read_json(path, "host report")
    if not isinstance(doc, dict) or doc.get("kind") != "host-report":
        kind = doc.get("kind") if isinstance(doc, dict) else type(doc).__name__
        raise InputError(
            f"not a host report (kind {kind!r})",
            path=str(path),
            hint="make one with `hwdock probe --json > host.json` on that host",
        )
    version = doc.get("schema_version")
    if not isinstance(version, int):
        raise InputError("host report without a schema_version", path=str(path))
    if version < MIN_SCHEMA_VERSION:
        raise InputError(
            f"host report schema_version {version} is older than this hwdock reads "
            f"({MIN_SCHEMA_VERSION}..{SCHEMA_VERSION})",
            path=str(path),
            hint="probe the host again with this hwdock: `hwdock probe --json > host.json`",
        )
    try:
        return HostReport.from_dict(doc)
    except InputError as e:
        raise InputError(e.message, path=str(path), hint=e.hint) from e
    except (TypeError, KeyError, ValueError) as e:
        raise InputError(f"malformed host report: {e}", path=str(path)) from e


def load_hosts(paths: list[Path]) -> list[FleetHost]:
    if not paths:
        from hwdock.errors import UsageError

        raise UsageError("give at least one host report (hwdock probe --json > host.json)")
    hosts: list[FleetHost] = []
    seen: dict[str, str] = {}
    for path in paths:
        report = read_report(path)
        name = report.hostname or path.stem
        if not report.hostname:
            report.hostname = name
        if name in seen:
            raise InputError(
                f"two hosts are named {name!r}: {seen[name]} and {path}",
                path=str(path),
                hint="host names identify nodes in the plan; rename one report's hostname",
            )
        seen[name] = str(path)
        hosts.append(FleetHost(name, report, str(path)))
    return hosts
