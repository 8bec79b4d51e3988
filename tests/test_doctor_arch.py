"""Arch-list parsing and coverage (doctor/arch.py), with property tests over any input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hwdock.doctor import arch


def test_split_list_shapes() -> None:
    assert arch.split_list("gfx90a;gfx942") == ["gfx90a", "gfx942"]
    assert arch.split_list('"7.0 8.0 9.0+PTX"') == ["7.0", "8.0", "9.0+PTX"]
    assert arch.split_list("sm_80, compute_90") == ["sm_80", "compute_90"]
    assert arch.split_list(None) == [] and arch.split_list("  ") == []


@pytest.mark.parametrize(
    ("value", "gfx"),
    [("11.0.0", "gfx1100"), ("10.3.0", "gfx1030"), ("9.0.10", "gfx90a"), ("9.4.2", "gfx942"),
     ("11.5.1", "gfx1151"), ("", None), ("11.0", None), ("x.y.z", None), ("9.0.16", None)],
)  # fmt: skip
def test_override_decoding(value: str, gfx: str | None) -> None:
    assert arch.gfx_from_override(value) == gfx


def test_rocm_coverage_ignores_feature_suffixes() -> None:
    assert arch.covers(["gfx90a:xnack-", "gfx942:sramecc+:xnack-"], gfx="gfx942") is True
    assert arch.covers(["gfx90a", "gfx942"], gfx="gfx1100") is False
    assert arch.covers(["sm_80"], gfx="gfx1100") is None  # a CUDA list says nothing about AMD


@pytest.mark.parametrize(
    ("items", "cc", "expected"),
    [
        (["7.0", "7.5", "8.0", "8.6", "8.9", "9.0+PTX"], "12.0", True),  # PTX JIT
        (["7.0", "7.5", "8.0", "8.6", "8.9", "9.0"], "12.0", False),
        (["8.0"], "8.6", True),  # SASS runs on a higher minor of the same major
        (["8.6"], "8.0", False),
        (["9.0a"], "9.0", True),
        (["9.0a"], "10.0", False),
        (["80", "90"], "9.0", True),  # CMake style
        (["compute_75"], "7.0", False),
        (["gfx942"], "9.0", None),
    ],
)
def test_cuda_coverage(items: list[str], cc: str, expected: bool | None) -> None:
    assert arch.covers(items, capability=cc) is expected


@given(st.text(max_size=200), st.text(max_size=20))
def test_coverage_never_raises(value: str, target: str) -> None:
    items = arch.split_list(value)
    assert arch.covers(items, gfx=target or None) in (True, False, None)
    assert arch.covers(items, capability=target or None) in (True, False, None)
    arch.gfx_from_override(target)


@given(st.integers(0, 15), st.integers(0, 15), st.integers(0, 15))
def test_override_round_trip(major: int, minor: int, step: int) -> None:
    gfx = arch.gfx_from_override(f"{major}.{minor}.{step}")
    assert gfx == f"gfx{major}{minor:x}{step:x}"
    assert arch.covers([gfx], gfx=gfx) is True
