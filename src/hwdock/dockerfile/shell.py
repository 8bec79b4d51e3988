"""BuildKit's shell-word lexer: quoting, escapes and `$` expansion, as `docker build` does it.

Behaviour follows BuildKit's `frontend/dockerfile/shell` package (checked against its own
`envVarTest` and `wordsTest` data in tests/test_dockerfile_conformance.py):

- `$v`, `${v}`, `${v:-w}`, `${v-w}`, `${v:+w}`, `${v+w}`, `${v:?e}`, `${v?e}`,
  `${v#p}`, `${v##p}`, `${v%p}`, `${v%%p}`, `${v/p/r}`, `${v//p/r}` (shell glob patterns with
  `*` and `?`, no bracket expressions);
- single quotes keep everything, double quotes keep all but `$` and the escape token;
- positional and special parameters (`$1`, `$@`, `$#`...) are never set;
- `process_words` also splits the result into words after expansion.

Errors are `ShellError` (a ValueError); callers attach file:line.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from functools import lru_cache

from hwdock.dockerfile.lazyre import LazyRegex

__all__ = ["GO_SPACES", "Lex", "ShellError", "WordResult", "expand", "go_is_space"]

_EOF = ""
_SPECIAL_PARAMS = frozenset("@*#?-$!0")
# Go's unicode.IsSpace, all of it (str.isspace also counts \x1c-\x1f, Go does not)
GO_SPACES = (
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006"
    "\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


class ShellError(ValueError):
    """A word that BuildKit would refuse to expand (bad substitution, unterminated quote...)."""


def go_is_space(ch: str) -> bool:
    """Go's `unicode.IsSpace` for one character."""
    return ch in GO_SPACES and ch != ""


def _is_letter(ch: str) -> bool:
    return ch.isalpha()


def _is_digit(ch: str) -> bool:
    return ch.isdecimal()


class WordResult:
    """The expanded word, its words (process_words) and the variables found / not found."""

    __slots__ = ("matched", "result", "unmatched", "words")

    def __init__(
        self,
        result: str,
        words: list[str],
        matched: set[str] | None = None,
        unmatched: set[str] | None = None,
    ) -> None:
        self.result = result
        self.words = words
        self.matched: set[str] = set() if matched is None else matched
        self.unmatched: set[str] = set() if unmatched is None else unmatched

    def __repr__(self) -> str:
        return (
            f"WordResult(result={self.result!r}, words={self.words!r}, "
            f"matched={self.matched!r}, unmatched={self.unmatched!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, WordResult):
            return NotImplemented
        return (self.result, self.words, self.matched, self.unmatched) == (
            other.result,
            other.words,
            other.matched,
            other.unmatched,
        )

    __hash__ = None  # type: ignore[assignment]


class _Words:
    """Word splitting state; `buf` is shared with nested expansions as in BuildKit."""

    __slots__ = ("buf", "in_word", "words")

    def __init__(self, buf: list[str]):
        self.buf = buf
        self.words: list[str] = []
        self.in_word = False

    def add_char(self, ch: str) -> None:
        if go_is_space(ch):
            if self.in_word and self.buf:
                self.words.append("".join(self.buf))
                self.buf.clear()
                self.in_word = False
        else:
            self.add_raw_char(ch)

    def add_raw_char(self, ch: str) -> None:
        self.buf.append(ch)
        self.in_word = True

    def add_string(self, s: str) -> None:
        for ch in s:
            self.add_char(ch)

    def add_raw_string(self, s: str) -> None:
        if s:
            self.buf.append(s)
        self.in_word = True

    def get_words(self) -> list[str]:
        if self.buf:
            joined = "".join(self.buf)
            if joined:
                self.words.append(joined)
            self.buf.clear()
            self.in_word = False
        return self.words


class _NoWords(_Words):
    """Word tracking switched off (ProcessWord needs only the joined result)."""

    def __init__(self) -> None:
        super().__init__([])

    def add_char(self, ch: str) -> None:
        pass

    def add_raw_char(self, ch: str) -> None:
        pass

    def add_string(self, s: str) -> None:
        pass

    def add_raw_string(self, s: str) -> None:
        pass

    def get_words(self) -> list[str]:
        return []


_NO_WORDS = _NoWords()
# `<` is not special here: `possible_heredoc` gives back what it read, and only word
# splitting (process_words) treats `<<` apart.
_PLAIN = re.compile(r"[$'\"]").search
_ASCII_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*").match


# Words whose only specials are $NAME / ${NAME} (ASCII): expanded by one regex pass.
_SIMPLE_WORD = re.compile(
    r"(?:[^$'\"\\`]|\$[A-Za-z_][A-Za-z0-9_]*(?![A-Za-z0-9_])|\$\{[A-Za-z_][A-Za-z0-9_]*\})*\Z"
).match
_SIMPLE_VAR = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})")


