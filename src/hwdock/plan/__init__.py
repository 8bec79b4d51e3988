"""The planner: from a host report and a source tree to a `Plan` of decisions and steps.

`make_plan(host, options, *, local_images=None, image_env=None) -> Plan` is the API; each
decision lives in its own pure module (`decide_platform`, `decide_route`, `decide_compat`,
`decide_build_args`, `decide_run`). Imported lazily so `import hwdock.plan.model` stays light.
"""

from __future__ import annotations

from typing import Any


def make_plan(host: Any, options: Any, **kwargs: Any) -> Any:
    from hwdock.plan.make import make_plan as _make

    return _make(host, options, **kwargs)


__all__ = ["make_plan"]
