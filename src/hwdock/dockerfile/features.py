"""BuildKit-only features an instruction uses (the classic builder refuses them)."""

from __future__ import annotations

from hwdock.dockerfile.model import Feature
from hwdock.dockerfile.parser import Node

__all__ = ["FEATURES", "features_of", "mount_feature", "mount_fields", "split_flag"]

# code -> what it is, for people
FEATURES: dict[str, str] = {
    "syntax-directive": "`# syntax=` selects a Dockerfile frontend image",
    "heredoc": "heredoc (<<EOF) in RUN/COPY/ADD",
    "run-mount-cache": "RUN --mount=type=cache",
    "run-mount-bind": "RUN --mount=type=bind",
    "run-mount-secret": "RUN --mount=type=secret",
    "run-mount-ssh": "RUN --mount=type=ssh",
    "run-mount-tmpfs": "RUN --mount=type=tmpfs",
    "run-network": "RUN --network",
    "run-security": "RUN --security",
    "copy-link": "COPY/ADD --link",
    "copy-chmod": "COPY/ADD --chmod",
    "copy-chown-variable": "COPY/ADD --chown/--chmod with variables",
    "add-checksum": "ADD --checksum",
    "add-keep-git-dir": "ADD --keep-git-dir",
    "copy-parents": "COPY --parents",
    "copy-exclude": "COPY/ADD --exclude",
    "from-platform-variable": "FROM --platform with variables",
}


def split_flag(flag: str) -> tuple[str, str | None]:
    """`--name=value` → ("name", "value"); `--name` → ("name", None)."""
    body = flag[2:] if flag.startswith("--") else flag
    name, eq, value = body.partition("=")
    return name.lower(), (value if eq else None)


def mount_fields(value: str) -> dict[str, str]:
    """The `key=value` fields of a --mount flag (CSV, quotes allowed); `type` defaults to bind."""
    fields: dict[str, str] = {}
    if '"' in value:
        import csv  # quoted fields, as BuildKit's CSV reading of --mount

        try:
            items = next(csv.reader([value]), [])
        except csv.Error:
            items = value.split(",")
    else:
        items = value.split(",")
    for item in items:
        k, eq, v = item.partition("=")
        fields[k.strip().lower()] = v if eq else "true"
    fields.setdefault("type", "bind")
    return fields


def mount_feature(fields: dict[str, str], line: int, stage: int | None) -> Feature:
    """The feature a RUN --mount with these fields (see `mount_fields`) uses."""
    kind = fields.get("type", "bind").lower()
    code = f"run-mount-{kind}"
    return Feature(code, line, FEATURES.get(code, f"RUN --mount=type={kind}"), stage)


def features_of(node: Node, stage: int | None) -> list[Feature]:
    out: list[Feature] = []
    cmd = node.keyword
    line = node.start_line
    if cmd == "onbuild" and node.next is not None and node.next.children:
        child = node.next.children[0]
        child.start_line = line
        return features_of(child, stage)
    if node.heredocs:
        out.append(Feature("heredoc", line, FEATURES["heredoc"], stage))
    for flag in node.flags:
        name, value = split_flag(flag)
        if cmd == "run":
            if name == "mount" and value is not None:
                out.append(mount_feature(mount_fields(value), line, stage))
            elif name in ("network", "security"):
                out.append(Feature(f"run-{name}", line, FEATURES[f"run-{name}"], stage))
        elif cmd in ("copy", "add"):
            if name == "link" and value not in ("false",):
                out.append(Feature("copy-link", line, FEATURES["copy-link"], stage))
            elif name == "chmod":
                out.append(Feature("copy-chmod", line, FEATURES["copy-chmod"], stage))
            elif name == "checksum":
                out.append(Feature("add-checksum", line, FEATURES["add-checksum"], stage))
            elif name == "keep-git-dir":
                out.append(Feature("add-keep-git-dir", line, FEATURES["add-keep-git-dir"], stage))
            elif name == "parents":
                out.append(Feature("copy-parents", line, FEATURES["copy-parents"], stage))
            elif name == "exclude":
                out.append(Feature("copy-exclude", line, FEATURES["copy-exclude"], stage))
            if name in ("chown", "chmod") and value and "$" in value:
                code = "copy-chown-variable"
                out.append(Feature(code, line, FEATURES[code], stage))
        elif cmd == "from" and name == "platform" and value and "$" in value:
            code = "from-platform-variable"
            out.append(Feature(code, line, FEATURES[code], stage))
    return out
