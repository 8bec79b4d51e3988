"""hwdock's knowledge: data files in `knowledge/data/`, each fact with its source.

Files are TOML (stdlib `tomllib`), one topic each. Every table entry carries a `source`
(a public URL or document name) for the fact it states. Code reads facts through `load()`
and never hard-codes them in `if` chains.

A TOML file may have a compiled twin `<name>.compiled.json` (`python -m hwdock.knowledge`
writes them): the same data as JSON plus the CRC-32 of the TOML it came from. `load()` uses
the twin only when that checksum matches the TOML's bytes, so the TOML stays the one source
of truth and a stale twin is merely ignored; it spares the start-up path tomllib's import and
parse (a few ms, see BENCHMARKS.md).
"""

from __future__ import annotations

import os
from functools import cache
from typing import Any

# Package data sits beside this file (setuptools installs it as files). Reading it directly
# avoids importlib.resources, whose import pulls in tempfile and random (~5 ms on every CLI
# start).
DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
COMPILED = ("amd_gpus", "cuda", "nvidia_gpus", "pci_vendors")  # tables on the probe's start-up path


@cache
def load(name: str) -> dict[str, Any]:
    """The parsed data file `knowledge/data/<name>.toml` (cached for the process)."""
    with open(os.path.join(DATA, f"{name}.toml"), "rb") as f:
        raw = f.read()
    twin = os.path.join(DATA, f"{name}.compiled.json")
    if os.path.isfile(twin):
        import json
        import zlib

        with open(twin, encoding="utf-8") as f:
            doc = json.load(f)
        if doc.get("toml_crc32") == zlib.crc32(raw):
            return doc["data"]
    return _parse(raw.decode("utf-8"))


def _parse(text: str) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(text)


def compile_twin(name: str) -> str:
    """Write `<name>.compiled.json` from `<name>.toml`; returns its path."""
    import json
    import zlib

    with open(os.path.join(DATA, f"{name}.toml"), "rb") as f:
        raw = f.read()
    doc = {
        "generated_by": "python -m hwdock.knowledge (do not edit; edit the .toml)",
        "toml_crc32": zlib.crc32(raw),
        "data": _parse(raw.decode("utf-8")),
    }
    out = os.path.join(DATA, f"{name}.compiled.json")
    with open(out, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")
    return out
