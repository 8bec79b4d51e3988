"""Reading a JSON document a user named (a host report, a plan): one set of error messages.

Every failure is an `InputError` naming the file (and the line, for bad JSON).
"""

from __future__ import annotations

import json
import os
from typing import Any

from hwdock.errors import InputError


def read_json(path: str | os.PathLike[str], what: str) -> Any:
    """The parsed document at `path`; `what` names it in the messages ("plan", ...)."""
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as f:
            text = f.read()
    except FileNotFoundError:
        raise InputError(f"no such file: cannot read the {what}", path=name) from None
    except OSError as err:
        raise InputError(f"cannot read: {err.strerror or err}", path=name) from None
    except UnicodeDecodeError as err:
        raise InputError(f"not text: {err.reason}", path=name) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"not JSON: {err.msg}", path=name, line=err.lineno) from None
