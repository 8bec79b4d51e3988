"""What every collector gets: the root, the runner, the environment, the user, and a place to
put accelerators and findings."""

from __future__ import annotations

from hwdock.findings import Finding, Severity
from hwdock.probe.merge import Devices
from hwdock.probe.model import HostReport
from hwdock.probe.root import Root
from hwdock.probe.runner import DEFAULT_TIMEOUT, CommandResult, Runner


class User:
    """Who the probe runs as: permissions on device nodes are judged for this user."""

    __slots__ = ("gid", "groups", "uid")

    def __init__(self, uid: int = 0, gid: int = 0, groups: list[int] | None = None) -> None:
        self.uid, self.gid, self.groups = uid, gid, list(groups or [])


class Context:
    __slots__ = ("devices", "env", "report", "root", "runner", "timeout", "use_nvml", "user")

    def __init__(
        self,
        root: Root,
        runner: Runner,
        env: dict[str, str],
        user: User,
        report: HostReport,
        *,
        use_nvml: bool = False,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.root, self.runner, self.env, self.user, self.report = root, runner, env, user, report
        self.devices = Devices()
        self.use_nvml, self.timeout = use_nvml, timeout

    def warn(
        self,
        code: str,
        message: str,
        *,
        fix: str | None = None,
        evidence: list[str] | None = None,
        severity: Severity = "warning",
    ) -> None:
        self.report.findings.append(Finding(code, message, severity, fix, evidence or []))

    def run(self, argv: list[str], *, quiet_missing: bool = True) -> CommandResult:
        """Run a command; a timeout (and, unless quiet, a missing tool) becomes a warning."""
        result = self.runner.run(argv, self.timeout)
        if result.timed_out:
            self.warn(
                "command-timed-out",
                f"`{' '.join(argv)}` did not answer within {self.timeout:g}s; "
                "its facts are missing",
                evidence=[result.stderr.strip()[-300:]],
            )
        elif result.missing and not quiet_missing:
            self.warn("command-missing", f"`{argv[0]}` is not installed")
        return result

    def read(self, path: str) -> str | None:
        return self.root.read_text(path)

    def read_value(self, path: str) -> str | None:
        """A one-value sysfs file, stripped (and NUL-trimmed, for device-tree strings)."""
        text = self.root.read_text(path)
        if text is None:
            return None
        text = text.replace("\x00", "").strip()
        return text or None

    def read_int(self, path: str, base: int = 0) -> int | None:
        return parse_int(self.read_value(path), base)


def parse_int(text: str | None, base: int = 0) -> int | None:
    if text is None:
        return None
    try:
        return int(text.strip(), base)
    except ValueError:
        return None
