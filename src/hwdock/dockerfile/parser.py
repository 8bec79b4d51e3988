"""The Dockerfile parser, faithful to BuildKit's `frontend/dockerfile/parser`.

`parse(data, path)` turns bytes or text into a `Result`: a root whose `children` are one
`Node` per instruction, each with its flags, arguments (a `next` chain, as BuildKit keeps
them), heredocs and first/last line. `Result.dump()` prints BuildKit's `Node.Dump()` format,
which is how tests/test_dockerfile_conformance.py compares us with BuildKit's golden files.

Handled as BuildKit does: the `# escape=` / `# syntax=` / `# check=` directives (only before
anything else), a byte-order mark, CRLF line ends, line continuations with the escape token,
comments and empty lines inside continuations (the latter with a warning), heredocs
(`<<EOF`, `<<-EOF`, quoted delimiters, several per line) on RUN/COPY/ADD (and ONBUILD of
those), JSON (exec) forms, `--flags`, ONBUILD children, and lines over 64 KiB (an error).
Errors are `InputError`s naming file:line.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from hwdock.dockerfile.lazyre import LazyRegex
from hwdock.dockerfile.record import FrozenRecord, Record
from hwdock.dockerfile.shell import GO_SPACES, Lex, ShellError, go_is_space
from hwdock.errors import InputError

__all__ = ["Heredoc", "Node", "Result", "Warning", "go_quote", "parse"]

MAX_LINE_BYTES = 64 * 1024  # bufio.Scanner's default token limit in BuildKit

_WS_SPLIT = re.compile(r"[\t\v\f\r ]+")
# the instruction's name and the spaces after it (what a split at the first run of spaces gives)
_SPLIT_SPACES = "\t\v\f\r "
_MAY_CONTINUE = frozenset("\\` \t")  # last characters of a line that may continue
_OTHER_SPACES = frozenset(GO_SPACES) - frozenset(_SPLIT_SPACES)  # Go spaces but these
_NAME_SPACES = LazyRegex(r"([A-Za-z]+)[\t\v\f\r ]+")  # a name, then ASCII spaces
_HEAD = r"([^\t\v\f\r ]*)[\t\v\f\r ]*"  # rare: compiled on first use (through re's cache)
_GO_SPACE_RE = re.compile("[" + re.escape(GO_SPACES) + "]")
# compiled on first use (through re's cache): most files have no heredoc
_HEREDOC = r"^([0-9]*)<<(-?)[\t\n\f\r ]*([^<]*)\Z"
_DIRECTIVE = re.compile(r"^([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*\Z")
_VALID_DIRECTIVES = ("syntax", "escape", "check")
_HEREDOC_CMDS = frozenset(("add", "copy", "run"))


class Heredoc(Record):
    _fields = ("name", "file_descriptor", "expand", "chomp", "content")

    def __init__(
        self,
        name: str,
        file_descriptor: int = 0,
        expand: bool = True,
        chomp: bool = False,
        content: str = "",
    ) -> None:
        self.name = name
        self.file_descriptor = file_descriptor
        self.expand = expand
        self.chomp = chomp
        self.content = content


_EMPTY: tuple = ()
_NO_ATTRS: dict[str, bool] = {}  # shared: attributes are never changed in place
_JSON_ATTRS: dict[str, bool] = {"json": True}


class Node:
    """BuildKit's AST node: `value`, a `next` chain of arguments, and `children` (ONBUILD).

    A plain slotted class (hundreds of thousands are made for a large file); the list fields
    default to a shared empty tuple and are replaced, never mutated in place.
    """

    __slots__ = (
        "_next",
        "_words",
        "attributes",
        "children",
        "end_line",
        "flags",
        "heredocs",
        "keyword",
        "original",
        "prev_comment",
        "start_line",
        "value",
    )

    def __init__(
        self,
        value: str = "",
        next: Node | None = None,
        children: list[Node] | tuple = _EMPTY,
        heredocs: list[Heredoc] | tuple = _EMPTY,
        attributes: dict[str, bool] = _NO_ATTRS,
        original: str = "",
        flags: list[str] | tuple = _EMPTY,
        start_line: int = 0,
        end_line: int = 0,
        prev_comment: list[str] | tuple = _EMPTY,
        keyword: str = "",
        words: Sequence[str] | None = None,
    ):
        self.value = value
        self._next = next
        # the arguments as a list, not yet made into a `next` chain (only without `next`)
        self._words: Sequence[str] | None = words
        self.keyword = keyword  # an instruction's name in lower case ("" for argument nodes)
        self.children = children
        self.heredocs = heredocs
        self.attributes = attributes
        self.original = original
        self.flags = flags
        self.start_line = start_line
        self.end_line = end_line
        self.prev_comment = prev_comment

    def __repr__(self) -> str:
        return f"Node({self.dump()!r}, lines {self.start_line}-{self.end_line})"

    @property
    def next(self) -> Node | None:
        """The first argument node; argument chains are built on first use."""
        words = self._words
        if words is not None:
            self._words = None
            head: Node | None = None
            for v in reversed(words):
                head = Node(v, head)
            self._next = head
        return self._next

    @next.setter
    def next(self, node: Node | None) -> None:
        self._words = None
        self._next = node

    @property
    def has_next(self) -> bool:
        """Whether there is an argument (without building the chain)."""
        return self._words is not None or self._next is not None

    @property
    def args(self) -> list[str]:
        """The argument values along the `next` chain."""
        if self._words is not None:
            return list(self._words)
        out: list[str] = []
        n = self.next
        while n is not None:
            out.append(n.value)
            n = n.next
        return out

    @property
    def is_json(self) -> bool:
        return bool(self.attributes.get("json"))

    def dump(self) -> str:
        parts: list[str] = [self.value.lower()]
        if self.flags:
            parts.append(" [" + " ".join(go_quote(f) for f in self.flags) + "]")
        for c in self.children:
            parts.append("(" + c.dump() + ")\n")
        n = self.next
        while n is not None:
            parts.append(" ")
            parts.append(n.dump() if n.children else go_quote(n.value))
            n = n.next
        return _go_trim_space("".join(parts))


class Warning(FrozenRecord):
    _fields = ("message", "line", "url")
    message: str
    line: int
    url: str

    def __init__(self, message: str, line: int, url: str = "") -> None:
        self._set("message", message)
        self._set("line", line)
        self._set("url", url)


class Result(Record):
    _fields = (
        "children",
        "escape_token",
        "warnings",
        "directives",
        "start_line",
        "end_line",
        "path",
    )

    def __init__(
        self,
        children: list[Node],
        escape_token: str,
        warnings: list[Warning],
        directives: dict[str, tuple[str, int]],  # name -> (value, line)
        start_line: int,
        end_line: int,
        path: str = "Dockerfile",
    ) -> None:
        self.children = children
        self.escape_token = escape_token
        self.warnings = warnings
        self.directives = directives
        self.start_line = start_line
        self.end_line = end_line
        self.path = path

    def dump(self) -> str:
        root = Node(children=self.children)
        return root.dump()


# ---------------------------------------------------------------- Go helpers

_GO_ESC = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\\": "\\\\",
    '"': '\\"',
}


def _go_printable(ch: str) -> bool:
    o = ord(ch)
    if o < 0x7F:
        return o >= 0x20
    if 0xDC80 <= o <= 0xDCFF:  # undecodable byte (surrogateescape)
        return False
    return ch.isprintable()


def go_quote(s: str) -> str:
    """Go's `strconv.Quote` (undecodable bytes kept as surrogateescape come out as \\xNN)."""
    if s.isascii() and s.isprintable() and '"' not in s and "\\" not in s:
        return '"' + s + '"'
    out = ['"']
    for ch in s:
        if ch in _GO_ESC:
            out.append(_GO_ESC[ch])
            continue
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif _go_printable(ch):
            out.append(ch)
        elif o < 0x80:
            out.append(f"\\x{o:02x}")
        elif o < 0x10000:
            out.append(f"\\u{o:04x}")
        else:
            out.append(f"\\U{o:08x}")
    out.append('"')
    return "".join(out)


