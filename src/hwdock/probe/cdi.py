"""CDI specs in /etc/cdi and /var/run/cdi: their `kind` and device names.

JSON specs go through `json`. YAML specs (what `nvidia-ctk cdi generate` writes) go through a
small reader of the block-style subset CDI uses: top-level `kind:` and the `name:` of each
item of the top-level `devices:` list. A full YAML parser would be a runtime dependency and
import cost on every probe for two fields; anything this reader cannot follow is a warning.
"""

from __future__ import annotations

import json

from hwdock.probe.context import Context
from hwdock.probe.model import CdiSpec

CDI_DIRS = ("/etc/cdi", "/var/run/cdi")


class CdiError(ValueError):
    pass


def _scalar(value: str) -> str:
    value = value.split(" #", 1)[0].strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        value = value[1:-1]
    return value


def parse_cdi(text: str, path: str = "") -> tuple[str, list[str]]:
    """(kind, device names) of one spec; raises CdiError when it cannot tell."""
    stripped = text.lstrip()
    if stripped.startswith("{") or path.endswith(".json"):
        try:
            doc = json.loads(text)
        except ValueError as err:
            raise CdiError(f"not valid JSON ({err})") from None
        if not isinstance(doc, dict):
            raise CdiError("not a JSON object")
        kind = doc.get("kind")
        devices = doc.get("devices") or []
        if not isinstance(kind, str) or not isinstance(devices, list):
            raise CdiError("no `kind` string or `devices` list")
        names = [
            d["name"] for d in devices if isinstance(d, dict) and isinstance(d.get("name"), str)
        ]
        return kind, names
    return _parse_yaml_subset(text)


def _parse_yaml_subset(text: str) -> tuple[str, list[str]]:
    kind: str | None = None
    names: list[str] = []
    in_devices = False
    item_indent: int | None = None
    key_indent: int | None = None
    for raw in text.splitlines():
        line = raw.rstrip()
        body = line.lstrip()
        if not body or body.startswith("#") or body in ("---", "..."):
            continue
        indent = len(line) - len(body)
        is_item = body.startswith("- ") or body == "-"
        if indent == 0 and not (in_devices and is_item):
            in_devices = False
            key, sep, value = body.partition(":")
            if not sep:
                raise CdiError(f"unexpected top-level line {body[:60]!r}")
            if key == "kind":
                kind = _scalar(value)
            elif key == "devices":
                if _scalar(value) not in ("", "[]"):
                    raise CdiError("flow-style `devices:` is not supported")
                in_devices, item_indent, key_indent = True, None, None
            continue
        if not in_devices:
            continue
        if is_item:
            if item_indent is None:
                item_indent = indent
            if indent == item_indent:
                rest = body[1:].strip()
                key_indent = indent + (len(body) - len(rest))
                _take_name(rest, names)
                continue
        if key_indent is not None and indent == key_indent:
            _take_name(body, names)
    if not kind:
        raise CdiError("no top-level `kind:`")
    return kind, names


def _take_name(entry: str, names: list[str]) -> None:
    key, sep, value = entry.partition(":")
    if sep and key.strip() == "name":
        v = _scalar(value)
        if v:
            names.append(v)


def collect(ctx: Context) -> None:
    specs = ctx.report.container.cdi_specs
    for directory in CDI_DIRS:
        for name in ctx.root.listdir(directory) or []:
            if not name.endswith((".yaml", ".yml", ".json")):
                continue
            path = f"{directory}/{name}"
            text = ctx.read(path)
            if text is None:
                continue
            try:
                kind, devices = parse_cdi(text, path)
            except CdiError as err:
                ctx.warn(
                    "cdi-spec-unreadable",
                    f"CDI spec {path} was not understood: {err}",
                    evidence=[path],
                )
                continue
            specs.append(CdiSpec(path=path, kind=kind, devices=[f"{kind}={d}" for d in devices]))
