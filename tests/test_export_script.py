"""The POSIX script exporter: run under sh with a `docker` shim that records its argv.

The shim writes every argument NUL-terminated and each call ends with a record separator,
so the test sees exactly the bytes `docker` would have received.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hwdock.engine.argv import build_argv, inspect_argv, run_argv
from hwdock.errors import InputError
from hwdock.export.script import render_script
from hwdock.plan.model import ImageStep, Mount, Plan, RunSpec
from tests.support.export_plans import cuda_plan, rocm_plan

SH = shutil.which("sh")
pytestmark = pytest.mark.skipif(SH is None, reason="no POSIX sh on PATH")

SHIM = r"""#!/bin/sh
# records each call's argv NUL-separated in its own file argv.N; `image inspect` says "absent"
n=$(cat "$SHIM_DIR/count" 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > "$SHIM_DIR/count"
printf '%s\0' docker "$@" > "$SHIM_DIR/argv.$n"
prev=""
for a in "$@"; do
  if [ "$prev" = "-f" ] && [ "$a" = "-" ]; then cat > "$SHIM_DIR/stdin.$n"; fi
  prev="$a"
done
if [ "$1" = image ] && [ "$2" = inspect ]; then exit 1; fi
exit 0
"""


def run_with_shim(tmp_path: Path, script: str) -> tuple[list[list[str]], dict[int, bytes]]:
    shim_dir = tmp_path / "shim"
    shim_dir.mkdir(exist_ok=True)
    (shim_dir / "docker").write_text(SHIM)
    (shim_dir / "docker").chmod(0o755)
    for f in [*shim_dir.glob("stdin.*"), *shim_dir.glob("argv.*")]:
        f.unlink()
    if (shim_dir / "count").exists():
        (shim_dir / "count").unlink()
    path = tmp_path / "run.sh"
    path.write_text(script, encoding="utf-8")
    env = {"PATH": f"{shim_dir}:/usr/bin:/bin", "SHIM_DIR": str(shim_dir)}
    proc = subprocess.run([SH, str(path)], env=env, capture_output=True, timeout=30)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    files = sorted(shim_dir.glob("argv.*"), key=lambda f: int(f.suffix[1:]))
    calls = [
        [part.decode("utf-8", "surrogateescape") for part in f.read_bytes().split(b"\0")[:-1]]
        for f in files
    ]
    stdins = {int(f.name.split(".")[1]): f.read_bytes() for f in shim_dir.glob("stdin.*")}
    return calls, stdins


def test_rocm_plan_script_runs_the_planned_commands(tmp_path: Path) -> None:
    plan = rocm_plan()
    calls, _ = run_with_shim(tmp_path, render_script(plan))
    base, app = plan.steps
    assert calls == [
        inspect_argv(base.image),
        build_argv(base),
        build_argv(app),
        run_argv(plan.run),
    ]
    run = calls[-1]
    # HF_TOKEN by name only; devices and numeric groups as planned
    assert run[run.index("HF_TOKEN") - 1] == "-e"
    assert "--device" in run and "/dev/kfd" in run
    assert run[run.index("--group-add") + 1] == "44"
    assert "--privileged" not in run


def test_generated_dockerfile_goes_through_stdin(tmp_path: Path) -> None:
    text = "FROM nvcr.io/nvidia/pytorch:24.05-py3\nRUN echo '$(id)' \"`x`\" %s %%\n"
    plan = cuda_plan()
    plan.steps[0].generated_dockerfile = text
    calls, stdins = run_with_shim(tmp_path, render_script(plan, run=False))
    assert calls == [build_argv(plan.steps[0])]
    assert calls[0][2:4] == ["-f", "-"]
    assert stdins[1] == text.encode()


def test_nul_in_a_value_is_a_clear_error() -> None:
    plan = rocm_plan(name="bad\0name")
    with pytest.raises(InputError, match="NUL"):
        render_script(plan)


HOSTILE = [
    "with space",
    "it's",
    'say "hi"',
    "$(touch /tmp/hwdock-pwned)",
    "`touch /tmp/hwdock-pwned`",
    "line1\nline2",
    "tab\there",
    "semi;colon && echo x | cat",
    "ünïcødé ☃ 🚀",
    "-e",
    "*",
    "~root",
    "back\\slash",
    "",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_round_trip(tmp_path: Path, value: str) -> None:
    calls, _ = run_with_shim(tmp_path, render_script(_hostile_plan(value)))
    plan = _hostile_plan(value)
    assert calls == [build_argv(plan.steps[0]), run_argv(plan.run)]
    assert not Path("/tmp/hwdock-pwned").exists()


def _hostile_plan(value: str) -> Plan:
    step = ImageStep(
        id="app",
        action="build",
        image="hwdock-export-test/x:1",
        reason=f"reason with {value}",
        dockerfile=f"docker/{value}",
        context=f"ctx {value}",
        build_args={"ARG1": value, "EMPTY": ""},
        labels={"dev.hwdock.note": value},
        secrets=["HF_TOKEN"],
    )
    run = RunSpec(
        image="hwdock-export-test/x:1",
        name=value or None,
        devices=["/dev/kfd"],
        group_add=[109],
        mounts=[Mount(source=f"/models/{value}", target="/model", read_only=True)],
        env={"VALUE": value},
        env_passthrough=["HF_TOKEN"],
        command=["--served-model-name", value],
        notes=[f"note {value}"],
    )
    return Plan(
        recipe="vllm", platform="rocm", route="build", host=f"host {value}", steps=[step], run=run
    )


_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(value=_text)
def test_any_string_round_trips(tmp_path: Path, value: str) -> None:
    plan = _hostile_plan(value)
    calls, _ = run_with_shim(tmp_path, render_script(plan))
    assert calls == [build_argv(plan.steps[0]), run_argv(plan.run)]


def test_script_is_executable_when_written_by_cli(tmp_path: Path) -> None:
    import json

    from hwdock.cli import main

    plan_file = tmp_path / "plan.json"
    plan_file.write_text(json.dumps(rocm_plan().to_dict()))
    out = tmp_path / "run.sh"
    with pytest.raises(SystemExit) as e:
        main(["export", "script", "--plan", str(plan_file), "--out", str(out)])
    assert e.value.code in (0, None)
    assert os.access(out, os.X_OK)
    assert out.read_text().startswith("#!/bin/sh\n")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_build_with_secrets_asks_for_buildkit() -> None:
    plan = rocm_plan()
    step = plan.steps[-1]
    step.secrets = ["HF_TOKEN"]
    step.needs_buildkit = False
    text = render_script(plan, run=False)
    line = next(x for x in text.splitlines() if " build " in x and "--secret" in x)
    assert line.lstrip().startswith("DOCKER_BUILDKIT=1 docker build ")
    assert "id=HF_TOKEN,env=HF_TOKEN" in line
