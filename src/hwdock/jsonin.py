"""Reading a JSON document a user named (a host report, a plan): one set of error messages.

Every failure is an `InputError` naming the file (and the line, for bad JSON).
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import MISSING, fields, is_dataclass
from types import UnionType
from typing import Any, Literal, TypeVar, Union, get_args, get_origin, get_type_hints

from hwdock.errors import InputError


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """The parsed document at `path`; `what` names it in the messages ("plan", ...)."""
    name = os.fspath(path)
    return loads(read_text(name, what), name)


def loads(text: str, name: str) -> Any:
    """The parsed JSON `text`, read from the file `name` (InputError naming file and line)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not JSON: {err.msg}", path=name, line=err.lineno) from None


def read_text(path: str | os.PathLike[str], what: str, *, errors: str = "strict") -> str:
    """The text of the regular file at `path` (UTF-8; `errors` as for `open`), or an
    `InputError` that says why not: missing, a dangling link, a folder, a FIFO or device
    (which would block), unreadable, not text."""
    name = os.fspath(path)
    check_regular_file(name, what)
    try:
        with open(name, encoding="utf-8", errors=errors) as f:
            return f.read()
    except OSError as err:
        raise InputError(f"cannot read the {what}: {err.strerror or err}", path=name) from None
    except UnicodeDecodeError as err:
        raise InputError(
            f"not text (not UTF-8: {err.reason} at byte {err.start})",
            path=name,
            hint=f"give the {what} as a UTF-8 text file",
        ) from None


def check_regular_file(name: str, what: str) -> None:
    """InputError unless `name` is a regular file (following links)."""
    try:
        st = os.stat(name)
    except FileNotFoundError:
        if os.path.islink(name):
            target = os.readlink(name)
            raise InputError(
                f"a dangling symlink (to {target}): cannot read the {what}", path=name
            ) from None
        raise InputError(f"no such file: cannot read the {what}", path=name) from None
    except OSError as err:
        raise InputError(f"cannot read the {what}: {err.strerror or err}", path=name) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"is a directory, not the {what} file", path=name)
    if not stat.S_ISREG(st.st_mode):
        kind = "a FIFO" if stat.S_ISFIFO(st.st_mode) else "a device or socket"
        raise InputError(
            f"not a regular file ({kind}): cannot read the {what}",
            path=name,
            hint="save it to a file first",
        )


def from_data(cls: type[T], data: Any, where: str = "") -> T:
    """The dataclass `cls` built from a parsed JSON object, every field checked against its
    type hint (nested dataclasses, `list[...]`, `dict[...]`, `tuple[...]`, `Literal`, `X | None`).

    Keys this version does not know are ignored (newer writers may add fields); `null` for a
    list or dict field that has a default stands for empty. A missing required field or a value
    of the wrong type is an `InputError` naming the field by its path, e.g.
    `accelerators[0].numa_node: expected an integer, got the string '0'`.
    """
    if not isinstance(data, dict):
        raise InputError(f"{where or 'document'}: expected an object, got {_describe(data)}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        path = f"{where}.{f.name}" if where else f.name
        if f.name not in data:
            if f.default is MISSING and f.default_factory is MISSING:
                raise InputError(f"{path}: missing (a required field)")
            continue
        value = data[f.name]
        if value is None and f.default_factory is not MISSING:
            continue  # null list/dict: the empty default
        kwargs[f.name] = _check(value, hints[f.name], path)
    return cls(**kwargs)


T = TypeVar("T")
_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _check(value: Any, tp: Any, path: str) -> Any:
    """`value` if it fits `tp` (tuples converted from JSON lists); InputError otherwise."""
    if tp is Any:
        return value
    origin = get_origin(tp)
    args = get_args(tp)
    if origin in (Union, UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _check(value, arg, path)
            except InputError as err:
                errors.append(err)
        inner = [a for a in args if a is not type(None)]
        if len(inner) == 1 and (get_origin(inner[0]) is not None or is_dataclass(inner[0])):
            raise errors[0]  # a container's own message names the element that is wrong
        raise InputError(f"{path}: expected {_name(tp)}, got {_describe(value)}")
    if origin is Literal:
        if value in args and type(value) in {type(a) for a in args}:
            return value
        choices = ", ".join(repr(a) for a in args)
        raise InputError(f"{path}: expected one of {choices}, got {_describe(value)}")
    if origin is list:
        if not isinstance(value, list):
            raise InputError(f"{path}: expected a list, got {_describe(value)}")
        (item,) = args or (Any,)
        return [_check(v, item, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise InputError(f"{path}: expected an object, got {_describe(value)}")
        vt = args[1] if args else Any
        return {str(k): _check(v, vt, f"{path}.{k}") for k, v in value.items()}
    if origin is tuple:
        if not isinstance(value, (list, tuple)) or (
            args and args[-1] is not Ellipsis and len(value) != len(args)
        ):
            raise InputError(f"{path}: expected {_name(tp)}, got {_describe(value)}")
        items = args if args and args[-1] is not Ellipsis else (args[:1] or (Any,)) * len(value)
        return tuple(
            _check(v, t, f"{path}[{i}]") for i, (v, t) in enumerate(zip(value, items, strict=True))
        )
    if is_dataclass(tp):
        return from_data(tp, value, path)  # type: ignore[arg-type]
    if tp is bool:
        if isinstance(value, bool):
            return value
    elif tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    elif tp is str:
        if isinstance(value, str):
            return value
    elif isinstance(tp, type) and isinstance(value, tp):
        return value
    raise InputError(f"{path}: expected {_name(tp)}, got {_describe(value)}")


_NAMES = {str: "a string", int: "an integer", float: "a number", bool: "true or false"}


def _name(tp: Any) -> str:
    if tp in _NAMES:
        return _NAMES[tp]
    origin = get_origin(tp)
    if origin in (Union, UnionType):
        return " or ".join(_name(a) for a in get_args(tp) if a is not type(None)) + " or null"
    if origin is list:
        return "a list"
    if origin is tuple:
        return f"a list of {len(get_args(tp))}"
    if origin is dict or is_dataclass(tp):
        return "an object"
    return getattr(tp, "__name__", str(tp))


def _describe(value: Any) -> str:
    """A JSON value, as the message names it: `the string '0'`, `null`, `a list`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        short = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {short!r}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
