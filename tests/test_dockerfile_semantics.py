"""Pure checks of image references, ARG scoping, the stage graph, features and build checks."""

from __future__ import annotations

import pytest

from hwdock.dockerfile import analyze
from hwdock.dockerfile.imageref import InvalidReference, parse_image_ref
from hwdock.dockerfile.parser import parse
from hwdock.dockerfile.platforms import parse_platform
from hwdock.errors import InputError, UsageError


@pytest.mark.parametrize(
    ("ref", "normalized", "familiar"),
    [
        ("ubuntu", "docker.io/library/ubuntu:latest", "ubuntu:latest"),
        ("ubuntu:22.04", "docker.io/library/ubuntu:22.04", "ubuntu:22.04"),
        ("rocm/vllm-dev:base", "docker.io/rocm/vllm-dev:base", "rocm/vllm-dev:base"),
        ("index.docker.io/library/debian", "docker.io/library/debian:latest", "debian:latest"),
        ("localhost/foo", "localhost/foo:latest", "localhost/foo:latest"),
        ("localhost:5000/a/b:1", "localhost:5000/a/b:1", "localhost:5000/a/b:1"),
        ("127.0.0.1:5000/x", "127.0.0.1:5000/x:latest", "127.0.0.1:5000/x:latest"),
        ("nvcr.io/nvidia/pytorch:24.01-py3", "nvcr.io/nvidia/pytorch:24.01-py3", None),
        ("Foo/bar", "Foo/bar:latest", None),  # upper case first component: a host
        (
            "busybox@sha256:" + "a" * 64,
            "docker.io/library/busybox@sha256:" + "a" * 64,
            "busybox@sha256:" + "a" * 64,
        ),
        (
            "busybox:1.36@sha256:" + "b" * 64,
            "docker.io/library/busybox:1.36@sha256:" + "b" * 64,
            None,
        ),
    ],
)
def test_image_reference_normalisation(ref: str, normalized: str, familiar: str | None) -> None:
    r = parse_image_ref(ref)
    assert r.normalized == normalized
    if familiar is not None:
        assert r.familiar == familiar


@pytest.mark.parametrize(
    "ref",
    ["", "Ubuntu", "ubuntu:", "a" * 64, "foo/Bar", "ubuntu:tag with space", "-x", "x@sha256:12"],
)
def test_invalid_references(ref: str) -> None:
    with pytest.raises(InvalidReference):
        parse_image_ref(ref)


def test_platform_parsing() -> None:
    assert str(parse_platform("linux/amd64")) == "linux/amd64"
    assert str(parse_platform("linux/arm64/v8")) == "linux/arm64"
    assert str(parse_platform("arm64")) == "linux/arm64"
    assert str(parse_platform("linux/arm/v7")) == "linux/arm/v7"
    with pytest.raises(ValueError):
        parse_platform("linux//")


def test_global_arg_only_reaches_from_and_bare_arg_takes_the_global_value() -> None:
    g = analyze(
        "ARG IMG=alpine:3\nARG V=1\nFROM $IMG\nLABEL a=$V\nARG V\nLABEL b=$V\n", "D", {}, None
    )
    st = g.stages[0]
    assert st.base.resolved == "alpine:3"
    assert st.labels == {"a": "", "b": "1"}
    assert st.args["V"].source == "global"


def test_builtin_platform_args_and_overrides() -> None:
    text = (
        "FROM scratch\nARG TARGETPLATFORM\nARG BUILDARCH\nARG TARGETSTAGE\n"
        "LABEL p=$TARGETPLATFORM b=$BUILDARCH s=$TARGETSTAGE\n"
    )
    g = analyze(text, "D", {}, None, "linux/arm64", host_machine="x86_64")
    assert g.stages[0].labels == {"p": "linux/arm64", "b": "amd64", "s": "default"}
    g2 = analyze(text, "D", {"TARGETPLATFORM": "linux/riscv64"}, None, None)
    assert g2.stages[0].labels["p"] == "linux/riscv64"
    # FROM sees built-ins without declaring them
    g3 = analyze("FROM base-$TARGETARCH\n", "D", {}, None, "linux/arm64")
    assert g3.stages[0].base.resolved == "base-arm64"
    assert g3.stages[0].base.provenance[0].source == "builtin"
    assert not [f for f in g3.findings if f.code == "UndefinedArgInFrom"]


def test_env_in_one_instruction_uses_the_previous_values() -> None:
    g = analyze("FROM scratch\nENV A=1\nENV A=2 B=$A\n", "D", {}, None)
    assert g.stages[0].config_env == {"A": "2", "B": "1"}


def test_new_shell_forms_in_arg_defaults() -> None:
    text = (
        "ARG V=12.8.1\nFROM scratch\nARG V\nARG MAJOR=${V%%.*}\nARG REST=${V#*.}\n"
        "ARG U=${V//./_}\nARG E=${NOPE-unset}\nARG P=${V+set}\n"
    )
    args = analyze(text, "D", {}, None).stages[0].args
    assert (args["MAJOR"].value, args["REST"].value, args["U"].value) == ("12", "8.1", "12_8_1")
    assert (args["E"].value, args["P"].value) == ("unset", "set")