_ONE_VAR = re.compile(r"\$(?:([A-Za-z_][A-Za-z0-9_]*)|\{([A-Za-z_][A-Za-z0-9_]*)\})\Z").match


def _lookup(name: str, env: Mapping[str, str]) -> WordResult:
    v = env.get(name)
    if v is None:
        return WordResult("", [], set(), {name})
    return WordResult(v, [], {name}, set())


_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_VAR = rf"\$(?:{_NAME}(?![A-Za-z0-9_])|\{{{_NAME}\}})"  # $NAME or ${NAME}


class _QuotedWords:
    """Fast path for ASCII words of literal text, `$NAME`/`${NAME}`, escapes, '...' and "..."
    (variables and escapes inside), with the lexer's default options: `word.match` says
    whether a word is one; `expand` gives the lexer's result for it."""

    __slots__ = ("_esc", "_inner", "_part", "_plain_part", "word")

    def __init__(self, esc: str) -> None:
        e = re.escape(esc)
        dq = rf'"(?:[^"${e}]|{e}.|{_VAR})*+"'
        self._esc = esc
        self.word = LazyRegex(rf"(?:[^$'\"{e}]|'[^']*+'|{dq}|{_VAR}|{e}.)*+{e}?\Z", re.S)
        # one part: 1 single-quoted text, 2 double-quoted text, 3/4 a variable, 5 an escaped
        # character (none for a last lone escape token, which the lexer drops)
        self._part = LazyRegex(
            rf"'([^']*)'|\"((?:[^\"${e}]|{e}.|{_VAR})*)\"|\$(?:({_NAME})|\{{({_NAME})\}})|{e}(.?)",
            re.S,
        )
        # inside double quotes an escape token keeps `"`, `$` and itself (and is kept before
        # anything else)
        self._inner = LazyRegex(rf"{e}([\"${e}])|\$(?:({_NAME})|\{{({_NAME})\}})")
        self._plain_part = self._part_without_variables  # made once, not per word

    def _part_without_variables(self, m: re.Match[str]) -> str:
        """One part's text in a word without `$` (no closures over an environment needed)."""
        i = m.lastindex
        if i == 2:
            text = m.group(2)
            return self._inner.sub(_GROUP_1, text) if self._esc in text else text
        return m.group(i)

    def expand(
        self,
        word: str,
        env: Mapping[str, str],
        matched: set[str] | None = None,
        unmatched: set[str] | None = None,
    ) -> str:
        """`word` expanded; the variables found and not found go to the sets when given."""
        if "$" not in word:
            return self._part.sub(self._plain_part, word)
        esc = self._esc
        inner_sub = self._inner.sub

        def var(name: str) -> str:
            v = env.get(name)
            if v is None:
                if unmatched is not None:
                    unmatched.add(name)
                return ""
            if matched is not None:
                matched.add(name)
            return v

        def inner(m: re.Match[str]) -> str:
            i = m.lastindex
            return m.group(1) if i == 1 else var(m.group(i))

        def part(m: re.Match[str]) -> str:
            i = m.lastindex
            if i == 2:
                text = m.group(2)
                return inner_sub(inner, text) if "$" in text or esc in text else text
            if i == 1 or i == 5:
                return m.group(i)
            return var(m.group(i))

        return self._part.sub(part, word)


_QUOTED: dict[str, _QuotedWords] = {}  # per escape token


_GROUP_1 = operator.methodcaller("group", 1)  # a regex replacement: the first group


