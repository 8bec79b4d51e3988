"""A reader and writer for the subset of HCL that bake files use.

Reader: blocks (`target "name" { ... }`), attributes (`key = expr`), comments (`#`, `//`,
`/* */`), literal strings (escapes, `${...}` interpolation kept as text), numbers, booleans,
null, lists and objects. Any other expression (references, conditionals, function calls) is
kept as `Raw(text)`, so a project's bake file can be read for its target names and literal
attributes without evaluating it. Errors name file:line.

Writer: `dumps()` renders blocks and attributes; strings are escaped so that `${` and `%{`
are literal text (`$${`, `%%{`), never interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hwdock.errors import InputError


@dataclass(frozen=True)
class Raw:
    """An expression hwdock keeps as its source text (not evaluated)."""

    text: str


@dataclass
class Block:
    type: str
    labels: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)
    line: int = 0


@dataclass
class Body:
    attrs: dict[str, Any] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def find(self, type_: str) -> list[Block]:
        return [b for b in self.blocks if b.type == type_]


class _Reader:
    def __init__(self, text: str, path: str):
        self.s = text
        self.i = 0
        self.path = path

    # -- low level
    def line(self, pos: int | None = None) -> int:
        return self.s.count("\n", 0, self.i if pos is None else pos) + 1

    def error(self, msg: str, pos: int | None = None) -> InputError:
        return InputError(msg, path=self.path, line=self.line(pos))

    def skip(self, newlines: bool = True) -> None:
        s = self.s
        while self.i < len(s):
            c = s[self.i]
            if c in " \t\r" or (newlines and c == "\n"):
                self.i += 1
            elif c == "#" or s.startswith("//", self.i):
                while self.i < len(s) and s[self.i] != "\n":
                    self.i += 1
            elif s.startswith("/*", self.i):
                end = s.find("*/", self.i + 2)
                if end < 0:
                    raise self.error("unterminated /* comment")
                self.i = end + 2
            else:
                break

    def ident(self) -> str:
        start = self.i
        s = self.s
        while self.i < len(s) and (s[self.i].isalnum() or s[self.i] in "_-"):
            self.i += 1
        if start == self.i:
            raise self.error(f"expected a name, found {s[self.i : self.i + 10]!r}")
        return s[start : self.i]

    def string(self) -> str:
        """A quoted template; escapes decoded, interpolations kept as `${...}` text."""
        s = self.s
        start = self.i
        assert s[self.i] == '"'
        self.i += 1
        out: list[str] = []
        while True:
            if self.i >= len(s) or s[self.i] == "\n":
                raise self.error("unterminated string", start)
            c = s[self.i]
            if c == '"':
                self.i += 1
                return "".join(out)
            if c == "\\":
                nxt = s[self.i + 1 : self.i + 2]
                esc = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}
                if nxt in esc:
                    out.append(esc[nxt])
                    self.i += 2
                elif nxt in ("u", "U"):
                    width = 4 if nxt == "u" else 8
                    digits = s[self.i + 2 : self.i + 2 + width]
                    try:
                        out.append(chr(int(digits, 16)))
                    except ValueError as e:
                        raise self.error(f"bad escape \\{nxt}{digits}") from e
                    self.i += 2 + width
                else:
                    raise self.error(f"bad escape \\{nxt}")
            elif s.startswith("$${", self.i) or s.startswith("%%{", self.i):
                out.append(s[self.i] + "{")
                self.i += 3
            elif s.startswith("${", self.i) or s.startswith("%{", self.i):
                end = self._template_end(self.i + 2)
                out.append(s[self.i : end])
                self.i = end
            else:
                out.append(c)
                self.i += 1

    def _template_end(self, i: int) -> int:
        """Index just past the `}` closing an interpolation opened before `i`."""
        s = self.s
        depth = 1
        while i < len(s):
            c = s[i]
            if c == "\\":
                i += 2
                continue
            if c == '"':
                save = self.i
                self.i = i
                self.string()
                i = self.i
                self.i = save
                continue
            if c == "{":
                depth += 1
            elif c == "}":
                depth -= 1
                if depth == 0:
                    return i + 1
            i += 1
        raise self.error("unterminated ${ interpolation")

    def heredoc(self) -> str:
        s = self.s
        start = self.i
        self.i += 2
        strip = s.startswith("-", self.i)
        if strip:
            self.i += 1
        marker = self.ident()
        nl = s.find("\n", self.i)
        if nl < 0:
            raise self.error("unterminated heredoc", start)
        lines = []
        pos = nl + 1
        while True:
            end = s.find("\n", pos)
            line = s[pos:] if end < 0 else s[pos:end]
            if line.strip() == marker:
                self.i = len(s) if end < 0 else end
                break
            lines.append(line)
            if end < 0:
                raise self.error(f"heredoc {marker} is not closed", start)
            pos = end + 1
        if strip:
            indent = min((len(x) - len(x.lstrip()) for x in lines if x.strip()), default=0)
            lines = [x[indent:] for x in lines]
        return "".join(x + "\n" for x in lines)

    # -- expressions
    def expr(self) -> Any:
        self.skip(newlines=False)
        start = self.i
        value = self.primary()
        self.skip(newlines=False)
        # anything after a primary on the same line (operators, ?:) makes it a raw expression
        rest = self.s[self.i : self.i + 2]
        if rest and rest[0] not in "\n,]}#" and rest not in ("//", "/*"):
            self.raw_until_end()
            return Raw(self.s[start : self.i].strip())
        return value

    def raw_until_end(self) -> None:
        s = self.s
        depth = 0
        while self.i < len(s):
            c = s[self.i]
            if c == '"':
                self.string()
                continue
            if c in "([{":
                depth += 1
            elif c in ")]}":
                if depth == 0:
                    return
                depth -= 1
            elif depth == 0 and (c in "\n," or c == "#" or s.startswith("//", self.i)):
                return
            self.i += 1

    def primary(self) -> Any:
        s = self.s
        if self.i >= len(s):
            raise self.error("expected a value at end of file")
        c = s[self.i]
        if c == '"':
            return self.string()
        if s.startswith("<<", self.i):
            return self.heredoc()
        if c == "[":
            return self.list_()
        if c == "{":
            return self.object_()
        if c.isdigit() or (c == "-" and s[self.i + 1 : self.i + 2].isdigit()):
            start = self.i
            self.i += 1
            while self.i < len(s) and (s[self.i].isalnum() or s[self.i] in ".+-"):
                self.i += 1
            text = s[start : self.i]
            try:
                return int(text)
            except ValueError:
                try:
                    return float(text)
                except ValueError:
                    return Raw(text)
        if c.isalpha() or c == "_":
            start = self.i
            word = self.ident()
            if word == "true":
                return True
            if word == "false":
                return False
            if word == "null":
                return None
            self.i = start
            self.raw_until_end()
            return Raw(s[start : self.i].strip())
        start = self.i
        self.raw_until_end()
        if self.i == start:
            raise self.error(f"unexpected {c!r}")
        return Raw(s[start : self.i].strip())

    def list_(self) -> list[Any]:
        opened = self.i
        self.i += 1
        items: list[Any] = []
        while True:
            self.skip()
            if self.i >= len(self.s):
                raise self.error("this list is not closed (missing ']')", opened)
            if self.s[self.i] == "]":
                self.i += 1
                return items
            items.append(self.expr())
            self.skip()
            if self.i < len(self.s) and self.s[self.i] == ",":
                self.i += 1

    def object_(self) -> dict[str, Any]:
        opened = self.i
        self.i += 1
        obj: dict[str, Any] = {}
        while True:
            self.skip()
            if self.i >= len(self.s):
                raise self.error("this object is not closed (missing '}')", opened)
            if self.s[self.i] == "}":
                self.i += 1
                return obj
            key = self.string() if self.s[self.i] == '"' else self.ident()
            self.skip(newlines=False)
            if self.i < len(self.s) and self.s[self.i] in "=:":
                self.i += 1
            else:
                raise self.error(f"expected '=' after {key!r}")
            obj[key] = self.expr()
            self.skip()
            if self.i < len(self.s) and self.s[self.i] == ",":
                self.i += 1

    # -- structure
    def body(self, closing: bool) -> Body:
        out = Body()
        while True:
            self.skip()
            if self.i >= len(self.s):
                if closing:
                    raise self.error("a block is not closed (missing '}')")
                return out
            if self.s[self.i] == "}":
                if not closing:
                    raise self.error("unexpected '}'")
                self.i += 1
                return out
            line = self.line()
            name = self.ident()
            self.skip(newlines=False)
            if self.i < len(self.s) and self.s[self.i] == "=":
                self.i += 1
                if name in out.attrs:
                    raise self.error(f"attribute {name!r} is set twice")
                out.attrs[name] = self.expr()
                continue
            labels: list[str] = []
            while self.i < len(self.s) and self.s[self.i] != "{":
                if self.s[self.i] == '"':
                    labels.append(self.string())
                else:
                    labels.append(self.ident())
                self.skip(newlines=False)
            if self.i >= len(self.s):
                raise self.error(f"block {name!r} has no body")
            self.i += 1
            inner = self.body(closing=True)
            out.blocks.append(Block(name, labels, inner.attrs, inner.blocks, line))


def loads(text: str, path: str = "<bake>") -> Body:
    return _Reader(text, path).body(closing=False)


# ---- writer -------------------------------------------------------------------------------


def quote(text: str) -> str:
    out = ['"']
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("${", i):
            out.append("$${")
            i += 2
            continue
        if text.startswith("%{", i):
            out.append("%%{")
            i += 2
            continue
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\t":
            out.append("\\t")
        elif code < 0x20 or code == 0x7F or 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
        i += 1
    out.append('"')
    return "".join(out)


def _is_ident(key: str) -> bool:
    return (
        bool(key)
        and (key[0].isalpha() or key[0] == "_")
        and all(c.isalnum() or c in "_-" for c in key)
        and key.isascii()
    )


def value(v: Any, indent: int = 0) -> str:
    pad = "  " * indent
    if isinstance(v, Raw):
        return v.text
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return quote(v)
    if isinstance(v, list | tuple):
        if not v:
            return "[]"
        return "[" + ", ".join(value(x, indent) for x in v) + "]"
    if isinstance(v, dict):
        if not v:
            return "{}"
        inner = "".join(f"{pad}  {quote(str(k))} = {value(x, indent + 1)}\n" for k, x in v.items())
        return "{\n" + inner + pad + "}"
    raise TypeError(f"cannot write {type(v).__name__} as HCL")


def dumps_block(block: Block, indent: int = 0) -> str:
    pad = "  " * indent
    head = " ".join([block.type, *(quote(label) for label in block.labels)])
    lines = [f"{pad}{head} {{"]
    for k, v in block.attrs.items():
        if not _is_ident(k):
            raise ValueError(f"attribute name {k!r} is not an HCL identifier")
        lines.append(f"{pad}  {k} = {value(v, indent + 1)}")
    for b in block.blocks:
        lines.append(dumps_block(b, indent + 1).rstrip("\n"))
    lines.append(pad + "}")
    return "\n".join(lines) + "\n"


def dumps(body: Body, header: str = "") -> str:
    parts = [header] if header else []
    for k, v in body.attrs.items():
        parts.append(f"{k} = {value(v)}\n")
    for b in body.blocks:
        parts.append(dumps_block(b))
    return "\n".join(parts)
