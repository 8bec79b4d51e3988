"""The labels hwdock puts on images it builds, and the plan hash that makes "up to date" cheap.

`dev.hwdock.plan-hash` is a sha256 over everything that decides what a build produces and
that hwdock can know without running it: the Dockerfile text, the build args, the target,
the platform, the digest of the context as `.dockerignore` leaves it (see context.py), and
the image ids of the earlier steps the build stands on and of the images its FROM lines
name (passed in `parents` as "from:<ref>"). When the image already carries the
same hash, the build is skipped without sending the context.

Secrets are never part of a label: only their ids would be, and they do not change what the
recipe is, so they are left out entirely.
"""

from __future__ import annotations

import json

from hwdock import __version__
from hwdock.sha import sha256

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:
    from collections.abc import Mapping

PLAN_HASH_LABEL = "dev.hwdock.plan-hash"
HASH_VERSION = 1


def plan_hash(
    *,
    dockerfile_text: str,
    build_args: Mapping[str, str],
    target: str | None,
    platform: str | None,
    context_digest: str,
    dockerignore_text: str = "",
    parents: Mapping[str, str] | None = None,
) -> str:
    doc = {
        "v": HASH_VERSION,
        "dockerfile": sha256(dockerfile_text.encode()).hexdigest(),
        "dockerignore": sha256(dockerignore_text.encode()).hexdigest(),
        "build_args": dict(sorted(build_args.items())),
        "target": target,
        "platform": platform,
        "context": context_digest,
        "parents": dict(sorted((parents or {}).items())),
    }
    blob = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    return "sha256:" + sha256(blob).hexdigest()


def image_labels(
    *, plan_hash_value: str, title: str, source: str | None, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """OCI annotations plus hwdock's own; values here must never come from secrets."""
    import datetime as _dt  # here: the "nothing changed" path labels nothing

    labels = {
        "org.opencontainers.image.title": title,
        "org.opencontainers.image.created": _dt.datetime.now(_dt.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ"
        ),
        "org.opencontainers.image.vendor": "built by hwdock",
        "dev.hwdock.version": __version__,
        PLAN_HASH_LABEL: plan_hash_value,
    }
    if source:
        labels["org.opencontainers.image.source"] = source
    if extra:
        labels.update(extra)
    return labels
