"""More of BuildKit's build checks, on the parsed stages (`analyze` runs them with checks on).

The rule names and message texts are BuildKit's (frontend/dockerfile/linter/ruleset.go and
the build-checks reference pages), so a user can look a finding up as Docker prints it:

- MultipleInstructionsDisallowed: a second CMD, ENTRYPOINT or HEALTHCHECK in a stage; the
  earlier one is reported, as it is the one ignored.
- ReservedStageName: a stage named `scratch` or `context`.
- MaintainerDeprecated: MAINTAINER (use a label).
- LegacyKeyValueFormat: `ENV key value` / `LABEL key value` (whitespace, no `=`).
- WorkdirRelativePath: a stage's first WORKDIR (or that of the stage it is built on) is
  relative: the result depends on the base image's working directory.
- RedundantTargetPlatform: `FROM --platform=$TARGETPLATFORM`, which is the default.
- FromPlatformFlagConstDisallowed: `FROM --platform=<constant>`, unless the stage name
  mentions that OS or architecture (BuildKit's own exception).
"""

from __future__ import annotations

from hwdock.dockerfile.checks import finding
from hwdock.dockerfile.model import DockerfileFinding
from hwdock.dockerfile.parser import Node

__all__ = ["extra_checks"]

_ONCE = ("cmd", "entrypoint", "healthcheck")
_RESERVED = ("scratch", "context")
_TARGETPLATFORM = ("$TARGETPLATFORM", "${TARGETPLATFORM}")


def extra_checks(
    stage_nodes: list[tuple[Node, list[Node]]],
    parsed_from: list[tuple[str, str | None, str | None]],
    parents: list[int | None],
) -> list[DockerfileFinding]:
    """`parents[i]`: the stage stage i is built FROM, or None (an image or scratch)."""
    out: list[DockerfileFinding] = []
    workdir_in: list[bool] = []  # per stage: a WORKDIR was set in it (or the stage it is on)
    for i, ((fn, body), (_, name, platform)) in enumerate(
        zip(stage_nodes, parsed_from, strict=True)
    ):
        line = fn.start_line
        if name in _RESERVED:
            out.append(
                finding(
                    "ReservedStageName",
                    f'Stage name should not use the same name as reserved stage "{name}"',
                    line,
                )
            )
        if platform is not None:
            _platform_flag(platform, name, line, out)
        parent = parents[i]
        workdir_set = parent is not None and workdir_in[parent]
        last: dict[str, int] = {}
        for n in body:
            kw = n.keyword
            if kw in _ONCE:
                if kw in last:
                    out.append(
                        finding(
                            "MultipleInstructionsDisallowed",
                            f"Multiple {n.value} instructions should not be used in the same "
                            "stage because only the last one will be used",
                            last[kw],
                        )
                    )
                last[kw] = n.start_line
            elif kw == "maintainer":
                out.append(
                    finding(
                        "MaintainerDeprecated",
                        "Maintainer instruction is deprecated in favor of using label",
                        n.start_line,
                    )
                )
            elif kw == "env" or kw == "label":
                words = n._words if n._words is not None else n.args  # read only: no copy
                if len(words) >= 3 and words[2] == "":  # the parser's mark of `key value`
                    out.append(
                        finding(
                            "LegacyKeyValueFormat",
                            f'"{n.value} key=value" should be used instead of legacy '
                            f'"{n.value} key value" format',
                            n.start_line,
                        )
                    )
            elif kw == "workdir":
                # only the stage's first WORKDIR is judged (fixing it fixes the rest), as
                # BuildKit does; one with a variable is not judged here (its value depends on
                # the base image's environment)
                path = n.args[0] if n.has_next else ""
                if not workdir_set and "$" not in path and not path.startswith("/"):
                    out.append(
                        finding(
                            "WorkdirRelativePath",
                            f'Relative workdir "{path}" can have unexpected results if the '
                            "base image changes",
                            n.start_line,
                        )
                    )
                workdir_set = True
        workdir_in.append(workdir_set)
    return out


def _platform_flag(value: str, name: str | None, line: int, out: list[DockerfileFinding]) -> None:
    if value in _TARGETPLATFORM:
        out.append(
            finding(
                "RedundantTargetPlatform",
                f"Setting platform to predefined {value} in FROM is redundant as this is the "
                "default behavior",
                line,
            )
        )
        return
    if "$" in value or not value:
        return  # chosen by an ARG: what the flag is for
    parts = value.split("/")
    if name and any(p and p in name for p in parts[:2]):
        return  # a stage named for its platform (`FROM --platform=linux/arm64 AS build-arm64`)
    out.append(
        finding(
            "FromPlatformFlagConstDisallowed",
            f'FROM --platform flag should not use constant value "{value}"',
            line,
        )
    )
