"""Failed builds and runs explain known errors (engine/failures.explain over errors.toml).

Real builds on the local engine (busybox base, nothing pulled), images under a unique prefix.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from hwdock.engine.failures import classify, explain
from hwdock.errors import ExitCode
from tests.test_engine_build import hwdock, image_exists, prefix, state, write_plan

__all__ = ["prefix", "state"]  # fixtures, used by name

CUDA_LINE = "RuntimeError: CUDA error: no kernel image is available for execution on the device"


def test_explain_names_cause_fix_line_and_source() -> None:
    text = "loading\nwarming up\n" + CUDA_LINE + "\n"
    got = explain(text, "/tmp/x/build.log")
    assert got is not None
    assert "[cuda-no-kernel-image]" in got or "compute capability" in got
    assert "fix: Rebuild with the host's compute capability in TORCH_CUDA_ARCH_LIST" in got
    assert f"seen at /tmp/x/build.log:3: {CUDA_LINE}" in got
    assert "source: https://" in got
    assert explain("all fine\n") is None
    # the exit code stays the classifier's: a known error does not change it
    assert classify(1, text.splitlines()) == (ExitCode.BUILD_FAILED, None)


@pytest.mark.engine
def test_failed_build_prints_the_known_error(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    # printf builds the line, so only the step's output (not its command) carries it
    run = CUDA_LINE.replace("available", "%s")
    (src / "Dockerfile").write_text(
        f"FROM {busybox_image}\nRUN printf '{run}\\n' available && exit 1\n"
    )
    tag = f"{prefix}/kernelimage:1"
    plan = write_plan(
        tmp_path / "p.json",
        [{"id": "app", "action": "build", "image": tag, "reason": "r", "context": str(src)}],
    )
    out = hwdock("build", "--plan", str(plan), "--network", "none", state=state)
    assert out.returncode == int(ExitCode.BUILD_FAILED), out.stderr
    assert "known error [" in out.stderr
    assert "TORCH_CUDA_ARCH_LIST" in out.stderr  # the fix
    # the output line it was seen on, with the log's path and line number
    m = re.search(r"seen at (\S+/build\.log):(\d+): #\d+ [\d.]+ (.*)", out.stderr)
    assert m is not None, out.stderr
    assert m.group(3) == CUDA_LINE
    assert CUDA_LINE in Path(m.group(1)).read_text().splitlines()[int(m.group(2)) - 1]
    assert "Traceback" not in out.stderr
    assert not image_exists(docker_cli, tag)


@pytest.mark.engine
def test_failed_run_prints_the_known_error(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    cmd = f"echo starting; echo '{CUDA_LINE}' >&2; exit 1"
    (src / "Dockerfile").write_text(f'FROM {busybox_image}\nCMD ["sh", "-c", "{cmd}"]\n')
    tag = f"{prefix}/runfail:1"
    subprocess.run(
        [docker_cli, "build", "--network", "none", "-q", "-t", tag, str(src)],
        check=True,
        capture_output=True,
        env={"DOCKER_BUILDKIT": "0", "PATH": "/usr/bin:/bin"},
    )
    out = hwdock("run", tag, state=state)
    assert out.returncode == int(ExitCode.RUN_FAILED), out.stderr
    assert "starting" in out.stdout  # the output still reaches the user
    assert "exited with status 1" in out.stderr
    assert re.search(r"seen at container output:[12]: " + re.escape(CUDA_LINE), out.stderr)
    assert "TORCH_CUDA_ARCH_LIST" in out.stderr
    assert "Traceback" not in out.stderr
