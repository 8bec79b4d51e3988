"""A small YAML emitter for the documents hwdock writes (Compose files, Kubernetes manifests).

Only the subset we produce: block mappings and sequences of mappings, lists, strings, ints,
floats, booleans and null. Every string is written double-quoted with JSON-style escapes (a
valid YAML double-quoted scalar), so no value can change type ("on", "0755", "1e3") or break
the structure (":", "#", newlines). No runtime dependency: PyYAML only reads it back in tests.
"""

from __future__ import annotations

import re
from typing import Any

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_./-]*$")
_AMBIGUOUS = frozenset(
    {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~"}
)  # YAML 1.1 readers (docker-compose's PyYAML) take these as booleans/null


def quote(s: str) -> str:
    """A YAML double-quoted scalar for any string."""
    out = ['"']
    for ch in s:
        code = ord(ch)
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif (
            code < 0x20
            or code == 0x7F
            or 0x80 <= code <= 0x9F
            or code in (0x2028, 0x2029)
            or 0xD800 <= code <= 0xDFFF
            or code in (0xFEFF, 0xFFFE, 0xFFFF)
        ):
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def _key(k: Any) -> str:
    k = str(k)
    if _PLAIN_KEY.fullmatch(k) and k.lower() not in _AMBIGUOUS:
        return k
    return quote(k)


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return quote(v)
    raise TypeError(f"cannot write {type(v).__name__} as YAML")


def _emit(value: Any, indent: int, lines: list[str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, dict) and v:
                lines.append(f"{pad}{_key(k)}:")
                _emit(v, indent + 2, lines)
            elif isinstance(v, list | tuple) and v:
                lines.append(f"{pad}{_key(k)}:")
                _emit(list(v), indent + 2, lines)
            else:
                lines.append(f"{pad}{_key(k)}: {_inline(v)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and item:
                sub: list[str] = []
                _emit(item, indent + 2, sub)
                first = sub[0][indent + 2 :]
                lines.append(f"{pad}- {first}")
                lines.extend(sub[1:])
            elif isinstance(item, list) and item:
                sub = []
                _emit(item, indent + 2, sub)
                lines.append(f"{pad}- {sub[0][indent + 2 :]}")
                lines.extend(sub[1:])
            else:
                lines.append(f"{pad}- {_inline(item)}")
    else:
        lines.append(pad + _scalar(value))


def _inline(v: Any) -> str:
    if isinstance(v, dict):
        return "{}"
    if isinstance(v, list | tuple):
        return "[]"
    return _scalar(v)


def dump(doc: dict[str, Any]) -> str:
    """One YAML document (block style) for a mapping."""
    lines: list[str] = []
    _emit(doc, 0, lines)
    return "\n".join(lines) + "\n"


def dump_all(docs: list[dict[str, Any]]) -> str:
    """Several documents separated by `---`."""
    return "".join("---\n" + dump(d) for d in docs)
