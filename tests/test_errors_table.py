"""The known-error table against real log lines users posted (facts, with their sources)."""

from __future__ import annotations

import json
import string
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hwdock.doctor import known_errors

LOGS = Path(__file__).parent / "fixtures" / "logs"
REQUIRED = {
    "hip-invalid-device-function",
    "hip-no-binary-for-gpu",
    "cuda-no-kernel-image",
    "cuda-driver-insufficient",
    "nvidia-require-cuda-unsatisfied",
    "kfd-permission-denied",
    "nccl-shm-too-small",
    "build-oom-cc1plus",
    "build-oom-exit-137",
    "illegal-instruction",
    "vllm-no-platform",
    "nvidia-toolkit-missing",
    "hsa-out-of-resources",
    "no-hip-gpus",
    "nvidia-gpus-flag-refused",
    "docker-runtime-unknown",
}

EXAMPLES = [
    pytest.param(entry.id, text, id=f"{entry.id}-{i}")
    for entry in known_errors.table()
    for i, (text, _src) in enumerate(entry.examples)
]


def test_table_covers_the_required_failures() -> None:
    ids = [e.id for e in known_errors.table()]
    assert len(ids) == len(set(ids)), "duplicate ids"
    assert set(ids) >= REQUIRED


@pytest.mark.parametrize("entry", known_errors.table(), ids=lambda e: e.id)
def test_entry_is_complete(entry: known_errors.KnownError) -> None:
    assert entry.source.startswith("https://")
    assert entry.examples, "every entry carries at least one real excerpt"
    assert all(src.startswith("https://") for _t, src in entry.examples)
    for p in entry.patterns:
        assert "\\s" not in p.pattern, f"{entry.id}: \\s can cross lines; use [ \\t]"
    groups = {g for p in entry.patterns for g in p.groupindex}
    for template in (entry.cause, entry.fix):
        names = {n for _l, n, _s, _c in string.Formatter().parse(template) if n}
        assert names <= groups, f"{entry.id}: placeholders {names - groups} have no capture"


@pytest.mark.parametrize(("expected", "text"), EXAMPLES)
def test_real_excerpt_matches_its_entry_only(expected: str, text: str) -> None:
    ids = [m.id for m in known_errors.match_text(text)]
    assert ids == [expected]


def test_captures_fill_the_fix() -> None:
    line = (
        "nvidia-container-cli: requirement error: unsatisfied condition: cuda>=12.8, "
        "please update your driver to a newer version, or use an earlier cuda container"
    )
    (m,) = known_errors.match_text(line)
    assert m.captures == {"cuda": "12.8"}
    assert "CUDA 12.8" in m.fix
    assert "{cuda}" not in m.fix + m.cause
    (m2,) = known_errors.match_text("unsatisfied condition: cuda >= 9.0")
    assert m2.captures["cuda"] == "9.0"


EXPECTED_LOGS = {
    "vllm-cuda-build-oom.log": [("build-oom-cc1plus", 3), ("build-oom-exit-137", 6)],
    "rocm-arch-missing.log": [("hip-invalid-device-function", 6)],
    "nvidia-driver-too-old.log": [("nvidia-require-cuda-unsatisfied", 3)],
    "vllm-tp-shm.log": [("nccl-shm-too-small", 4)],
    "no-device.log": [("vllm-no-platform", 1)],
    "jetson-gpus-flag.log": [("nvidia-gpus-flag-refused", 3)],
    "clean-run.log": [],
}


@pytest.mark.parametrize("name", sorted(EXPECTED_LOGS))
def test_log_fixture(name: str) -> None:
    matches = known_errors.match_text((LOGS / name).read_text())
    assert [(m.id, m.line) for m in matches] == EXPECTED_LOGS[name]


# the failure of `docker run --gpus all` on a Jetson, as Docker prints it on one line
JETSON_GPUS_ERROR = (
    "OCI runtime create failed: runc create failed: unable to start container process: error "
    "during container init: error running prestart hook #0: exit status 1, stdout: , stderr: "
    "Auto-detected mode as 'csv' invoking the NVIDIA Container Runtime Hook directly (e.g. "
    "specifying the docker --gpus flag) is not supported. Please use the NVIDIA Container "
    "Runtime (e.g. specify the --runtime=nvidia flag) instead."
)


def test_jetson_gpus_flag_failure_is_explained_with_the_runtime_fix() -> None:
    (m,) = known_errors.match_text(JETSON_GPUS_ERROR)
    assert m.id == "nvidia-gpus-flag-refused" and m.category == "runtime"
    assert "CSV mode" in m.cause and "host-files-for-container.d" in m.cause
    assert "--runtime nvidia" in m.fix
    assert "sudo nvidia-ctk runtime configure --runtime=docker" in m.fix
    assert m.source.startswith("https://github.com/NVIDIA/nvidia-container-toolkit/")


