"""Recorded hosts (tests/fixtures/hosts/<name>/) replayed through the probe.

Every folder is a capture in the format of docs/capture-format.md plus a hand-written
`expected.json` and a `SOURCES.md`. The probe must report at least what `expected.json`
says (a subset match, see tests/fixtures/hosts/README.md for the rules). The facts in
the fixtures come from public reports, never from running the probe.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

try:  # the probe helper provides this; without it every replay test fails (never skips)
    from hwdock.probe import probe_capture
except ImportError as exc:  # pragma: no cover - exercised only while the probe is missing
    probe_capture = None
    _IMPORT_ERROR: ImportError | None = exc
else:
    _IMPORT_ERROR = None

HOSTS = Path(__file__).resolve().parent / "fixtures" / "hosts"
FIXTURES = sorted(p for p in HOSTS.iterdir() if p.is_dir() and not p.name.startswith(("_", ".")))

# The hosts issue 2 asks for; a fixture may be added, none of these may go missing.
REQUIRED = {
    "mi300x-8",
    "mi250-2gcd",
    "rx7900xtx-igpu",
    "strix-halo",
    "amd-old-kernel",
    "h100-8-no-nvml",
    "rtx4090",
    "v100-old-driver",
    "jetson-orin",
    "wsl2-nvidia",
    "cpu-avx512",
    "cpu-avx2",
}

# The finding codes the fixtures may name (documented in tests/fixtures/hosts/README.md).
FINDING_CODES = {
    "kfd-not-writable",
    "render-node-not-writable",
    "nvidia-device-not-writable",
    "devices-hidden-by-env",
    "hsa-override-gfx-version",
    "no-buildx",
    "igpu-present",
    "nvml-unavailable",
    "compute-cap-from-table",
    "gpu-driver-not-bound",
    "low-disk-space",
}

# Lists of objects are matched by the first of these keys the expected item carries.
LIST_KEYS = ("pci_address", "path", "name", "code")
URL = re.compile(r"https?://\S+")
MAX_FIXTURE_BYTES = 300_000


# --- the subset matcher -----------------------------------------------------------------


def subset_mismatches(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Every way `actual` fails to contain `expected`, one readable line each.

    Rules: a dict must have each expected key (extra keys are fine); a key ending in
    `_include` names a list field (without the suffix) that must contain every listed
    value; a list of objects is matched item by item on `pci_address`/`path`/`name`/
    `code` when the expected item has one of them (a null `pci_address` means "match by
    position"), else by position; a list of scalars must contain every expected value;
    scalars must be equal (ints and floats compare numerically, bools never equal ints).
    """
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{where}: expected an object, got {_short(actual)}"]
        out: list[str] = []
        for key, want in expected.items():
            if key.endswith("_include") and key[: -len("_include")] in actual:
                field = key[: -len("_include")]
                have = actual[field]
                if not isinstance(have, list):
                    out.append(f"{where}.{field}: expected a list, got {_short(have)}")
                    continue
                missing = [w for w in want if w not in have]
                if missing:
                    out.append(f"{where}.{field}: missing {missing} (have {have})")
                continue
            if key not in actual:
                out.append(f"{where}.{key}: missing (expected {_short(want)})")
                continue
            out.extend(subset_mismatches(want, actual[key], f"{where}.{key}"))
        return out
    if isinstance(expected, list):
        if not isinstance(actual, list):
            return [f"{where}: expected a list, got {_short(actual)}"]
        if all(isinstance(e, dict) for e in expected) and expected:
            return _match_object_list(expected, actual, where)
        missing = [e for e in expected if e not in actual]
        return [f"{where}: missing {missing} (have {actual})"] if missing else []
    if isinstance(expected, bool) or isinstance(actual, bool):
        ok = type(expected) is type(actual) and expected == actual
    else:
        ok = expected == actual
    return [] if ok else [f"{where}: expected {_short(expected)}, got {_short(actual)}"]


def _match_object_list(expected: list[dict], actual: list[Any], where: str) -> list[str]:
    out: list[str] = []
    for pos, want in enumerate(expected):
        key = next((k for k in LIST_KEYS if want.get(k) is not None), None)
        if key is None:
            if pos >= len(actual):
                out.append(f"{where}[{pos}]: missing (only {len(actual)} items)")
                continue
            out.extend(subset_mismatches(want, actual[pos], f"{where}[{pos}]"))
            continue
        found = [a for a in actual if isinstance(a, dict) and a.get(key) == want[key]]
        label = f"{where}[{key}={want[key]}]"
        if not found:
            have = [a.get(key) for a in actual if isinstance(a, dict)]
            out.append(f"{label}: missing (have {key}s {have})")
            continue
        out.extend(subset_mismatches(want, found[0], label))
    return out


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 120 else text[:117] + "..."


def report_mismatches(expected: dict[str, Any], report: dict[str, Any]) -> list[str]:
    """Compare a fixture's expected.json with a HostReport document."""
    body = dict(expected)
    out: list[str] = []
    count = body.pop("accelerator_count", None)
    if count is not None and len(report.get("accelerators", [])) != count:
        keys = [a.get("pci_address") or a.get("name") for a in report.get("accelerators", [])]
        out.append(f"$.accelerators: expected {count} accelerators, got {len(keys)}: {keys}")
    codes = [f.get("code") for f in report.get("findings", [])]
    missing = [c for c in body.pop("findings_include", []) if c not in codes]
    if missing:
        out.append(f"$.findings: missing codes {missing} (have {codes})")
    unwanted = [c for c in body.pop("findings_exclude", []) if c in codes]
    if unwanted:
        out.append(f"$.findings: unexpected codes {unwanted}")
    out.extend(subset_mismatches(body, report))
    return out


# --- the matcher must be able to fail ------------------------------------------------------