def _go_trim_space(s: str) -> str:
    return s.strip(GO_SPACES)


def _ltrim_space(s: str) -> str:
    return s.lstrip(GO_SPACES)


# ---------------------------------------------------------------- errors


class _ParseError(Exception):
    pass


# ---------------------------------------------------------------- line parsers


class _State:
    __slots__ = ("directive_done", "directive_line", "directives", "escape")

    def __init__(self) -> None:
        self.escape = "\\"
        self.directive_done = False
        self.directive_line = 0
        self.directives: dict[str, tuple[str, int]] = {}

    def set_escape(self, token: str) -> None:
        if token not in ("`", "\\"):
            raise _ParseError(f"invalid escape token '{token}' does not match ` or \\")
        self.escape = token

    def possible_directive(self, line: str) -> bool:
        self.directive_line += 1
        if self.directive_done:
            return False
        if not line.startswith("#"):
            self.directive_done = True
            return False
        m = _DIRECTIVE.match(_ltrim_space(line[1:]))
        if m is None:
            self.directive_done = True
            return False
        key = m.group(1).lower()
        if key not in _VALID_DIRECTIVES:
            self.directive_done = True
            return False
        if key in self.directives:
            raise _ParseError(f"only one {key} parser directive can be used")
        self.directives[key] = (m.group(2), self.directive_line)
        if key == "escape":
            self.set_escape(m.group(2))
        return True


