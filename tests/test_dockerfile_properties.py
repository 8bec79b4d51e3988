"""Property-based tests over the shell lexer, the parser and analyze()."""

from __future__ import annotations

import contextlib
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwdock.dockerfile import analyze
from hwdock.dockerfile.parser import parse
from hwdock.dockerfile.shell import Lex, ShellError
from hwdock.errors import HwdockError, InputError

LEX = Lex("\\")
SHELLISH = st.text(alphabet=st.sampled_from(list("ab $\\'\"{}:-+?#%/*}x_1\t")), max_size=40)
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(SHELLISH | st.text(max_size=40))
def test_lexer_returns_or_raises_shell_error(word: str) -> None:
    env = {"a": "1", "x": "", "b": "two words"}
    for fn in (LEX.process_word, LEX.process_words):
        with contextlib.suppress(ShellError):
            fn(word, env)


@SETTINGS
@given(st.text(alphabet=st.characters(blacklist_characters="$'\"\\<"), max_size=60))
def test_plain_text_expands_to_itself(word: str) -> None:
    assert LEX.process_word(word, {}).result == word


@SETTINGS
@given(st.text(max_size=60).filter(lambda s: "'" not in s))
def test_single_quotes_keep_everything(s: str) -> None:
    assert LEX.process_word(f"'{s}'", {"a": "x"}).result == s


@SETTINGS
@given(st.text(max_size=60))
def test_double_quotes_with_escapes_round_trip(s: str) -> None:
    quoted = '"' + "".join("\\" + c if c in '"$\\' else c for c in s) + '"'
    assert LEX.process_word(quoted, {}).result == s
    assert LEX.process_words(quoted, {}) == ([s] if s else [])


@SETTINGS
@given(NAMES, st.text(max_size=30))
def test_variables_expand_once(name: str, value: str) -> None:
    env = {name: value}
    assert LEX.process_word("${" + name + "}", env).result == value
    assert LEX.process_word("${" + name + ":-zz}", env).result == (value or "zz")
    assert LEX.process_word("${" + name + ":+zz}", env).result == ("zz" if value else "")


@SETTINGS
@given(st.lists(st.text(max_size=20), min_size=1, max_size=6))
def test_exec_form_round_trips(args: list[str]) -> None:
    text = "FROM scratch\nRUN " + json.dumps(args) + "\nCMD " + json.dumps(args) + "\n"
    r = parse(text)
    run, cmd = r.children[1], r.children[2]
    assert run.args == args and run.is_json
    assert cmd.args == args and cmd.is_json


@SETTINGS
@given(
    st.lists(
        st.text(alphabet=st.characters(blacklist_characters="\n\r"), max_size=30).filter(
            lambda line: line.strip() != "EOF"
        ),
        max_size=6,
    )
)
def test_heredoc_bodies_are_kept_verbatim(lines: list[str]) -> None:
    body = "".join(line + "\n" for line in lines)
    text = f"FROM scratch\nRUN <<EOF\n{body}EOF\nLABEL after=1\n"
    r = parse(text)
    [doc] = r.children[1].heredocs
    assert doc.content == body
    assert r.children[2].value == "LABEL"
    assert r.children[2].start_line == 4 + len(lines)


LINES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "FROM scratch",
                "FROM ${B:-busybox} AS s",
                "ARG B=x",
                "ARG",
                "ENV A=1 B=$A",
                "RUN <<EOF",
                "EOF",
                "COPY --from=s / /",
                "COPY --from=9 / /",
                "RUN --mount=type=cache,from=s,target=/x true",
                "ONBUILD RUN x",
                "ONBUILD",
                "ONBUILD ONBUILD RUN x",
                "ENV",
                "LABEL",
                "ENV A",
                "FROM",
                "FROM a b c d",
                "FROM scratch AS 1bad",
                "COPY --from=$X / /",
                "HEALTHCHECK CMD true",
                "EXPOSE $P",
                "RUN --mount=type=bind,from=nginx:1 true",
                "# escape=`",
                "\\",
                'LABEL a="b',
                "  ",
                "FROM s",
            ]
        ),
        st.text(max_size=30),
    ),
    max_size=12,
)


@SETTINGS
@given(LINES, st.sampled_from(["\n", "\r\n"]))
def test_analyze_never_crashes(lines: list[str], nl: str) -> None:
    text = nl.join(lines)
    try:
        g = analyze(text, "Dockerfile", {"B": "busybox"}, None)
    except HwdockError:
        return
    assert 0 <= g.target < len(g.stages)
    assert g.stages[g.target].used


@SETTINGS
@given(st.binary(max_size=200))
def test_parse_of_bytes_never_crashes(data: bytes) -> None:
    try:
        parse(data, "junk")
    except InputError as err:
        assert str(err).startswith("junk:")
