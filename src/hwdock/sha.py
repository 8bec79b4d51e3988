"""SHA-256 without importing `hashlib`, for the "nothing changed" path of `hwdock build`.

`hashlib` loads OpenSSL's libcrypto when imported: about 3.5 ms here, a tenth of an
up-to-date build. CPython also builds its own SHA-256 (module `_sha2` from 3.12, `_sha256`
before); its digests are the same, and for the short texts hashed on that path its speed is
too. Where neither is built in, `hashlib`'s is used.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (~2 ms)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    sha256: Callable[..., Any]

try:
    from _sha2 import sha256  # type: ignore[import-not-found, no-redef]  # CPython 3.12+
except ImportError:
    try:
        from _sha256 import sha256  # type: ignore[import-not-found, no-redef]  # CPython 3.11
    except ImportError:
        from hashlib import sha256  # type: ignore[no-redef]

__all__ = ["sha256"]
