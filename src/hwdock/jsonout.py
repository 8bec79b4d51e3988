"""JSON output shared by every `--json` command: one envelope, versioned schemas.

Every document carries `kind` and `schema_version` so programs can refuse what they do not
understand. The schemas are described in docs/json-schema.md.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def envelope(kind: str, schema_version: int, body: dict[str, Any]) -> dict[str, Any]:
    return {"kind": kind, "schema_version": schema_version, **body}


def dump(doc: Any, stream: Any = None) -> None:
    stream = stream or sys.stdout
    json.dump(doc, stream, indent=2, sort_keys=False, ensure_ascii=False)
    stream.write("\n")
