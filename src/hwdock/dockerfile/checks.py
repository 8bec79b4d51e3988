"""Build checks in the spirit of BuildKit's (`docker build --check`): codes are its rule names."""

from __future__ import annotations

import re

from hwdock.dockerfile.model import DockerfileFinding

__all__ = ["RULES", "finding", "is_secret_name"]

_DOCS = "https://docs.docker.com/reference/build-checks/"

# rule -> (severity, fix)
RULES: dict[str, tuple[str, str | None]] = {
    "UndefinedArgInFrom": ("warning", "declare the ARG before the first FROM"),
    "InvalidDefaultArgInFrom": (
        "warning",
        "give the ARG a default that makes a valid image reference",
    ),
    "FromAsCasing": ("warning", "write FROM ... AS (or from ... as) in the same case"),
    "StageNameCasing": ("warning", "use a lower-case stage name"),
    "DuplicateStageName": ("error", "give every stage its own name"),
    "SecretsUsedInArgOrEnv": (
        "warning",
        "pass secrets with RUN --mount=type=secret instead of ARG or ENV",
    ),
    "JSONArgsRecommended": ("info", 'use the JSON form, e.g. CMD ["prog", "arg"]'),
    "UndefinedVar": ("info", "declare it with ARG or ENV before use"),
    "NoEmptyContinuation": ("warning", "remove the empty line or end the instruction"),
    "EmptyBaseImage": ("error", "set the ARG with --build-arg or give it a default"),
    "InvalidBaseImage": ("error", "fix the image reference"),
    "InvalidStageReference": ("error", "refer to an existing stage name or index"),
    "ExpansionError": ("error", None),
    "InvalidPlatform": ("error", "use os/arch[/variant], e.g. linux/amd64"),
    "MultipleInstructionsDisallowed": ("warning", "keep only the last one (the one used)"),
    "ReservedStageName": ("warning", "rename the stage (scratch and context are reserved)"),
    "MaintainerDeprecated": (
        "warning",
        'use LABEL org.opencontainers.image.authors="..." instead',
    ),
    "LegacyKeyValueFormat": ("warning", "write key=value"),
    "WorkdirRelativePath": ("warning", "set an absolute WORKDIR first, e.g. WORKDIR /app"),
    "RedundantTargetPlatform": ("info", "drop the --platform flag: it is the default"),
    "FromPlatformFlagConstDisallowed": (
        "warning",
        "use --platform=$BUILDPLATFORM or an ARG, or name the stage for its platform",
    ),
}

_URLS: dict[str, str] = {}  # rule -> its documentation page, made on first use

_SECRET = re.compile(
    r"(?i)(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)"
)
_SECRET_ALLOW = re.compile(r"(?i)(?:_|^)(?:public|file|version)(?:_|$)")


def is_secret_name(name: str) -> bool:
    """BuildKit's SecretsUsedInArgOrEnv test on a variable name."""
    return bool(_SECRET.search(name)) and not _SECRET_ALLOW.search(name)


def finding(code: str, message: str, line: int | None, **kw: str | None) -> DockerfileFinding:
    severity, fix = RULES.get(code, ("warning", None))
    url = _URLS.get(code)
    if url is None and code in _BUILDKIT_RULES:
        url = _URLS[code] = _DOCS + _kebab(code) + "/"
    return DockerfileFinding(
        code=code,
        message=message,
        line=line,
        severity=kw.get("severity") or severity,  # type: ignore[arg-type]
        fix=kw.get("fix", fix),
        url=url,
    )


_BUILDKIT_RULES = frozenset(
    (
        "UndefinedArgInFrom",
        "InvalidDefaultArgInFrom",
        "FromAsCasing",
        "StageNameCasing",
        "DuplicateStageName",
        "SecretsUsedInArgOrEnv",
        "JSONArgsRecommended",
        "UndefinedVar",
        "NoEmptyContinuation",
        "MultipleInstructionsDisallowed",
        "ReservedStageName",
        "MaintainerDeprecated",
        "LegacyKeyValueFormat",
        "WorkdirRelativePath",
        "RedundantTargetPlatform",
        "FromPlatformFlagConstDisallowed",
    )
)


def _kebab(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z][a-z])", "-", name).lower()