# a character other than printable ASCII and \t\n\v\f\r, or a quote, backslash or backquote
_NOT_SIMPLE = re.compile(r"[^\t\n\v\f\r !#-&(-\[\]-_a-~]").search
_PLAIN_FLAG = re.compile(r"(--[!#-&(-\[\]-_a-~]*)(?:[\t\v\f\r ]+|\Z)").match
# A run of plain flags (as `_PLAIN_FLAG`, but not a bare `--`, which ends the flags), not
# followed by another `--`: unless a non-ASCII Go space follows, these are all the flags and
# the arguments start right after.
_FLAGS_THEN_ARGS = LazyRegex(r"((?:--[!#-&(-\[\]-_a-~]++(?:[\t\v\f\r ]++|\Z))++)(?!--)(.*)", re.S)


def _words_regex(esc: str, ends_in_escape: bool) -> re.Pattern[str]:
    """One word of BuildKit's `parseWords`: quotes and escaped characters do not split it.

    For a text that ends in the escape token, group `d` (or `dq` inside double quotes) is
    set when a word ends in that last escape token, which BuildKit drops; for any other text
    those alternatives cannot match and are left out (no groups: `findall` gives the words).
    """
    e = re.escape(esc)
    sp = re.escape(GO_SPACES)
    d, dq = (rf"{e}(?P<d>\Z)|", rf"{e}(?P<dq>\Z)|") if ends_in_escape else ("", "")
    return re.compile(
        rf"(?:[^{sp}'\"{e}]++|{d}{e}.|'[^']*+'?|\"(?:[^\"{e}]++|{dq}{e}.)*+\"?)++",
        re.S,
    )


_WORDS: dict[tuple[str, bool], re.Pattern[str]] = {}  # compiled on first use


def _parse_words(rest: str, esc: str) -> list[str]:
    if _NOT_SIMPLE(rest) is None:
        # printable ASCII and \t\n\v\f\r only: str.split's spaces are exactly these
        return rest.split()
    at_end = rest.endswith(esc)
    rx = _WORDS.get((esc, at_end))
    if rx is None:
        rx = _WORDS[(esc, at_end)] = _words_regex(esc, at_end)
    if not at_end:
        return rx.findall(rest)
    words: list[str] = []
    for m in rx.finditer(rest):
        w = m.group()
        if m.group("d") is not None or m.group("dq") is not None:
            w = w[:-1]
            if not w:
                continue
        words.append(w)
    return words


def _chain(values: list[str]) -> Node | None:
    head: Node | None = None
    for v in reversed(values):
        head = Node(value=v, next=head)
    return head


# Handlers give the arguments as a list of words (made into a `next` chain on first use) or,
# for nested forms (HEALTHCHECK, ONBUILD), as a Node.
_Next = Node | list[str] | None


