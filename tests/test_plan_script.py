"""`hwdock plan --script`: run the script under sh with a fake `docker` on PATH that records
its argv, and compare with the argv the plan means. Hostile values must round-trip."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwdock.engine.argv import build_argv, pull_argv, run_argv
from hwdock.export.script import plan_script as to_script
from hwdock.export.script import quote
from hwdock.plan import make_plan
from hwdock.plan.model import ImageStep, Mount, Plan, RunSpec
from hwdock.plan.options import PlanOptions
from tests.support import hosts as H

TREES = Path(__file__).parent / "fixtures" / "trees"
SH = shutil.which("sh") or "/bin/sh"

# The fake docker writes each argument NUL-terminated, one record per call, and copies the
# Dockerfile given with -f when it is a temporary file (the generated one).
FAKE_DOCKER = r"""#!/bin/sh
log="$HWDOCK_FAKE_LOG"
prev=""
for a in "$@"; do
  printf '%s\0' "$a" >> "$log"
  if [ "$prev" = "-f" ] && [ -f "$a" ]; then cp "$a" "$log.dockerfile"; fi
  prev="$a"
done
printf '\n--\n' >> "$log"
case "$1" in image) exit 1;; esac
exit 0
"""


def run_script(
    script: str, tmp: Path, force: bool = True
) -> tuple[list[list[str]], subprocess.CompletedProcess[str]]:
    bindir = tmp / "bin"
    bindir.mkdir(exist_ok=True)
    fake = bindir / "docker"
    fake.write_text(FAKE_DOCKER)
    fake.chmod(0o755)
    log = tmp / "argv.log"
    log.write_bytes(b"")
    path = tmp / "plan.sh"
    path.write_text(script)
    env = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "HWDOCK_FAKE_LOG": str(log),
        "HOME": str(tmp),
        "HF_TOKEN": "secret-value",
        **({"HWDOCK_FORCE": "1"} if force else {}),
    }
    proc = subprocess.run([SH, str(path)], env=env, capture_output=True, text=True, timeout=30)
    calls = []
    for record in log.read_bytes().split(b"\n--\n"):
        if record:
            calls.append([a.decode() for a in record.split(b"\0")[:-1]])
    return calls, proc


HOSTILE = [
    "has space",
    "it's quoted",
    'double "quotes"',
    "$(touch /tmp/hwdock-pwned)",
    "`id`",
    "line\nbreak",
    "tab\there",
    "back\\slash",
    "semi;colon && echo x",
    "$HOME",
    "*glob?",
    "",
]


def _hostile_plan() -> Plan:
    step = ImageStep(
        id="app",
        action="build",
        image="img:tag",
        reason="weird\nreason",
        dockerfile="docker/Dockerfile x",
        context="/src/with space",
        target="t 1",
        build_args={f"K{i}": v for i, v in enumerate(HOSTILE)},
        labels={"dev.hwdock.arch": "9.0 8.9"},
    )
    run = RunSpec(
        image="img:tag",
        name="n'ame",
        mounts=[Mount("/models/my model $(x)", "/models/m", read_only=True)],
        env={"A": "b c", "Q": "it's"},
        env_passthrough=["HF_TOKEN"],
        ports=[(8000, 8000)],
        command=["--model", "/models/m", *HOSTILE],
    )
    return Plan(recipe="vllm", platform="cuda", route="build", steps=[step], run=run)


def test_hostile_values_round_trip(tmp_path):
    plan = _hostile_plan()
    calls, proc = run_script(to_script(plan), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert calls == [build_argv(plan.steps[0])[1:], run_argv(plan.run)[1:]]  # type: ignore[arg-type]
    assert not Path("/tmp/hwdock-pwned").exists()


def test_hf_token_value_never_in_script(tmp_path):
    plan = _hostile_plan()
    text = to_script(plan)
    calls, _ = run_script(text, tmp_path)
    assert "secret-value" not in text
    assert "HF_TOKEN" in calls[-1] and "HF_TOKEN=secret-value" not in calls[-1]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.text(
            alphabet=st.characters(blacklist_categories=["Cs"], blacklist_characters="\0"),
            max_size=20,
        ),
        min_size=1,
        max_size=5,
    )
)
def test_any_text_round_trips(tmp_path, values):
    plan = Plan(
        recipe="vllm",
        platform="cpu",
        route="pull",
        steps=[ImageStep(id="app", action="pull", image="x:1", reason="r")],
        run=RunSpec(image="x:1", command=values),
    )
    calls, proc = run_script(to_script(plan), tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert calls[-1] == run_argv(plan.run)[1:]  # type: ignore[arg-type]
    assert calls[0] == pull_argv(plan.steps[0])[1:]


def test_quote_plain_words_stay_plain():
    assert quote("rocm/vllm-dev:base") == "rocm/vllm-dev:base"
    assert quote("a b") == "'a b'"
    assert quote("it's") == "'it'\"'\"'s'"


def test_generated_dockerfile_reaches_the_build(tmp_path):
    plan = make_plan(H.jetson_orin(), PlanOptions(source=TREES / "vllm-current"))
    calls, proc = run_script(to_script(plan), tmp_path)
    assert proc.returncode == 0, proc.stderr
    build = calls[0]
    assert build[0] == "build" and "-f" in build
    written = (tmp_path / "argv.log.dockerfile").read_text()
    assert written.rstrip("\n") == (plan.steps[0].generated_dockerfile or "").rstrip("\n")


def test_skip_if_present_checks_then_builds(tmp_path):
    plan = make_plan(H.strix_halo(), PlanOptions(source=TREES / "vllm-current", model=Path("/m/x")))
    calls, proc = run_script(to_script(plan), tmp_path)
    assert proc.returncode == 0, proc.stderr
    # fake `docker image inspect` answers "absent", so the base is built, then the app, then run
    assert [c[0] for c in calls] == ["image", "build", "build", "run"]
    assert calls[1][-2:] == [plan.steps[0].image, str(TREES / "vllm-current")]


@pytest.mark.skipif(
    not os.path.exists("/bin/dash") and shutil.which("dash") is None, reason="dash not installed"
)
def test_script_runs_under_dash(tmp_path):
    dash = shutil.which("dash") or "/bin/dash"
    script = tmp_path / "p.sh"
    script.write_text(to_script(_hostile_plan()))
    proc = subprocess.run([dash, "-n", str(script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_plan_with_error_verdict_stops_unless_forced(tmp_path):
    plan = make_plan(H.v100_old(), PlanOptions(source=TREES / "vllm-current"))
    assert any(v.severity == "error" for v in plan.verdicts)
    calls, proc = run_script(to_script(plan), tmp_path, force=False)
    assert proc.returncode == 11 and calls == []
    assert "driver-too-old" in proc.stderr
    calls, proc = run_script(to_script(plan), tmp_path, force=True)
    assert proc.returncode == 0 and [c[0] for c in calls] == ["build", "run"]
