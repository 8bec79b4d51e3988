"""The build checks of hwdock/dockerfile/lint.py: BuildKit's rule names and message texts."""

from __future__ import annotations

import pytest

from hwdock.dockerfile.graph import analyze


def _found(text: str, **kw: object) -> list[tuple[str, int | None, str]]:
    graph = analyze(text.encode(), "Dockerfile", **kw)  # type: ignore[arg-type]
    return [(f.code, f.line, f.message) for f in graph.findings]


def _codes(text: str) -> list[tuple[str, int | None]]:
    return [(code, line) for code, line, _ in _found(text)]


def test_a_second_cmd_entrypoint_or_healthcheck_reports_the_one_ignored() -> None:
    text = (
        "FROM alpine AS one\n"  # 1
        'CMD ["a"]\n'  # 2 <- ignored
        'ENTRYPOINT ["x"]\n'  # 3
        'CMD ["b"]\n'  # 4
        "HEALTHCHECK NONE\n"  # 5 <- ignored
        "HEALTHCHECK CMD true\n"  # 6
        "FROM alpine\n"  # 7: another stage starts afresh
        'CMD ["c"]\n'  # 8
    )
    found = _found(text)
    multiple = [
        (line, msg) for code, line, msg in found if code == "MultipleInstructionsDisallowed"
    ]
    assert multiple == [
        (
            2,
            "Multiple CMD instructions should not be used in the same stage because only the "
            "last one will be used",
        ),
        (
            5,
            "Multiple HEALTHCHECK instructions should not be used in the same stage because "
            "only the last one will be used",
        ),
    ]
    # the instruction as written (BuildKit reports the command's name as the file has it)
    lower = _found('from alpine\ncmd ["a"]\ncmd ["b"]\n')
    assert any(
        m.startswith("Multiple cmd instructions") for c, _, m in lower if c.startswith("Mul")
    )


@pytest.mark.parametrize("name", ["scratch", "context"])
def test_reserved_stage_names(name: str) -> None:
    found = _found(f"FROM alpine AS {name}\nRUN true\n")
    assert (
        "ReservedStageName",
        1,
        f'Stage name should not use the same name as reserved stage "{name}"',
    ) in found
    assert not any(c == "ReservedStageName" for c, _, _ in _found("FROM alpine AS scratchpad\n"))


def test_maintainer_is_deprecated() -> None:
    assert (
        "MaintainerDeprecated",
        2,
        "Maintainer instruction is deprecated in favor of using label",
    ) in _found("FROM alpine\nMAINTAINER me@example.com\n")


def test_legacy_key_value_format() -> None:
    found = _found("FROM alpine\nENV PATH /opt/bin:$PATH\nLABEL version 1\nENV A=1 B=2\n")
    legacy = [(line, msg) for code, line, msg in found if code == "LegacyKeyValueFormat"]
    assert legacy == [
        (2, '"ENV key=value" should be used instead of legacy "ENV key value" format'),
        (3, '"LABEL key=value" should be used instead of legacy "LABEL key value" format'),
    ]


def test_relative_workdir_only_first_in_a_stage_and_inherited_from_a_stage() -> None:
    text = (
        "FROM alpine AS base\n"  # 1
        "WORKDIR app\n"  # 2 <- relative, first in the stage
        "WORKDIR sub\n"  # 3    relative, but the first was already set: not reported
        "FROM alpine AS other\n"  # 4
        "WORKDIR /srv\n"  # 5    absolute
        "WORKDIR data\n"  # 6    fine after it
        "FROM base\n"  # 7    built on a stage that set it
        "WORKDIR more\n"  # 8
        "FROM alpine\n"  # 9
        "WORKDIR $HOME/x\n"  # 10   a variable: its value is the base image's business
    )
    found = _found(text)
    relative = [(line, msg) for code, line, msg in found if code == "WorkdirRelativePath"]
    assert relative == [
        (2, 'Relative workdir "app" can have unexpected results if the base image changes')
    ]


def test_from_platform_flag() -> None:
    found = _codes(
        "FROM --platform=$TARGETPLATFORM alpine AS a\n"  # 1 redundant
        "FROM --platform=${TARGETPLATFORM} alpine AS b\n"  # 2 redundant
        "FROM --platform=linux/amd64 alpine AS c\n"  # 3 constant
        "FROM --platform=linux/arm64 alpine AS build-arm64\n"  # 4 named for it: fine
        "FROM --platform=$BUILDPLATFORM alpine AS d\n"  # 5 the usual cross-build: fine
    )
    platform_rules = ("RedundantTargetPlatform", "FromPlatformFlagConstDisallowed")
    assert [c for c in found if c[0] in platform_rules] == [
        ("RedundantTargetPlatform", 1),
        ("RedundantTargetPlatform", 2),
        ("FromPlatformFlagConstDisallowed", 3),
    ]
    (msg,) = [m for c, _, m in _found("FROM --platform=linux/amd64 alpine\n") if "Const" in c]
    assert msg == 'FROM --platform flag should not use constant value "linux/amd64"'


def test_checks_come_with_their_documentation_page_and_resolve_only_has_none() -> None:
    text = "FROM alpine AS scratch\nMAINTAINER x\n"
    graph = analyze(text.encode(), "Dockerfile")
    urls = {f.code: f.url for f in graph.findings}
    assert urls["ReservedStageName"].endswith("/build-checks/reserved-stage-name/")
    assert urls["MaintainerDeprecated"].endswith("/build-checks/maintainer-deprecated/")
    assert analyze(text.encode(), "Dockerfile", checks=False).findings == []


def test_a_clean_multistage_file_has_no_findings() -> None:
    text = (
        "ARG BASE=alpine:3.20\n"
        "FROM --platform=$BUILDPLATFORM ${BASE} AS build\n"
        "WORKDIR /src\n"
        "ENV CGO_ENABLED=0\n"
        "RUN echo build\n"
        "FROM ${BASE}\n"
        "LABEL org.opencontainers.image.authors=me\n"
        "COPY --from=build /src /app\n"
        'ENTRYPOINT ["/app/run"]\n'
        'CMD ["--help"]\n'
    )
    assert _found(text) == []