def _parse_name_val(rest: str, key: str, esc: str) -> list[str] | None:
    """`key value` or `k=v k2=v2 ...` as BuildKit's flat chain: key, value, separator, ..."""
    words = _parse_words(rest, esc)
    if not words:
        return None
    if "=" not in words[0]:
        parts = _WS_SPLIT.split(rest, maxsplit=1)
        if len(parts) < 2:
            raise _ParseError(f"{key} must have two arguments")
        return [parts[0], parts[1], ""]
    out: list[str] = []
    for w in words:
        k, eq, v = w.partition("=")
        if not eq:
            raise _ParseError(
                f"Syntax error - can't find = in {go_quote(w)}. Must be of the form: name=value"
            )
        out += (k, v, "=")
    return out


def _parse_ws_list(rest: str) -> list[str] | None:
    if rest == "":
        return None
    if rest.isascii() and rest.isprintable():
        return rest.split()  # only plain spaces in it (and none at either end)
    return _WS_SPLIT.split(rest)


class _NotStrings(Exception):
    pass


def _reject_constant(name: str) -> object:
    raise ValueError(name)


# one decoder (json.loads with an option builds a new one on every call); NaN/Infinity refused
_JSON_DECODE = json.JSONDecoder(parse_constant=_reject_constant).decode


# A JSON array of strings without escapes or control characters, JSON's own spaces between
# (what the decoder gives for it is just the strings' text).
_JSON_PLAIN = LazyRegex(
    r'\[[ \t\n\r]*(?:"[^"\\\x00-\x1f]*"[ \t\n\r]*(?:,[ \t\n\r]*"[^"\\\x00-\x1f]*"[ \t\n\r]*)*)?\]\Z'
)
_JSON_STRING = LazyRegex(r'"([^"]*)"')


def _parse_json(rest: str) -> list[str] | None:
    if _JSON_PLAIN.match(rest) is not None:
        return _JSON_STRING.findall(rest) or None
    rest = _ltrim_space(rest)
    if not rest.startswith("[") or not rest.rstrip(GO_SPACES).endswith("]"):
        raise ValueError("not a JSON array")
    data = _JSON_DECODE(rest)
    if not isinstance(data, list):
        raise ValueError("not a JSON array")
    if not all(isinstance(x, str) for x in data):
        raise _NotStrings
    return data or None


_NOT_STRINGS = "when using JSON array syntax, arrays must be comprised of strings only"


def _maybe_json(rest: str, st: _State | None = None) -> tuple[_Next, dict[str, bool]]:
    if rest == "":
        return None, _NO_ATTRS
    if rest[:1] != "[":  # `rest` comes without spaces around it
        return [rest], _NO_ATTRS
    try:
        return _parse_json(rest), _JSON_ATTRS
    except _NotStrings:
        raise _ParseError(_NOT_STRINGS) from None
    except ValueError:
        return [rest], _NO_ATTRS


def _maybe_json_list(rest: str, st: _State | None = None) -> tuple[_Next, dict[str, bool]]:
    if rest[:1] != "[":  # `rest` comes without spaces around it
        return _parse_ws_list(rest), _NO_ATTRS
    try:
        return _parse_json(rest), _JSON_ATTRS
    except _NotStrings:
        raise _ParseError(_NOT_STRINGS) from None
    except ValueError:
        return _parse_ws_list(rest), _NO_ATTRS


def _health(rest: str) -> tuple[Node | None, dict[str, bool]]:
    m = _GO_SPACE_RE.search(rest)
    sep = m.start() if m is not None else len(rest)
    if sep == 0:
        return None, _NO_ATTRS
    cmd, attrs = _maybe_json(rest[sep:].lstrip(GO_SPACES))
    if isinstance(cmd, list):
        cmd = _chain(cmd)
    return Node(value=rest[:sep], next=cmd), attrs


