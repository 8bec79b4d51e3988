"""hwdock's knowledge: data files in `knowledge/data/`, each fact with its source.

Files are TOML (stdlib `tomllib`), one topic each. Every table entry carries a `source`
(a public URL or document name) for the fact it states. Code reads facts through `load()`
and never hard-codes them in `if` chains.
"""

from __future__ import annotations

import tomllib
from functools import cache
from pathlib import Path
from typing import Any

# Package data sits beside this file (setuptools installs it as files). Reading it with
# pathlib avoids importlib.resources, whose import pulls in tempfile and random (~5 ms on
# every CLI start).
_DATA = Path(__file__).resolve().parent / "data"


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed data file `knowledge/data/<name>.toml` (cached for the process)."""
    text = (_DATA / f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)
