"""BuildKit's own test data, run against hwdock's parser and shell lexer.

The data lives outside the project (../shared/conformance/buildkit, see its README); it is
read in place and never copied. Without the folder these tests skip with the reason, except
under CI=true, where the folder is always provided and its absence is a failure.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hwdock.dockerfile.parser import parse
from hwdock.dockerfile.shell import Lex, ShellError
from hwdock.errors import InputError
from tests.conftest import CONFORMANCE
from tests.support.engine import in_ci

PARSER = CONFORMANCE / "frontend" / "dockerfile" / "parser"
SHELL = CONFORMANCE / "frontend" / "dockerfile" / "shell"


def _need_data() -> None:
    if CONFORMANCE.is_dir():
        return
    reason = f"BuildKit conformance data not found at {CONFORMANCE}"
    if in_ci():
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


def _dirs(sub: str) -> list[str]:
    base = PARSER / sub
    if not base.is_dir():
        return ["<missing>"]
    return sorted(p.name for p in base.iterdir() if p.is_dir())


def _env_var_cases() -> list[tuple[int, str, str]]:
    path = SHELL / "envVarTest"
    if not path.is_file():
        return [(0, "<missing>", "")]
    cases = []
    for lineno, raw in enumerate(path.read_text("utf-8").split("\n"), 1):
        if raw.startswith("#"):
            continue
        line = raw.strip()
        if not line:
            continue
        platform, source, expected = (part.strip() for part in line.split("|"))
        if platform in ("A", "U"):
            cases.append((lineno, source, expected))
    return cases


def _words_cases() -> list[tuple[int, str, list[str], dict[str, str]]]:
    path = SHELL / "wordsTest"
    if not path.is_file():
        return [(0, "<missing>", [], {})]
    env: dict[str, str] = {}
    cases = []
    for lineno, line in enumerate(path.read_text("utf-8").split("\n"), 1):
        if line.startswith("#") or line == "":
            continue
        if line.startswith("ENV "):
            key, _, value = line[3:].lstrip(" ").partition("=")
            env[key] = value
            continue
        source, expected = line.split("|")
        cases.append((lineno, source.strip(), expected.lstrip(" ").split(","), dict(env)))
    return cases


ENV_CASES = _env_var_cases()
WORD_CASES = _words_cases()


def test_case_counts_match_the_issue() -> None:
    _need_data()
    assert len(_dirs("testfiles")) == 33
    assert len(_dirs("testfiles-negative")) == 4
    assert len(ENV_CASES) == 228
    assert len(WORD_CASES) == 24


@pytest.mark.parametrize("case", _dirs("testfiles"))
def test_parser_golden_dump(case: str) -> None:
    _need_data()
    folder = PARSER / "testfiles" / case
    data = (folder / "Dockerfile").read_bytes()
    expected = (folder / "result").read_bytes().decode("utf-8", "surrogateescape")
    result = parse(data, str(folder / "Dockerfile"))
    assert result.dump() + "\n" == expected


@pytest.mark.parametrize("case", _dirs("testfiles-negative"))
def test_parser_negative(case: str) -> None:
    _need_data()
    path = PARSER / "testfiles-negative" / case / "Dockerfile"
    with pytest.raises(InputError) as err:
        parse(path.read_bytes(), str(path))
    assert str(path) in str(err.value)


def test_parser_line_ranges() -> None:
    _need_data()
    path = PARSER / "testfile-line" / "Dockerfile"
    result = parse(path.read_bytes(), str(path))
    assert (result.start_line, result.end_line) == (5, 31)
    assert [(n.start_line, n.end_line) for n in result.children] == [(5, 5), (11, 12), (17, 31)]


ENV = {"PWD": "/home", "SHELL": "bash", "KOREAN": "한국어", "NULL": ""}


@pytest.mark.parametrize(("lineno", "source", "expected"), ENV_CASES, ids=lambda v: str(v))
def test_env_var_expansion(lineno: int, source: str, expected: str) -> None:
    _need_data()
    lex = Lex("\\")
    if expected == "error":
        with pytest.raises(ShellError):
            lex.process_word(source, ENV)
    else:
        assert lex.process_word(source, ENV).result == expected, f"envVarTest:{lineno}"


@pytest.mark.parametrize(("lineno", "source", "expected", "env"), WORD_CASES, ids=lambda v: str(v))
def test_words(lineno: int, source: str, expected: list[str], env: dict[str, str]) -> None:
    _need_data()
    try:
        words = Lex("\\").process_words(source, env)
    except ShellError:
        words = ["error"]
    assert words == expected, f"wordsTest:{lineno}"


def test_data_is_not_copied_into_the_project() -> None:
    root = Path(__file__).resolve().parent.parent
    for p in root.rglob("envVarTest"):
        pytest.fail(f"BuildKit data copied into the project: {p}")