def test_unregistered_runtime_names_the_runtime() -> None:
    (m,) = known_errors.match_text(
        "docker: Error response from daemon: unknown or invalid runtime name: nvidia."
    )
    assert m.id == "docker-runtime-unknown"
    assert m.captures == {"runtime": "nvidia"}  # the sentence's full stop is not part of it
    assert "`docker run --runtime nvidia`" in m.cause
    assert "sudo nvidia-ctk runtime configure --runtime=docker" in m.fix


def test_repeated_lines_are_counted_once() -> None:
    log = "RuntimeError: Failed to infer device type\n" * 3
    (m,) = known_errors.match_text(log)
    assert (m.line, m.count) == (1, 3)


def test_long_lines_are_shortened_around_the_match() -> None:
    line = "x" * 5000 + " Illegal instruction (core dumped) " + "y" * 5000
    (m,) = known_errors.match_text(line)
    assert m.id == "illegal-instruction"
    assert "Illegal instruction" in m.text
    assert len(m.text) < 300


@settings(max_examples=200, deadline=None)
@given(st.text())
def test_any_text_gives_well_formed_matches(text: str) -> None:
    lines = text.splitlines()
    for m in known_errors.match_text(text):
        assert 1 <= m.line <= len(lines)
        line = lines[m.line - 1]
        assert m.count >= 1
        assert all(v in line for v in m.captures.values())


def _cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hwdock", "explain-error", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_known_failure_exits_1_with_cause_fix_and_source() -> None:
    out = _cli(str(LOGS / "rocm-arch-missing.log"))
    assert out.returncode == 1, out.stderr
    assert "HIP kernel missing" in out.stdout
    assert "PYTORCH_ROCM_ARCH" in out.stdout
    assert "https://github.com/" in out.stdout


def test_cli_clean_log_exits_0() -> None:
    out = _cli(str(LOGS / "clean-run.log"))
    assert out.returncode == 0, out.stderr
    assert "No known failure" in out.stdout


def test_cli_json_from_stdin() -> None:
    out = _cli("--json", stdin=(LOGS / "vllm-tp-shm.log").read_text())
    assert out.returncode == 1
    doc = json.loads(out.stdout)
    assert doc["kind"] == "error-explanation" and doc["schema_version"] == 1
    assert doc["source"] == "<stdin>" and doc["matched"] is True
    (m,) = doc["matches"]
    assert m["id"] == "nccl-shm-too-small"
    assert m["captures"]["segment"] == "/dev/shm/nccl-fjwOOB"


def test_cli_missing_file_is_an_input_error() -> None:
    out = _cli("/nonexistent/build.log")
    assert out.returncode == 3
    assert "/nonexistent/build.log" in out.stderr
    assert "Traceback" not in out.stderr


def _reference(text: str) -> list[tuple[str, int, int]]:
    """The obvious line-by-line matcher, to check the fast one against."""
    out = []
    lines = text.split("\n")
    for entry in known_errors.table():
        hits = [i for i, line in enumerate(lines, 1) if any(p.search(line) for p in entry.patterns)]
        if hits:
            out.append((entry.id, hits[0], len(hits)))
    return sorted(out, key=lambda x: x[1])


FRAGMENTS = [text for e in known_errors.table() for text, _ in e.examples] + [
    "INFO ok", "  Killed", "Killed", "exit code: 1", "HIP ERROR: INVALID DEVICE FUNCTION", "",
]  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=40)), max_size=12))
def test_fast_matcher_agrees_with_the_obvious_one(parts: list[str]) -> None:
    text = "\n".join(parts)
    got = [(m.id, m.line, m.count) for m in known_errors.match_text(text)]
    assert got == _reference(text)


@pytest.mark.parametrize("entry", known_errors.table(), ids=lambda e: e.id)
def test_needles_are_in_every_example(entry: known_errors.KnownError) -> None:
    for text, _src in entry.examples:
        for p in entry.patterns:
            need = known_errors.needle(p.pattern)
            if p.search(text) and need:
                assert need in text.lower()


def test_explain_log_gives_findings_with_file_and_line() -> None:
    text = (LOGS / "vllm-cuda-build-oom.log").read_text()
    findings = known_errors.explain_log(text, "/tmp/run/build.log")
    assert [f.code for f in findings] == ["build-oom-cc1plus", "build-oom-exit-137"]
    first = findings[0]
    assert first.severity == "error" and "MAX_JOBS" in (first.fix or "")
    assert first.evidence[0].startswith("/tmp/run/build.log:3: ")
