"""hwdock.sha: the SHA-256 the up-to-date build path uses without importing hashlib gives
hashlib's digests (the plan-hash labels on existing images depend on it)."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from hwdock.sha import sha256


@given(st.lists(st.binary(max_size=300), max_size=5))
def test_same_digests_as_hashlib(chunks: list[bytes]) -> None:
    ours, theirs = sha256(), hashlib.sha256()
    for c in chunks:
        ours.update(c)
        theirs.update(c)
    assert ours.hexdigest() == theirs.hexdigest()
    assert sha256(b"".join(chunks)).digest() == theirs.digest()


def test_a_known_digest() -> None:
    # FIPS 180-2's example for "abc"
    want = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256(b"abc").hexdigest() == want
    assert sha256(b"a" * 1_000_000).hexdigest() == hashlib.sha256(b"a" * 1_000_000).hexdigest()
