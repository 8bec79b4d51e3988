"""Names for the things exporters create: DNS-1123 labels for Kubernetes, Compose service names.

A name that had to change is returned with a note saying so, never changed silently.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_DNS_BAD = re.compile(r"[^a-z0-9-]+")
_COMPOSE_BAD = re.compile(r"[^a-zA-Z0-9._-]+")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _suffix(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:6]


def dns1123_label(text: str, *, max_len: int = 63) -> tuple[str, str | None]:
    """A valid DNS-1123 label for `text`, and a note when it differs from `text`."""
    name = _DNS_BAD.sub("-", _ascii(text).lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if not name:
        name = "hwdock-" + _suffix(text)
    elif name != text and name != text.lower():
        # different inputs must not collide after sanitising: keep a short hash of the original
        name = f"{name[: max_len - 7].rstrip('-')}-{_suffix(text)}"
    if len(name) > max_len:
        name = f"{name[: max_len - 7].rstrip('-')}-{_suffix(text)}"
    note = None
    if name != text:
        note = f"name {text!r} is not a valid Kubernetes name (DNS-1123 label); using {name!r}"
    return name, note


def compose_service_name(text: str) -> tuple[str, str | None]:
    name = _COMPOSE_BAD.sub("-", _ascii(text)).strip("-._")
    if not name:
        name = "hwdock-" + _suffix(text)
    note = None if name == text else f"service name {text!r} sanitised to {name!r}"
    return name, note


_LABEL_VALUE_BAD = re.compile(r"[^A-Za-z0-9._-]+")


def label_value(text: str) -> str:
    """A valid Kubernetes label value (63 chars, alphanumeric at both ends)."""
    value = _LABEL_VALUE_BAD.sub("-", _ascii(text)).strip("-._")
    if len(value) > 63:
        value = value[:56].rstrip("-._") + "-" + _suffix(text)
    return value