def _simple_expand(word: str, env: Mapping[str, str]) -> WordResult:
    matched: set[str] = set()
    unmatched: set[str] = set()

    def one(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        v = env.get(name)
        if v is None:
            unmatched.add(name)
            return ""
        matched.add(name)
        return v

    return WordResult(_SIMPLE_VAR.sub(one, word), [], matched, unmatched)


class Lex:
    """One lexer configuration (escape token and the BuildKit options)."""

    def __init__(
        self,
        escape_token: str = "\\",
        *,
        raw_quotes: bool = False,
        raw_escapes: bool = False,
        skip_process_quotes: bool = False,
        skip_unset_env: bool = False,
    ):
        self.escape_token = escape_token
        self.raw_quotes = raw_quotes
        self.raw_escapes = raw_escapes
        self.skip_process_quotes = skip_process_quotes
        self.skip_unset_env = skip_unset_env
        self._plain_quotes = not raw_quotes and not skip_process_quotes
        self._quoted: _QuotedWords | None = None
        if self._plain_quotes and not raw_escapes and not skip_unset_env:
            self._quoted = _QUOTED.get(escape_token)
            if self._quoted is None:
                self._quoted = _QUOTED[escape_token] = _QuotedWords(escape_token)
        # words whose only specials are escapes (`a\ b`, `c:\\path`): the escaped characters
        # as they are, a last lone escape token dropped (not with raw escapes, which keep it)
        self._escaped: LazyRegex | None = None
        if not raw_escapes:
            e = re.escape(escape_token)
            self._escaped = LazyRegex(rf"(?:[^$'\"{e}]|{e}.)*+{e}?\Z", re.S)
            self._unescape = LazyRegex(rf"{e}(.?)", re.S)

    def _one_quoted(self, word: str, quote: str) -> bool:
        """Whether `word` (which starts with `quote`) is one quoted string whose text is the
        lexer's result: any single-quoted one, a double-quoted one without `$` or escapes."""
        if not self._plain_quotes or word.find(quote, 1) != len(word) - 1:
            return False
        return quote == "'" or ("$" not in word and self.escape_token not in word)

    def process_word(self, word: str, env: Mapping[str, str]) -> WordResult:
        """Expand `word` (no splitting); raises ShellError."""
        if self.escape_token not in word:
            if _PLAIN(word) is None:
                return WordResult(word, [])  # nothing to expand, quote or escape
        elif self._escaped is not None and self._escaped.match(word) is not None:
            return WordResult(self._unescape.sub(_GROUP_1, word), [])
        if not self.skip_unset_env and word.isascii():
            first = word[0]  # `word` is not empty: it has a special character
            if first == "$":
                m = _ONE_VAR(word)
                if m is not None:  # the whole word is `$NAME` or `${NAME}`
                    return _lookup(m.group(1) or m.group(2), env)
            elif first in "'\"" and self._one_quoted(word, first):
                return WordResult(word[1:-1], [])  # one quoted string: its text as it is
            if _SIMPLE_WORD(word) is not None:
                return _simple_expand(word, env)
            quoted = self._quoted
            if quoted is not None and quoted.word.match(word) is not None:
                matched: set[str] = set()
                unmatched: set[str] = set()
                return WordResult(
                    quoted.expand(word, env, matched, unmatched), [], matched, unmatched
                )
        return _Word(self, word, env, words=False).run()

    def process_value(self, word: str, env: Mapping[str, str]) -> str:
        """`process_word(word, env).result`, without collecting the variables (the same fast
        paths, each giving exactly the lexer's result)."""
        if self.escape_token not in word:
            if _PLAIN(word) is None:
                return word
        elif self._escaped is not None and self._escaped.match(word) is not None:
            return self._unescape.sub(_GROUP_1, word)
        if not self.skip_unset_env and word.isascii():
            first = word[0]  # `word` is not empty: it has a special character
            if first == "$":
                m = _ONE_VAR(word)
                if m is not None:
                    return env.get(m.group(1) or m.group(2)) or ""
            elif first in "'\"" and self._one_quoted(word, first):
                return word[1:-1]
            if _SIMPLE_WORD(word) is not None:
                return _SIMPLE_VAR.sub(lambda m: env.get(m.group(1) or m.group(2)) or "", word)
            quoted = self._quoted
            if quoted is not None and quoted.word.match(word) is not None:
                return quoted.expand(word, env)
        return _Word(self, word, env, words=False).run().result

    def process_words(self, word: str, env: Mapping[str, str]) -> list[str]:
        """Expand `word` and split it into words (quotes keep spaces)."""
        return _Word(self, word, env).run().words


class _Word:
    __slots__ = (
        "env",
        "lex",
        "matched",
        "n",
        "pos",
        "raw_escapes",
        "src",
        "unmatched",
        "want_words",
        "words_buffer",
    )

    def __init__(self, lex: Lex, src: str, env: Mapping[str, str], words: bool = True):
        self.lex = lex
        self.src = src
        self.n = len(src)
        self.pos = 0
        self.env = env
        self.raw_escapes = lex.raw_escapes
        self.matched: set[str] = set()
        self.unmatched: set[str] = set()
        self.words_buffer: list[str] = []
        self.want_words = words

    # scanner
    def peek(self) -> str:
        return self.src[self.pos] if self.pos < self.n else _EOF

    def next(self) -> str:
        if self.pos < self.n:
            ch = self.src[self.pos]
            self.pos += 1
            return ch
        return _EOF

    def run(self) -> WordResult:
        try:
            result, words = self.stop_on(_EOF, self.raw_escapes)
        except ShellError as err:
            raise ShellError(f"failed to process {_go_quote_simple(self.src)}: {err}") from None
        return WordResult(result, words, self.matched, self.unmatched)

    def get_env(self, name: str) -> tuple[str, bool]:
        v = self.env.get(name)
        if v is not None:
            self.matched.add(name)
            return v, True
        self.unmatched.add(name)
        return "", False

    def stop_on(self, stop: str, raw_escapes: bool) -> tuple[str, list[str]]:
        result: list[str] = []
        self.words_buffer.clear()
        words = _Words(self.words_buffer) if self.want_words else _NO_WORDS
        saved = self.raw_escapes
        self.raw_escapes = raw_escapes
        lex = self.lex
        esc = lex.escape_token
        quotes = not lex.skip_process_quotes
        try:
            while self.pos < self.n:
                ch = self.src[self.pos]
                if stop and ch == stop:
                    self.pos += 1
                    return "".join(result), words.get_words()
                if ch == "$":
                    tmp = self.dollar()
                    result.append(tmp)
                    words.add_string(tmp)
                elif ch == "<":
                    tmp = self.possible_heredoc()
                    result.append(tmp)
                    words.add_raw_string(tmp)
                elif quotes and ch == "'":
                    tmp = self.single_quote()
                    result.append(tmp)
                    words.add_raw_string(tmp)
                elif quotes and ch == '"':
                    tmp = self.double_quote()
                    result.append(tmp)
                    words.add_raw_string(tmp)
                else:
                    self.pos += 1
                    if ch == esc:
                        if self.raw_escapes:
                            words.add_raw_char(ch)
                            result.append(ch)
                        ch = self.next()
                        if ch == _EOF:
                            break
                        words.add_raw_char(ch)
                    else:
                        words.add_char(ch)
                    result.append(ch)
            if stop:
                raise ShellError(f"unexpected end of statement while looking for matching {stop}")
            return "".join(result), words.get_words()
        finally:
            self.raw_escapes = saved

    def single_quote(self) -> str:
        out: list[str] = []
        ch = self.next()
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            ch = self.next()
            if ch == _EOF:
                raise ShellError(
                    "unexpected end of statement while looking for matching single-quote"
                )
            if ch == "'":
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            out.append(ch)

    def double_quote(self) -> str:
        out: list[str] = []
        ch = self.next()
        esc = self.lex.escape_token
        if self.lex.raw_quotes:
            out.append(ch)
        while True:
            p = self.peek()
            if p == _EOF:
                raise ShellError(
                    "unexpected end of statement while looking for matching double-quote"
                )
            if p == '"':
                ch = self.next()
                if self.lex.raw_quotes:
                    out.append(ch)
                return "".join(out)
            if p == "$":
                out.append(self.dollar())
                continue
            ch = self.next()
            if ch == esc:
                if self.raw_escapes:
                    out.append(ch)
                p = self.peek()
                if p == _EOF:
                    continue
                if p in ('"', "$", esc):
                    ch = self.next()
            out.append(ch)

    def name(self) -> str:
        m = _ASCII_NAME(self.src, self.pos)
        if m is not None:
            end = m.end()
            if end >= self.n or self.src[end].isascii():
                self.pos = end
                return m.group(0)
        out: list[str] = []
        while self.pos < self.n:
            ch = self.src[self.pos]
            if not out and _is_digit(ch):
                while self.pos < self.n and _is_digit(self.src[self.pos]):
                    out.append(self.src[self.pos])
                    self.pos += 1
                return "".join(out)
            if not out and ch in _SPECIAL_PARAMS:
                self.pos += 1
                return ch
            if not (_is_letter(ch) or _is_digit(ch) or ch == "_"):
                break
            out.append(ch)
            self.pos += 1
        return "".join(out)

    def dollar(self) -> str:
        self.next()  # '$'
        if self.peek() != "{":
            name = self.name()
            if name == "":
                return "$"
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "$" + name
            return value
        self.next()  # '{'
        p = self.peek()
        if p == _EOF:
            raise ShellError("syntax error: missing '}'")
        if p in "{}:":
            raise ShellError("syntax error: bad substitution")
        name = self.name()
        ch = self.next()
        chs = ch
        null_is_unset = False
        if ch == "}":
            value, found = self.get_env(name)
            if not found and self.lex.skip_unset_env:
                return "${" + name + "}"
            return value
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            chs += ch
        if null_is_unset or (ch in ("+", "-", "?", "#", "%") and ch != _EOF):
            raw = ch in ("#", "%")
            if null_is_unset and raw:
                raise ShellError(f"unsupported modifier ({chs}) in substitution")
            try:
                word, _ = self.stop_on("}", raw)
            except ShellError:
                if self.peek() == _EOF:
                    raise ShellError("syntax error: missing '}'") from None
                raise
            value, found = self.get_env(name)
            if self.lex.skip_unset_env and not found:
                return "${" + name + chs + word + "}"
            empty_unset = not found or (null_is_unset and value == "")
            if ch == "-":
                return word if empty_unset else value
            if ch == "+":
                return "" if empty_unset else word
            if ch == "?":
                if not found:
                    raise ShellError(f"{name}: {word or 'is not allowed to be unset'}")
                if null_is_unset and value == "":
                    raise ShellError(f"{name}: {word or 'is not allowed to be empty'}")
                return value
            if ch not in ("#", "%"):
                raise ShellError(f"unsupported modifier ({chs}) in substitution")
            greedy = False
            if word and word[0] == ch:
                greedy = True
                word = word[1:]
            if ch == "%":
                return _trim_suffix(word, value, greedy)
            return _trim_prefix(word, value, greedy)
        if ch == "/":
            replace_all = self.peek() == "/"
            if replace_all:
                self.next()
            try:
                pattern, _ = self.stop_on("/", True)
            except ShellError:
                if self.peek() == _EOF:
                    raise ShellError("syntax error: missing '/' in ${}") from None
                raise
            try:
                replacement, _ = self.stop_on("}", True)
            except ShellError:
                if self.peek() == _EOF:
                    raise ShellError("syntax error: missing '}'") from None
                raise
            value, found = self.get_env(name)
            if self.lex.skip_unset_env and not found:
                return "${" + name + "/" + pattern + "/" + replacement + "}"
            rx = _pattern_regex(pattern, greedy=True, anchored=False)
            if replace_all:
                return rx.sub(lambda m: _go_expand(replacement, m), value)
            m = rx.search(value)
            if m is not None:
                value = value[: m.start()] + replacement + value[m.end() :]
            return value
        raise ShellError(f"unsupported modifier ({chs}) in substitution")

    def possible_heredoc(self) -> str:
        self.next()
        if self.peek() != "<":
            return "<"
        self.next()
        space: list[str] = []
        while self.peek() in (" ", "\t", "\r") and self.peek() != _EOF:
            space.append(self.next())
        return "<<" + "".join(space)


@lru_cache(maxsize=256)
def _pattern_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """A shell glob (`*`, `?`, escapes; no brackets) as a regular expression."""
    out: list[str] = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i, n = 0, len(pattern)
    while i < n:
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
            continue
        if tok == "?":
            out.append(".")
            continue
        if tok == "\\":
            nxt = pattern[i] if i < n else ""
            if nxt in ("}", "/"):
                continue
            tok = nxt
            i += 1
            if tok not in ("*", "?", "\\"):
                raise ShellError(
                    f"invalid pattern ({pattern}) in substitution: invalid escape '\\{tok}'"
                )
            out.append("\\" + tok)
            continue
        out.append(tok if tok.isalnum() else re.escape(tok))
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    m = _pattern_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[m.end() :] if m is not None else value


def _reverse_pattern(pattern: str) -> str:
    chars = list(pattern)
    last = len(chars) - 1
    out = [""] * len(chars)
    i = 0
    while i <= last:
        tok = chars[i]
        o = last - i
        if tok == "\\" and i != last:
            out[o - 1] = tok
            out[o] = chars[i + 1]
            i += 2
        else:
            out[o] = tok
            i += 1
    return "".join(out)


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]


_GO_TEMPLATE = r"\$(?:\$|\{([A-Za-z0-9_]+)\}|([A-Za-z0-9_]+))"  # rare: compiled when used


def _go_expand(template: str, m: re.Match[str]) -> str:
    """Go's `Regexp.Expand` for a pattern without groups: `$0` is the match, `$$` a dollar."""

    def one(t: re.Match[str]) -> str:
        if t.group(0) == "$$":
            return "$"
        name = t.group(1) or t.group(2)
        return m.group(0) if name.isdigit() and int(name) == 0 else ""

    if "$" not in template:
        return template
    return re.sub(_GO_TEMPLATE, one, template)


def _go_quote_simple(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


_DEFAULT_LEX = Lex()


def expand(word: str, env: Mapping[str, str], escape_token: str = "\\") -> WordResult:
    """Expand one word as BuildKit does for instruction arguments (ProcessWordWithMatches)."""
    lex = _DEFAULT_LEX if escape_token == "\\" else Lex(escape_token)
    return lex.process_word(word, env)
