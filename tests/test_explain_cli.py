"""`hwdock explain` as a whole process: output, JSON document, and bad input without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES

TREE = FIXTURES / "dockerfiles" / "vllm-like"
SRC = Path(__file__).resolve().parent.parent / "src"


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(SRC), COLUMNS="160")
    return subprocess.run(
        [sys.executable, "-m", "hwdock", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=cwd,
    )


def test_json_document_for_the_rocm_file() -> None:
    out = run_cli("explain", "--json", "--no-engine", "-f", "docker/Dockerfile.rocm", str(TREE))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["kind"] == "dockerfile-explain" and doc["schema_version"] == 1
    assert doc["target_name"] == "final"
    assert doc["stages"][0]["base"]["resolved"] == "rocm/vllm-dev:base"
    assert doc["images"][0]["recipe"] == "docker/Dockerfile.rocm_base"
    assert doc["images"][0]["status"] == "build"
    assert doc["engine"]["queried"] is False
    assert doc["buildkit_required"] is True


def test_people_output_names_the_provenance() -> None:
    out = run_cli(
        "explain", "--no-engine", "-f", "docker/Dockerfile.rocm", "--target", "test", str(TREE)
    )
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "rocm/vllm-dev:base" in text
    assert "ARG BASE_IMAGE default at Dockerfile.rocm:6" in text
    assert "--build-arg BASE_IMAGE=" in text
    assert "docker/Dockerfile.rocm_base" in text
    assert "pruned" in text


def test_json_path_does_not_import_rich(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    code = (
        "import sys; from hwdock.cli import main\n"
        "try:\n    main(['explain', '--json', '--no-engine', sys.argv[1]])\n"
        "except SystemExit:\n    pass\n"
        "assert 'rich' not in sys.modules, 'rich imported'\n"
    )
    env = dict(os.environ, PYTHONPATH=str(SRC))
    out = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr


BAD: list[tuple[str, bytes, str]] = [
    ("heredoc", b"FROM scratch\nRUN <<EOF\necho\n", "Dockerfile:2: unterminated heredoc"),
    ("quote", b'FROM scratch\nARG A="open\nLABEL x=$A\n', "Dockerfile:"),
    ("brace", b"FROM ${BASE\n", "Dockerfile:1: failed to process"),
    ("unknown", b"FROM scratch\nFORM x\n", "Dockerfile:2: unknown instruction: FORM"),
    ("before-from", b"RUN true\nFROM scratch\n", "Dockerfile:1: no build stage"),
    ("empty", b"", "Dockerfile:0: file with no instructions"),
    ("comments", b"# only\n# comments\n", "file with no instructions"),
    ("junk", bytes(range(256)) * 4, "Dockerfile:"),
    ("long", b"FROM scratch\nRUN " + b"x" * 70000 + b"\n", "Dockerfile:2: dockerfile line"),
    ("json", b'FROM scratch\nCMD ["a", 1]\n', "Dockerfile:2: when using JSON array"),
    ("escape", b"# escape=x\nFROM scratch\n", "Dockerfile:1: invalid escape token"),
]


@pytest.mark.parametrize(("name", "data", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_input_is_a_clear_error(tmp_path: Path, name: str, data: bytes, message: str) -> None:
    (tmp_path / "Dockerfile").write_bytes(data)
    out = run_cli("explain", "--no-engine", str(tmp_path))
    assert "Traceback" not in out.stderr
    if name == "quote":
        # an unterminated quote in a stage's ARG default: the build would fail at that
        # instruction; explain reports it as an error-level check with its line
        assert out.returncode == 0, out.stderr
        assert "Dockerfile:2 ExpansionError" in out.stdout
        assert "matching double-quote" in out.stdout
        return
    assert out.returncode == 3, (out.stdout, out.stderr)
    assert message in out.stderr


def test_ten_megabyte_file_is_read_without_hanging(tmp_path: Path) -> None:
    chunk = "x" * 8000
    parts = ["FROM scratch AS s0\n"]
    size = len(parts[0])
    n = 0
    while size < 10 * 1024 * 1024:
        part = f"RUN echo {chunk} \\\n  && echo {n}\nLABEL k{n}=$HOME\n"
        parts.append(part)
        size += len(part)
        n += 1
    (tmp_path / "Dockerfile").write_text("".join(parts))
    out = run_cli("explain", "--json", "--no-engine", str(tmp_path))
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout)["stages"][0]["end_line"] == 3 * n + 1


def test_usage_errors(tmp_path: Path) -> None:
    out = run_cli("explain", str(tmp_path / "missing"))
    assert out.returncode == 3 and "not a directory" in out.stderr  # like `plan SOURCE`
    out = run_cli("explain", str(tmp_path))
    assert out.returncode == 3 and "Dockerfile not found" in out.stderr
    (tmp_path / "Dockerfile").write_text("FROM scratch AS a\n")
    out = run_cli("explain", "--target", "b", str(tmp_path))
    assert out.returncode == 2 and "target stage 'b' could not be found" in out.stderr
    out = run_cli("explain", "--platform", "linux//", str(tmp_path))
    assert out.returncode == 2
    out = run_cli("explain", "--base-dockerfile", "nope", str(tmp_path))
    assert out.returncode == 2 and "IMAGE=PATH" in out.stderr


@pytest.mark.engine
def test_engine_status_local_and_pull(docker_cli: str, busybox_image: str, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        f"FROM {busybox_image} AS a\nFROM hwdock-explain-test-absent/none:1\nCOPY --from=a / /\n"
    )
    out = run_cli("explain", "--json", str(tmp_path))
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["engine"]["queried"] is True
    status = {i["familiar"]: i["status"] for i in doc["images"]}
    assert status == {busybox_image: "local", "hwdock-explain-test-absent/none:1": "pull"}


def test_json_fast_path_errors_and_fallbacks(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_bytes(b"FROM scratch\nRUN <<EOF\n")
    out = run_cli("explain", "--json", str(tmp_path))
    assert out.returncode == 3 and "Traceback" not in out.stderr
    assert "Dockerfile:2: unterminated heredoc" in out.stderr
    out = run_cli("explain", "--json", "--target", "x", str(tmp_path / "nope"))
    assert out.returncode == 3 and "not a directory" in out.stderr
    # options the fast path does not know go to typer, which answers as usual
    out = run_cli("explain", "--json", "--help")
    assert out.returncode == 0 and "--build-arg" in out.stdout
    out = run_cli("explain", "--json", "--bogus", str(tmp_path))
    assert out.returncode == 2 and "Traceback" not in out.stderr


def test_instruction_without_arguments(tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text("FROM scratch\nENV\n")
    out = run_cli("explain", "--no-engine", str(tmp_path))
    assert out.returncode == 3 and "Traceback" not in out.stderr
    assert "Dockerfile:2: ENV requires at least one argument" in out.stderr