def _extract_flags(line: str, esc: str) -> tuple[str, list[str]]:
    """The `--flags` at the start of `line`, and the text after them (Go spaces around it)."""
    rest = line.lstrip(GO_SPACES)
    if not rest.startswith("--"):
        return rest, []
    found: list[str] = []
    pos = 0
    # plain flags (printable ASCII, no quote or escape) each followed by ASCII spaces or the end
    while (m := _PLAIN_FLAG(rest, pos)) is not None:
        word = m.group(1)
        if word == "--":
            return rest[m.end() :], found
        found.append(word)
        pos = m.end()
    tail = rest[pos:]
    if tail.startswith("--") or tail[:1] in GO_SPACES:
        more_rest, more = _extract_flags_general(tail.lstrip(GO_SPACES), esc)
        return more_rest, found + more
    return tail, found


def _extract_flags_general(rest: str, esc: str) -> tuple[str, list[str]]:
    found: list[str] = []
    while rest.startswith("--"):
        m = _GO_SPACE_RE.search(rest)
        word = rest[: m.start()] if m is not None else rest
        if "'" in word or '"' in word or esc in word:
            # quotes or escapes in this flag: BuildKit's character loop from this word on
            tail, more = _extract_flags_quoted(rest, esc)
            return tail, found + more
        if m is None:
            if rest != "--":
                found.append(rest)
            return "", found
        after = rest[m.start() :]
        if word == "--":
            return after, found
        found.append(word)
        rest = after.lstrip(GO_SPACES)
    return rest, found


def _extract_flags_quoted(line: str, esc: str) -> tuple[str, list[str]]:
    words: list[str] = []
    phase = 0
    buf: list[str] = []
    quote = ""
    blank_ok = False
    n = len(line)
    pos = 0
    while pos <= n:
        ch = line[pos] if pos < n else ""
        if phase == 0:
            if pos == n:
                break
            if go_is_space(ch):
                pos += 1
                continue
            if ch != "-" or pos + 1 == n or line[pos + 1] != "-":
                return line[pos:], words
            phase = 1
        if pos == n:
            word = "".join(buf)
            if word != "--" and (blank_ok or word):
                words.append(word)
            break
        if phase == 1:
            if go_is_space(ch):
                word = "".join(buf)
                phase = 0
                if word == "--":
                    return line[pos:], words
                if blank_ok or word:
                    words.append(word)
                buf = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = 2
                pos += 1
                continue
            if ch == esc:
                if pos + 1 == n:
                    pos += 1
                    continue
                pos += 1
                ch = line[pos]
            buf.append(ch)
            pos += 1
            continue
        if ch == quote:
            phase = 1
            pos += 1
            continue
        if ch == esc:
            if pos + 1 == n:
                phase = 1
                pos += 1
                continue
            pos += 1
            ch = line[pos]
        buf.append(ch)
        pos += 1
    return "", words


def _arg_words(rest: str, st: _State) -> tuple[_Next, dict[str, bool]]:
    words = _parse_words(rest, st.escape)
    return (words or None), _NO_ATTRS


def _env_words(rest: str, st: _State) -> tuple[_Next, dict[str, bool]]:
    return _parse_name_val(rest, "ENV", st.escape), _NO_ATTRS


def _label_words(rest: str, st: _State) -> tuple[_Next, dict[str, bool]]:
    return _parse_name_val(rest, "LABEL", st.escape), _NO_ATTRS


def _ws_words(rest: str, st: _State) -> tuple[_Next, dict[str, bool]]:
    return _parse_ws_list(rest), _NO_ATTRS


def _health_words(rest: str, st: _State) -> tuple[_Next, dict[str, bool]]:
    return _health(rest)


def _one_word(rest: str, st: _State) -> tuple[_Next, dict[str, bool]]:
    return ([rest] if rest else None), _NO_ATTRS


def _onbuild(rest: str, st: _State) -> tuple[_Next, dict[str, bool]]:
    if rest == "":
        return None, _NO_ATTRS
    return Node(children=[_node_from_line(rest, st, [])]), _NO_ATTRS


_DISPATCH = {
    "add": _maybe_json_list,
    "copy": _maybe_json_list,
    "volume": _maybe_json_list,
    "cmd": _maybe_json,
    "entrypoint": _maybe_json,
    "run": _maybe_json,
    "shell": _maybe_json,
    "arg": _arg_words,
    "env": _env_words,
    "label": _label_words,
    "expose": _ws_words,
    "from": _ws_words,
    "healthcheck": _health_words,
    "maintainer": _one_word,
    "stopsignal": _one_word,
    "user": _one_word,
    "workdir": _one_word,
    "onbuild": _onbuild,
}


