"""The hand parser behind the commands' `fast_path(args)` (see hwdock.entry): plain option
forms only, so that anything typer would read differently goes to typer instead.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:
    from collections.abc import Collection, Mapping
    from typing import Any


def parse(
    args: list[str],
    *,
    flags: Mapping[str, str],
    values: Mapping[str, str],
    repeated: Collection[str] = (),
    positional: int = 0,
) -> tuple[dict[str, Any], list[str]] | None:
    """`args` as ({dest: value}, positionals), or None for typer to answer.

    `flags` and `values` map option names (`--json`, `-f`) to their dest; a value option takes
    the next word or `--name=value`; dests in `repeated` collect a list. None for: an unknown
    option (`--help` among them), `--`, a flag with `=`, a missing or empty value or one that
    looks like an option, a dest given twice that does not repeat, more than `positional`
    positional words.
    """
    opts: dict[str, Any] = {}
    words: list[str] = []
    rest = iter(args)
    for arg in rest:
        name, eq, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if name in flags and not eq:
            dest = flags[name]
            if dest in opts:
                return None
            opts[dest] = True
        elif name in values:
            dest = values[name]
            value = inline if eq else next(rest, None)
            if not value or value.startswith("-"):
                return None
            if dest in repeated:
                opts.setdefault(dest, []).append(value)
            elif dest in opts:
                return None
            else:
                opts[dest] = value
        elif arg.startswith("-") and arg != "-":
            return None
        else:
            words.append(arg)
    if len(words) > positional:
        return None
    return opts, words
