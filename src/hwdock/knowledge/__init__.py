"""hwdock's knowledge: data files in `knowledge/data/`, each fact with its source.

Files are TOML (stdlib `tomllib`), one topic each. Every table entry carries a `source`
(a public URL or document name) for the fact it states. Code reads facts through `load()`
and never hard-codes them in `if` chains.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from typing import Any


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed data file `knowledge/data/<name>.toml` (cached for the process)."""
    path = os.path.join(os.path.dirname(__file__), "data", f"{name}.toml")
    if os.path.isfile(path):  # the usual case; importlib.resources costs ~5 ms to import
        with open(path, encoding="utf-8") as f:
            return tomllib.loads(f.read())
    from importlib import resources  # zipped installs

    text = resources.files(__package__).joinpath("data", f"{name}.toml").read_text("utf-8")
    return tomllib.loads(text)