def test_target_selection_pruning_and_errors() -> None:
    text = (
        "FROM scratch AS a\nFROM scratch AS b\nCOPY --from=a / /\n"
        "FROM scratch AS c\nCOPY --from=0 / /\nFROM busybox AS d\n"
    )
    g = analyze(text, "D", {}, "b")
    assert [s.used for s in g.stages] == [True, True, False, False]
    g = analyze(text, "D", {}, "C")
    assert [s.used for s in g.stages] == [True, False, True, False]
    g = analyze(text, "D", {}, None)
    assert g.target_stage.display == "d" and [s.used for s in g.stages] == [
        False,
        False,
        False,
        True,
    ]
    with pytest.raises(UsageError, match="target stage 'nope' could not be found"):
        analyze(text, "D", {}, "nope")


def test_external_images_from_copy_and_mount() -> None:
    text = (
        "FROM scratch\nCOPY --from=nginx:1.25 /etc/nginx /n\n"
        "RUN --mount=type=bind,from=ghcr.io/x/y:1,target=/y true\n"
    )
    g = analyze(text, "D", {}, None)
    assert [i.ref for i in g.images] == [
        "docker.io/library/nginx:1.25",
        "ghcr.io/x/y:1",
    ]


def test_circular_dependency_is_an_error_with_a_line() -> None:
    text = "FROM scratch AS a\nCOPY --from=b / /\nFROM scratch AS b\nCOPY --from=a / /\n"
    with pytest.raises(InputError, match=r"D:\d+: circular dependency"):
        analyze(text, "D", {}, None)


def test_checks() -> None:
    text = (
        "ARG GITHUB_TOKEN\nARG BASE\nFROM $BASE as Builder\nFROM $UNDECLARED AS x\n"
        "FROM scratch AS x\nENV DB_PASSWORD=1 PUBLIC_KEY=2\nCMD echo hi\n"
    )
    g = analyze(text, "Dockerfile", {"BASE": "alpine"}, None)
    got = {(f.code, f.line) for f in g.findings}
    assert {
        ("SecretsUsedInArgOrEnv", 1),
        ("FromAsCasing", 3),
        ("StageNameCasing", 3),
        ("UndefinedArgInFrom", 4),
        ("EmptyBaseImage", 4),
        ("DuplicateStageName", 5),
        ("SecretsUsedInArgOrEnv", 6),
        ("JSONArgsRecommended", 7),
        ("InvalidDefaultArgInFrom", 3),
    } <= got
    # PUBLIC_KEY is allowed by BuildKit's allow-list
    assert not any("PUBLIC_KEY" in f.message for f in g.findings)
    f = next(f for f in g.findings if f.code == "UndefinedArgInFrom")
    assert f.to_finding("Dockerfile").message.startswith("Dockerfile:4: ")


def test_features_listed_with_lines() -> None:
    text = (
        "# syntax=docker/dockerfile:1.7\nFROM scratch\n"
        "RUN --mount=type=secret,id=t --mount=type=ssh --network=none true\n"
        "COPY --link --chmod=755 --chown=$U a b\nADD --checksum=sha256:00 http://x/y /y\n"
        "COPY --parents --exclude=*.pyc a/ b/\n"
        "COPY <<EOF /f\nhello\nEOF\n"
    )
    g = analyze(text, "D", {}, None)
    codes = {(f.code, f.line) for f in g.features}
    assert codes == {
        ("syntax-directive", 1),
        ("run-mount-secret", 3),
        ("run-mount-ssh", 3),
        ("run-network", 3),
        ("copy-link", 4),
        ("copy-chmod", 4),
        ("copy-chown-variable", 4),
        ("add-checksum", 5),
        ("copy-parents", 6),
        ("copy-exclude", 6),
        ("heredoc", 7),
    }
    assert g.buildkit_required
    assert not analyze("FROM scratch\nRUN true\n", "D", {}, None).buildkit_required


def test_parser_details_heredocs_escape_and_onbuild() -> None:
    r = parse(
        "# escape=`\nFROM scratch\nRUN echo a `\n  b\n"
        'RUN <<-"A" cat - 3<<B\n\tline $x\n\tA\nbody\nB\n'
        "ONBUILD RUN --mount=type=cache,target=/c true\n"
    )
    assert r.escape_token == "`"
    run1, run2, onb = r.children[1:]
    assert run1.args == ["echo a   b"]
    assert (run1.start_line, run1.end_line) == (3, 4)
    assert [(h.name, h.chomp, h.expand, h.file_descriptor) for h in run2.heredocs] == [
        ("A", True, False, 0),
        ("B", False, True, 3),
    ]
    assert run2.heredocs[0].content == "\tline $x\n"
    assert (run2.start_line, run2.end_line) == (5, 9)
    assert onb.next is not None and onb.next.children[0].flags == ["--mount=type=cache,target=/c"]


def test_crlf_and_bom_are_accepted() -> None:
    data = "\ufeffFROM scratch\r\nARG A=1 \\\r\n  B=2\r\nLABEL x=$A\r\n".encode()
    g = analyze(data, "D", {}, None)
    assert g.stages[0].args["B"].value == "2"
    assert g.stages[0].labels == {"x": "1"}


def test_onbuild_triggers_run_in_the_child_stage() -> None:
    text = (
        "FROM scratch AS a\nFROM scratch AS p\nONBUILD COPY --from=a / /\n"
        "ONBUILD ENV FROM_TRIGGER=1\nFROM scratch AS unrelated\nFROM p AS c\n"
    )
    g = analyze(text, "D", {}, None)
    assert [s.used for s in g.stages] == [True, True, False, True]
    c = g.stages[3]
    assert c.config_env == {"FROM_TRIGGER": "1"}
    assert [(d.kind, d.stage, d.line) for d in c.dependencies] == [("from", 1, 6), ("copy", 0, 3)]
    # triggers do not run in the stage that declares them
    assert g.stages[1].config_env == {}