def _node_from_line(line: str, st: _State, comments: list[str]) -> Node:
    text = line.strip(GO_SPACES)
    cmd, sep, args = text.partition(" ")
    if not sep or not cmd.isalpha() or args[:1] in _SPLIT_SPACES:
        # not `NAME args` with one space: split at the first run of spaces
        head = re.match(_HEAD, text)
        assert head is not None  # the pattern matches any text
        cmd = head.group(1)
        args = text[head.end() :]  # "" when there is no space: `text` ends in no space
    if args:
        if args.startswith("--") or args[:1] in GO_SPACES:
            args, flags = _extract_flags(args, st.escape)
            args = args.strip(GO_SPACES)
        else:
            flags = _EMPTY  # `args` ends where `text` does: in no space
    else:
        args = ""
        flags = _EMPTY
    keyword = cmd.lower()
    fn = _DISPATCH.get(keyword)
    if fn is None:
        nxt, attrs = Node(), _NO_ATTRS  # unknown instruction: BuildKit's parser keeps it, empty
    else:
        nxt, attrs = fn(args, st)
    if type(nxt) is list:
        node = Node(cmd, None, _EMPTY, _EMPTY, attrs, line, flags)
        node._words = nxt
    else:
        node = Node(cmd, nxt, _EMPTY, _EMPTY, attrs, line, flags)  # type: ignore[arg-type]
    node.keyword = keyword
    if comments:
        node.prev_comment = tuple(comments)
    return node


def _can_contain_heredoc(node: Node) -> bool:
    if node.keyword == "onbuild" and node.next is not None and node.next.children:
        node = node.next.children[0]
    return node.keyword in _HEREDOC_CMDS and not node.is_json


_HEREDOC_LEX_RAW = Lex("\\", raw_quotes=True, raw_escapes=True, skip_unset_env=True)
_HEREDOC_LEX_PLAIN = Lex("\\", skip_unset_env=True)
_HEREDOC_LEX_QUOTES = Lex("\\", raw_quotes=True, skip_unset_env=True)


def parse_heredoc(src: str) -> Heredoc | None:
    """A heredoc word such as `<<EOF`, `<<-"EOF"` or `3<<EOF`, or None."""
    m = re.match(_HEREDOC, src)
    if m is None:
        return None
    fd = int(m.group(1)) if m.group(1) else 0
    chomp = m.group(2) == "-"
    rest = m.group(3)
    if not rest:
        return None
    words = _HEREDOC_LEX_PLAIN.process_words(rest, {})
    if len(words) != 1:
        return None
    raw = _HEREDOC_LEX_QUOTES.process_words(rest, {})
    if len(raw) != len(words):
        raise _ParseError(f"internal lexing of heredoc produced inconsistent results: {rest}")
    word = words[0]
    count = word.count("'") + word.count('"')
    raw_count = raw[0].count("'") + raw[0].count('"')
    return Heredoc(name=word, file_descriptor=fd, expand=count == raw_count, chomp=chomp)


def _heredocs_from_line(line: str) -> list[Heredoc]:
    try:
        words = _HEREDOC_LEX_RAW.process_words(line, {})
    except ShellError:
        words = []
    docs: list[Heredoc] = []
    for w in words:
        h = parse_heredoc(w)
        if h is not None:
            docs.append(h)
    return docs


# ---------------------------------------------------------------- main loop


def decode(data: bytes | str) -> str:
    """Bytes as text: UTF-8, undecodable bytes kept (surrogateescape), BOM dropped."""
    text = data if isinstance(data, str) else data.decode("utf-8", "surrogateescape")
    return text[1:] if text.startswith("\ufeff") else text