def test_matcher_reports_wrong_missing_and_extra() -> None:
    report = {
        "accelerators": [
            {"pci_address": "0000:01:00.0", "gfx_target": "gfx1100", "integrated": False},
            {"pci_address": "0000:02:00.0", "gfx_target": "gfx1036", "integrated": True},
        ],
        "cpu": {"isa_flags": ["avx2"], "isa_level": "avx2"},
        "findings": [{"code": "igpu-present"}],
        "wsl": False,
    }
    good = {
        "accelerator_count": 2,
        "accelerators": [{"pci_address": "0000:02:00.0", "integrated": True}],
        "cpu": {"isa_flags_include": ["avx2"]},
        "findings_include": ["igpu-present"],
        "wsl": False,
    }
    assert report_mismatches(good, report) == []
    bad = {
        "accelerator_count": 3,
        "accelerators": [
            {"pci_address": "0000:01:00.0", "gfx_target": "gfx1101"},
            {"pci_address": "0000:09:00.0"},
        ],
        "cpu": {"isa_flags_include": ["avx512f"], "isa_level": "avx2"},
        "findings_include": ["kfd-not-writable"],
        "findings_exclude": ["igpu-present"],
        "wsl": 0,
        "jetson_release": None,
    }
    lines = report_mismatches(bad, report)
    text = "\n".join(lines)
    assert "expected 3 accelerators" in text
    assert "gfx1101" in text and "0000:09:00.0" in text
    assert "avx512f" in text
    assert "kfd-not-writable" in text and "unexpected codes ['igpu-present']" in text
    assert "$.wsl" in text  # 0 is not False
    assert "$.jetson_release: missing" in text
    assert len(lines) == 8


def test_matcher_matches_null_pci_address_by_position() -> None:
    report = {"accelerators": [{"pci_address": None, "vendor": "nvidia", "integrated": True}]}
    same = {"accelerators": [{"pci_address": None, "integrated": True}]}
    other = {"accelerators": [{"pci_address": None, "integrated": False}]}
    assert subset_mismatches(same, report) == []
    assert subset_mismatches(other, report) == [
        "$.accelerators[0].integrated: expected false, got true"
    ]


# --- the fixtures themselves -------------------------------------------------------------


def test_readme_documents_every_finding_code() -> None:
    readme = (HOSTS / "README.md").read_text()
    undocumented = sorted(c for c in FINDING_CODES if f"`{c}`" not in readme)
    assert not undocumented, f"tests/fixtures/hosts/README.md does not explain {undocumented}"


def test_every_required_host_is_recorded() -> None:
    names = {p.name for p in FIXTURES}
    assert names >= REQUIRED, f"missing fixtures: {sorted(REQUIRED - names)}"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_fixture_is_a_well_formed_capture(fixture: Path) -> None:
    meta = json.loads((fixture / "meta.json").read_text())
    assert meta.get("format") == "hwdock-capture" and meta.get("version") == 1
    for key in ("hostname", "kernel", "captured_at", "env", "user", "description"):
        assert key in meta, f"meta.json lacks {key!r}"
    assert isinstance(meta["env"], dict)
    assert {"uid", "gid", "groups"} <= set(meta["user"])
    sources = meta.get("sources")
    assert isinstance(sources, list) and sources, "meta.json needs a non-empty 'sources' list"
    assert all(URL.fullmatch(s) for s in sources), f"not URLs: {sources}"

    text = (fixture / "SOURCES.md").read_text()
    assert URL.search(text), "SOURCES.md cites no http(s) URL"
    for url in sources:
        assert url in text, f"{url} is in meta.json but not explained in SOURCES.md"
    said = re.search(r"(?i)inferred|invented|by hand", text)
    assert said, "SOURCES.md must say what was inferred"

    assert (fixture / "root").is_dir()
    for entry in json.loads((fixture / "devices.json").read_text()):
        assert {"path", "type", "major", "minor", "mode", "uid", "gid"} <= set(entry), entry
        assert entry["path"].startswith("/dev/") and re.fullmatch(r"0[0-7]{3}", entry["mode"])
    for entry in json.loads((fixture / "commands.json").read_text()):
        assert {"argv", "stdout", "stderr", "returncode", "timed_out"} <= set(entry), entry
        assert isinstance(entry["argv"], list) and entry["argv"]

    expected = json.loads((fixture / "expected.json").read_text())
    for code in expected.get("findings_include", []) + expected.get("findings_exclude", []):
        assert code in FINDING_CODES, f"undocumented finding code {code!r}"

    for link in (fixture / "root" / "sys" / "bus" / "pci" / "devices").glob("*/driver"):
        assert link.is_symlink(), f"{link} must be a relative symlink"
        assert not Path(link.readlink()).is_absolute()

    size = sum(p.lstat().st_size for p in fixture.rglob("*") if not p.is_dir())
    assert size < MAX_FIXTURE_BYTES, f"fixture is {size} bytes"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda p: p.name)
def test_probe_reports_what_the_host_has(fixture: Path) -> None:
    if probe_capture is None:
        pytest.fail(
            "hwdock.probe.probe_capture is missing, so no recorded host can be replayed "
            f"({_IMPORT_ERROR}). The probe helper provides probe_capture(path) -> HostReport."
        )
    expected = json.loads((fixture / "expected.json").read_text())
    report = probe_capture(fixture).to_dict()
    problems = report_mismatches(expected, report)
    if problems:
        shown = {k: report.get(k) for k in ("accelerators", "drivers", "cpu", "findings")}
        pytest.fail(
            f"{fixture.name}: the probe's report differs from expected.json\n  "
            + "\n  ".join(problems)
            + "\n--- report (excerpt) ---\n"
            + json.dumps(shown, indent=1, default=str)[:6000]
        )
