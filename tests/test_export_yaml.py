"""The YAML emitter: whatever it writes, a YAML 1.1 reader (PyYAML) reads back unchanged."""

from __future__ import annotations

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from hwdock.export import yamltext

_str = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
_scalar = st.one_of(_str, st.integers(-(2**40), 2**40), st.booleans(), st.none())
_doc = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_str, inner, max_size=4)),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(doc=st.dictionaries(_str, _doc, max_size=5))
def test_round_trip(doc: dict) -> None:
    assert yaml.safe_load(yamltext.dump(doc)) == (doc or None)


def test_ambiguous_scalars_stay_strings() -> None:
    doc = {"on": "yes", "n": "0755", "x": "1e3", "y": "null", "z": "~", "w": "- a: b"}
    assert yaml.safe_load(yamltext.dump(doc)) == doc