def parse(data: bytes | str, path: str = "Dockerfile") -> Result:
    """Parse a Dockerfile as BuildKit's parser does; raises InputError with file:line."""
    text = decode(data)
    lines = text.split("\n")  # the lines without their `\n`; the last one had one if ""
    last_nl = lines[-1] == ""
    if last_nl:
        lines.pop()
    if len(text) * 4 > MAX_LINE_BYTES:  # only then can a line be over the limit
        _check_line_sizes(lines, last_nl, path)
    st = _State()
    children: list[Node] = []
    warnings: list[Warning] = []
    total = len(lines)
    if lines and lines[0].lstrip(GO_SPACES)[:1] != "#":
        # no comment at the top, so no directives: the first line ends them
        st.directive_line = 1
        st.directive_done = True
        idx, comments = 0, []
    else:
        idx, comments = _directives(lines, st, path)
    _instructions(lines, idx, last_nl, "\r" in text, st, comments, children, warnings, path)
    if not children:
        raise InputError(
            "file with no instructions",
            path=path,
            line=total,
            hint="a Dockerfile needs at least a FROM instruction",
        )
    start_line = children[0].start_line
    end_line = children[-1].end_line
    return Result(children, st.escape, warnings, st.directives, start_line, end_line, path)


def _check_line_sizes(lines: list[str], last_nl: bool, path: str) -> None:
    for i, raw in enumerate(lines):
        if (len(raw) + 1) * 4 <= MAX_LINE_BYTES:
            continue
        nl = 1 if i < len(lines) - 1 or last_nl else 0
        if len(raw.encode("utf-8", "surrogateescape")) + nl > MAX_LINE_BYTES:
            raise InputError(
                f"dockerfile line greater than max allowed size of {MAX_LINE_BYTES - 1}",
                path=path,
                line=i + 1,
                hint="BuildKit refuses lines over 64 KiB; split the instruction with '\\'",
            )


def _directives(lines: list[str], st: _State, path: str) -> tuple[int, list[str]]:
    """The comment lines at the top (parser directives among them), up to the first line that
    ends the directives; that line is left to `_instructions`. Gives (lines consumed, comments).
    """
    comments: list[str] = []
    idx = 0
    total = len(lines)
    while idx < total and not st.directive_done:
        line = lines[idx].rstrip("\r").lstrip(GO_SPACES)
        is_comment = line.startswith("#")
        if not is_comment:
            # ends the directives: counted as a directive line, read again as an instruction
            st.possible_directive(line)
            return idx, comments
        idx += 1
        comment = line[1:].strip(GO_SPACES)
        if comment == "":
            comments = []
        else:
            comments.append(comment)
        try:
            directive = st.possible_directive(line)
        except _ParseError as err:
            raise InputError(str(err), path=path, line=idx) from None
        if directive and comments:
            comments.pop()
    return idx, comments


