"""`ContextDigest`: what the build context's digest is, however it was had (walk or watcher).

Its own module, and a plain class: both the walk (`context.py`) and the watcher's answer
(`watch.py`) make one, and the watcher's answer is on the up-to-date build's path, where a
dataclass import costs ~9 ms.
"""

from __future__ import annotations


class ContextDigest:
    __slots__ = ("bytes", "digest", "files")

    def __init__(self, digest: str, files: int, bytes: int) -> None:
        self.digest = digest  # "sha256:<hex>"
        self.files = files  # regular files and symlinks the build would see
        self.bytes = bytes  # their total size

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ContextDigest):
            return NotImplemented
        return (self.digest, self.files, self.bytes) == (other.digest, other.files, other.bytes)

    def __hash__(self) -> int:
        return hash((self.digest, self.files, self.bytes))

    def __repr__(self) -> str:
        return f"ContextDigest({self.digest!r}, files={self.files}, bytes={self.bytes})"
