"""`analyze(..., checks=False)` (the resolve-only mode the benchmark and fast readers use)
resolves exactly what the full analysis resolves, and leaves only the check lists empty
(and `buildkit_required`, which follows `features`, False)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hwdock.dockerfile import analyze

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(
    p
    for base in (ROOT / "tests/fixtures/dockerfiles", ROOT / "tests/fixtures/trees")
    for p in base.rglob("Dockerfile*")
    if p.is_file()
)
CHECK_LISTS = ("findings", "features", "arch_args", "toolkits", "images")
CASES = [
    ({}, None),
    ({"BASE_IMAGE": "example/base:1", "max_jobs": "3", "TARGETARCH": "arm64"}, None),
]


def test_there_are_files_to_compare() -> None:
    assert len(FILES) >= 6


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
@pytest.mark.parametrize("build_args,target", CASES)
def test_resolve_only_equals_full_analysis_without_checks(
    path: Path, build_args: dict[str, str], target: str | None
) -> None:
    text = path.read_text()
    full = analyze(text, str(path), build_args, target).to_dict()
    quick = analyze(text, str(path), build_args, target, checks=False).to_dict()
    for key in CHECK_LISTS:
        assert quick[key] == [], key
        full[key] = []
    # derived from `features`, so it follows them
    assert quick.pop("buildkit_required") is False
    full.pop("buildkit_required")
    assert quick == full
