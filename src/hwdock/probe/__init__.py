"""The host probe: `probe_host(root, runner, env, user)` over injectable inputs, and
`probe_capture(dir)` to replay a recorded host (docs/capture-format.md).

Imports are lazy so that `import hwdock.probe` stays cheap.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hwdock.probe.model import HostReport


def probe_capture(directory: str | os.PathLike[str]) -> HostReport:
    """The HostReport of a capture directory, replayed (raises InputError when malformed)."""
    from hwdock.probe.capture import replay

    return replay(directory)


def probe_live(*, use_nvml: bool = True, timeout: float = 10.0) -> HostReport:
    """The HostReport of this machine."""
    from hwdock.probe.access import ENV_KEPT
    from hwdock.probe.host import live_user, probe_host
    from hwdock.probe.root import Root
    from hwdock.probe.runner import LiveRunner

    env = {k: os.environ[k] for k in ENV_KEPT if k in os.environ}
    return probe_host(Root("/"), LiveRunner(), env, live_user(), use_nvml=use_nvml, timeout=timeout)