def _instructions(
    lines: list[str],
    idx: int,
    last_nl: bool,
    crlf: bool,
    st: _State,
    comments: list[str],
    children: list[Node],
    warnings: list[Warning],
    path: str,
) -> None:
    """Everything after the directives: one Node per instruction, appended to `children`.

    The hot loop of the parser: a plain one-line `NAME args` instruction (most of them) is
    made into its node here; anything else goes through `_node_from_line`."""
    esc = st.escape
    total = len(lines)
    dispatch = _DISPATCH
    first = idx  # the 1-based number of the current instruction's first line
    try:
        while idx < total:
            # `\r` is a Go space, so stripping it after the leading spaces gives the same text
            line = lines[idx].lstrip(GO_SPACES)
            idx += 1
            if not line:
                continue
            if line[0] == "#":
                comment = line[1:].strip(GO_SPACES)
                if comment == "":
                    comments = []
                else:
                    comments.append(comment)
                continue
            if crlf:
                line = line.rstrip("\r")
            first = idx
            joined = False
            if esc in line:
                # a continuation: the escape token (not itself escaped), then spaces/tabs, at
                # the end (BuildKit's `([^E])E[ \t]*$|^E[ \t]*$`)
                t = line.rstrip(" \t")
                if t[-1:] == esc and t[-2:-1] != esc:
                    # continued: the following lines joined on (comment lines dropped, empty
                    # ones dropped with a warning) up to one that does not continue
                    joined = True
                    line = t[:-1]
                    empty_line = False
                    while idx < total:
                        cont = lines[idx]
                        idx += 1
                        if crlf:
                            cont = cont.rstrip("\r")
                        lstripped = cont.lstrip(GO_SPACES)
                        if not lstripped:
                            empty_line = True
                            continue
                        if lstripped[0] == "#":
                            continue
                        if cont[-1] in _MAY_CONTINUE:
                            t = cont.rstrip(" \t")
                            if t[-1:] == esc and t[-2:-1] != esc:
                                line += t[:-1]
                                continue
                        line += cont
                        break
                    if empty_line:
                        warnings.append(
                            Warning(
                                "empty continuation line found in: " + line,
                                idx,
                                "https://docs.docker.com/go/dockerfile/rule/no-empty-continuation/",
                            )
                        )
            text = line.strip(GO_SPACES) if joined else line.rstrip(GO_SPACES)
            cmd, sep, args = text.partition(" ")
            if not sep or not cmd.isalpha() or args[0] in _SPLIT_SPACES:
                # not one space after the name: a run of ASCII spaces, or the general case
                m = _NAME_SPACES.match(text)
                if m is not None:
                    cmd = m.group(1)
                    args = text[m.end() :]
                else:
                    args = ""  # the general case below
            if args and args[0] not in GO_SPACES:
                # `NAME args`: the common case, inline
                if args[0] == "-" and args.startswith("--"):
                    m = _FLAGS_THEN_ARGS.match(args)
                    if m is not None and (parts := m.groups())[1][:1] not in _OTHER_SPACES:
                        flags = parts[0].split()  # ASCII spaces between: split's
                        args = parts[1]  # begins and ends with no space
                    else:
                        args, flags = _extract_flags(args, esc)
                        args = args.strip(GO_SPACES)
                else:
                    flags = _EMPTY
                keyword = cmd.lower()
                fn = dispatch.get(keyword)
                if comments:
                    prev: tuple = tuple(comments)
                    comments = []
                else:
                    prev = _EMPTY
                words: Sequence[str] | None = None
                if fn is _maybe_json and args and args[0] != "[":
                    # RUN/CMD/ENTRYPOINT/SHELL in shell form: the text is the argument (a tuple:
                    # one allocation where a list takes two)
                    nxt, words, attrs = None, (args,), _NO_ATTRS
                elif fn is None:  # unknown instruction: BuildKit's parser keeps it, empty
                    nxt, attrs = Node(), _NO_ATTRS
                else:
                    nxt, attrs = fn(args, st)
                    if type(nxt) is list:
                        nxt, words = None, nxt
                node = Node(
                    cmd, nxt, _EMPTY, _EMPTY, attrs, line, flags, first, idx, prev, keyword, words
                )
            else:
                node = _node_from_line(line, st, comments)
                node.start_line = first
                node.end_line = idx
                if comments:
                    comments = []
            if "<<" in line and _can_contain_heredoc(node):
                idx = _read_heredocs(node, line, lines, idx, last_nl, path, first)
                node.end_line = idx
            children.append(node)
    except (_ParseError, ShellError) as err:
        raise InputError(str(err), path=path, line=first) from None
    except RecursionError:
        raise InputError("instruction nested too deeply", path=path, line=idx) from None


def _read_heredocs(
    node: Node, line: str, lines: list[str], idx: int, last_nl: bool, path: str, first: int
) -> int:
    """The bodies of the heredocs `line` opens, read from `lines[idx:]` into `node.heredocs`;
    gives the index after the last terminator."""
    total = len(lines)
    for doc in _heredocs_from_line(line):
        terminated = False
        content: list[str] = []
        while idx < total:
            body = lines[idx]
            idx += 1
            cand = body.rstrip("\r")
            if doc.chomp:
                cand = cand.lstrip("\t")
            if cand == doc.name:
                terminated = True
                break
            content.append(body)
            if idx < total or last_nl:
                content.append("\n")
        if not terminated:
            raise InputError(
                f"unterminated heredoc {doc.name!r} (no line {doc.name!r} "
                "before the end of the file)",
                path=path,
                line=first,
                hint=f"end the heredoc with a line holding only {doc.name}",
            )
        doc.content = "".join(content)
        node.heredocs = [*node.heredocs, doc]
    return idx
