"""`hwdock build/run/up` against the real Docker Engine and registry (marker engine).

Images are named hwdock-engine-test-<random>/... and removed afterwards. Builds use
`--network none` (the test daemon runs without a bridge). Nothing is pulled from outside:
every base is the busybox image the `busybox_image` fixture imports.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hwdock.engine.dockerignore import Matcher
from hwdock.engine.runlog import tag_lock
from tests.support import engine as eng

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.engine


@pytest.fixture
def prefix(docker_cli: str) -> Iterator[str]:
    """A unique image-name prefix; every image under it is removed afterwards."""
    p = f"hwdock-engine-test-{secrets.token_hex(4)}"
    yield p
    out = subprocess.run(
        [docker_cli, "image", "ls", "--format", "{{.Repository}}:{{.Tag}}"],
        capture_output=True,
        text=True,
    )
    mine = [r for r in out.stdout.split() if p in r]
    if mine:
        subprocess.run([docker_cli, "image", "rm", "--force", *mine], capture_output=True)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    d = tmp_path / "state"
    d.mkdir()
    return d


def hwdock(
    *args: str, state: Path, env: dict[str, str] | None = None, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HWDOCK_STATE_DIR": str(state)}
    e.pop("HF_TOKEN", None)
    e.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "hwdock", *args],
        capture_output=True,
        text=True,
        env=e,
        timeout=timeout,
        cwd=ROOT,
    )


_SCHEMA = json.loads((ROOT / "src" / "hwdock" / "schemas" / "build-event.json").read_text())


def events(out: str) -> list[dict[str, Any]]:
    """The JSON-lines events of a run, each checked against the published schema."""
    import jsonschema

    evs = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    for e in evs:
        jsonschema.validate(e, _SCHEMA)
    return evs


def results(out: str) -> dict[str, str]:
    return {e["step"]: e["result"] for e in events(out) if e["event"] == "step-done"}


def image_exists(docker: str, ref: str) -> bool:
    return subprocess.run([docker, "image", "inspect", ref], capture_output=True).returncode == 0


def labels(docker: str, ref: str) -> dict[str, str]:
    out = subprocess.run(
        [docker, "image", "inspect", "--format", "{{json .Config.Labels}}", ref],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout) or {}


def write_plan(
    path: Path,
    steps: list[dict[str, Any]],
    run: dict[str, Any] | None = None,
    source: Path | None = None,
) -> Path:
    doc = {
        "kind": "plan",
        "schema_version": 1,
        "recipe": "vllm",
        "platform": "rocm",
        "route": "build-base-and-app",
        "source": str(source) if source else None,
        "steps": steps,
        "run": run,
    }
    path.write_text(json.dumps(doc))
    return path


def vllm_shaped_source(src: Path, busybox: str) -> None:
    """A base recipe and an app recipe (`ARG BASE_IMAGE=...` / `FROM ${BASE_IMAGE}`), as vLLM."""
    src.mkdir(parents=True, exist_ok=True)
    (src / "Dockerfile.base").write_text(
        f"ARG ROOT_IMAGE={busybox}\n"
        "FROM ${ROOT_IMAGE} AS base\n"
        "ARG PYTORCH_ROCM_ARCH=gfx90a\n"
        'RUN echo "base built for ${PYTORCH_ROCM_ARCH}" > /base.txt\n'
    )
    (src / "Dockerfile.app").write_text(
        "ARG BASE_IMAGE=rocm/vllm-dev:base\n"
        "FROM ${BASE_IMAGE} AS build\n"
        "COPY app/ /app/\n"
        "RUN cat /base.txt /app/hello.txt > /app/both.txt\n"
        "FROM build AS final\n"
        'CMD ["cat", "/app/both.txt"]\n'
    )
    (src / "app").mkdir(exist_ok=True)
    (src / "app" / "hello.txt").write_text("hello from the app\n")
    (src / ".dockerignore").write_text("scratch\n")


def two_step_plan(tmp: Path, src: Path, prefix: str) -> tuple[Path, str, str]:
    base, app = f"{prefix}/base:1", f"{prefix}/app:1"
    plan = write_plan(
        tmp / "plan.json",
        [
            {
                "id": "base",
                "action": "build",
                "image": base,
                "reason": "no published base",
                "dockerfile": "Dockerfile.base",
                "context": ".",
                "skip_if_present": True,
                "build_args": {"PYTORCH_ROCM_ARCH": "gfx1100"},
            },
            {
                "id": "app",
                "action": "build",
                "image": app,
                "reason": "the app on the base",
                "dockerfile": "Dockerfile.app",
                "context": ".",
                "target": "final",
                "depends_on": ["base"],
                "build_args": {"BASE_IMAGE": base},
            },
        ],
        run={"image": app, "command": []},
        source=src,
    )
    return plan, base, app


def test_base_and_app_end_to_end_with_up_to_date_skip(
    docker_cli: str, busybox_image: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    vllm_shaped_source(src, busybox_image)
    plan, base, app = two_step_plan(tmp_path, src, prefix)

    first = hwdock("build", "--plan", str(plan), "--network", "none", "--json", state=state)
    assert first.returncode == 0, first.stderr + first.stdout
    assert results(first.stdout) == {"base": "built", "app": "built"}
    lab = labels(docker_cli, app)
    assert lab["dev.hwdock.plan-hash"].startswith("sha256:")
    assert lab["org.opencontainers.image.title"] == app
    folder = Path(next(e["path"] for e in events(first.stdout) if e["event"] == "run-folder"))
    assert (folder / "plan.json").exists() and "RUN cat /base.txt" in (
        folder / "build.log"
    ).read_text()

    run = hwdock("run", "--plan", str(plan), state=state)
    assert run.returncode == 0, run.stderr
    assert run.stdout == "base built for gfx1100\nhello from the app\n"

    # nothing changed: base present, app up to date; the context is not sent
    again = hwdock("build", "--plan", str(plan), "--network", "none", "--json", state=state)
    assert again.returncode == 0, again.stderr
    assert results(again.stdout) == {"base": "present", "app": "up-to-date"}
    assert [e["reason"] for e in events(again.stdout) if e["event"] == "skipped"] == [
        "present",
        "up-to-date",
    ]
    assert not any(e["event"] == "build-step" for e in events(again.stdout))

    # an ignored path does not count; a changed file triggers a rebuild of the app only
    (src / "scratch").mkdir()
    (src / "scratch" / "junk").write_text("x")
    assert (
        results(
            hwdock("build", "--plan", str(plan), "--network", "none", "--json", state=state).stdout
        )["app"]
        == "up-to-date"
    )
    (src / "app" / "hello.txt").write_text("hello, changed\n")
    changed = hwdock("build", "--plan", str(plan), "--network", "none", "--json", state=state)
    assert results(changed.stdout) == {"base": "present", "app": "built"}
    assert hwdock("run", app, state=state).stdout == "base built for gfx1100\nhello, changed\n"

    # the base missing again: built, and the app rebuilt on the new base id
    subprocess.run([docker_cli, "image", "rm", base], capture_output=True, check=True)
    rebuilt = hwdock("build", "--plan", str(plan), "--network", "none", "--json", state=state)
    assert results(rebuilt.stdout) == {"base": "built", "app": "built"}


def test_failing_step_names_log_and_step(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text(
        f"FROM {busybox_image}\nRUN echo fine\nRUN echo compiling-kernels && exit 3\n"
    )
    plan = write_plan(
        tmp_path / "p.json",
        [
            {
                "id": "app",
                "action": "build",
                "image": f"{prefix}/fail:1",
                "reason": "r",
                "context": str(src),
            }
        ],
    )
    out = hwdock("build", "--plan", str(plan), "--network", "none", state=state)
    assert out.returncode == 5, out.stderr
    assert "RUN echo compiling-kernels && exit 3" in out.stderr  # the failing step
    assert "compiling-kernels" in out.stderr.split("last lines:")[1]  # its last lines
    log = next(w for w in out.stderr.split() if w.endswith("build.log"))
    assert "compiling-kernels" in Path(log).read_text()
    assert "Traceback" not in out.stderr
    assert not image_exists(docker_cli, f"{prefix}/fail:1")


def test_ctrl_c_stops_build_and_tags_nothing(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN echo {prefix} && sleep 30\n")
    tag = f"{prefix}/slow:1"
    plan = write_plan(
        tmp_path / "p.json",
        [{"id": "app", "action": "build", "image": tag, "reason": "r", "context": str(src)}],
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HWDOCK_STATE_DIR": str(state)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hwdock",
            "build",
            "--plan",
            str(plan),
            "--network",
            "none",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    t_end = time.monotonic() + 60
    for line in proc.stdout:
        if "RUN echo" in line and '"build-step"' in line:
            break
        assert time.monotonic() < t_end, "build never reached the RUN step"
    time.sleep(1.0)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    rc = proc.wait(timeout=40)
    assert rc == 8, proc.stderr.read() if proc.stderr else ""
    assert time.monotonic() - t0 < 25  # stopped, not waited out
    assert "nothing was tagged" in (proc.stderr.read() if proc.stderr else "")
    assert not image_exists(docker_cli, tag)


def test_lock_serialises_builds_of_one_tag(
    busybox_image: str,
    docker_cli: str,
    prefix: str,
    state: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN echo locked\n")
    tag = f"{prefix}/locked:1"
    plan = write_plan(
        tmp_path / "p.json",
        [{"id": "app", "action": "build", "image": tag, "reason": "r", "context": str(src)}],
    )
    monkeypatch.setenv("HWDOCK_STATE_DIR", str(state))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    argv = [
        sys.executable,
        "-m",
        "hwdock",
        "build",
        "--plan",
        str(plan),
        "--network",
        "none",
        "--json",
    ]
    with tag_lock(tag):
        busy = hwdock(*argv[3:], "--no-wait", state=state)
        assert busy.returncode == 10, busy.stderr
        assert "another hwdock is building" in busy.stderr
        waiter = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
        )
        assert waiter.stdout is not None
        first = ""
        for line in waiter.stdout:
            if '"waiting"' in line:
                first = line
                break
        assert first, "the second build did not report that it waits"
        assert waiter.poll() is None  # still waiting while the lock is held
        assert not image_exists(docker_cli, tag)
    out, err = waiter.communicate(timeout=120)
    assert waiter.returncode == 0, err
    assert results(out) == {"app": "built"}


def test_pull_through_local_registry(
    busybox_image: str, docker_cli: str, registry: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    remote = f"{registry}/{prefix}/busybox:1"
    subprocess.run([docker_cli, "tag", busybox_image, remote], check=True)
    subprocess.run([docker_cli, "push", remote], check=True, capture_output=True)
    subprocess.run([docker_cli, "image", "rm", remote], check=True, capture_output=True)
    assert not image_exists(docker_cli, remote)

    plan = write_plan(
        tmp_path / "p.json",
        [
            {
                "id": "base",
                "action": "pull",
                "image": remote,
                "reason": "published",
                "platform": "linux/amd64",
            }
        ],
    )
    out = hwdock("build", "--plan", str(plan), "--json", state=state)
    assert out.returncode == 0, out.stderr
    reg = next(e for e in events(out.stdout) if e["event"] == "registry")
    assert reg["status"] == "found" and reg["digest"].startswith("sha256:")
    assert "linux/amd64" in reg["platforms"]
    assert results(out.stdout) == {"base": "pulled"}
    assert image_exists(docker_cli, remote)

    missing = write_plan(
        tmp_path / "m.json",
        [
            {
                "id": "base",
                "action": "pull",
                "image": f"{registry}/{prefix}/nothere:1",
                "reason": "r",
            }
        ],
    )
    out = hwdock("build", "--plan", str(missing), state=state)
    assert out.returncode == 7 and "not in its registry" in out.stderr

    wrong = write_plan(
        tmp_path / "w.json",
        [
            {
                "id": "base",
                "action": "pull",
                "image": remote,
                "reason": "r",
                "platform": "linux/s390x",
            }
        ],
    )
    out = hwdock("build", "--plan", str(wrong), state=state)
    assert out.returncode == 11 and "linux/s390x" in out.stderr

    down = write_plan(
        tmp_path / "d.json",
        [{"id": "base", "action": "pull", "image": f"127.0.0.1:9/{prefix}/x:1", "reason": "r"}],
    )
    out = hwdock("build", "--plan", str(down), state=state)
    assert out.returncode == 7 and "does not answer" in out.stderr

    # registry down, but the image is here: said so, and the local copy is used
    local = f"127.0.0.1:9/{prefix}/here:1"
    subprocess.run([docker_cli, "tag", busybox_image, local], check=True)
    here = write_plan(
        tmp_path / "h.json",
        [{"id": "base", "action": "pull", "image": local, "reason": "r"}],
    )
    out = hwdock("build", "--plan", str(here), "--json", state=state)
    assert out.returncode == 0, out.stderr
    assert results(out.stdout) == {"base": "present"}
    warn = [e for e in events(out.stdout) if e["event"] == "warning"]
    assert warn and "registry unreachable" in warn[0]["message"]


def test_secret_reaches_build_only_as_buildkit_secret(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    value = "hf_" + secrets.token_hex(12)
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text(
        f"FROM {busybox_image}\n"
        "RUN --mount=type=secret,id=HF_TOKEN wc -c < /run/secrets/HF_TOKEN > /secret-length\n"
        'CMD ["cat", "/secret-length"]\n'
    )
    tag = f"{prefix}/secret:1"
    plan = write_plan(
        tmp_path / "p.json",
        [
            {
                "id": "app",
                "action": "build",
                "image": tag,
                "reason": "r",
                "context": str(src),
                "secrets": ["HF_TOKEN"],
            }
        ],
        run={
            "image": tag,
            "env_passthrough": ["HF_TOKEN"],
            "command": ["sh", "-c", 'echo "${#HF_TOKEN}"'],
        },
    )
    out = hwdock(
        "build",
        "--plan",
        str(plan),
        "--network",
        "none",
        "--json",
        "-v",
        state=state,
        env={"HF_TOKEN": value},
    )
    assert out.returncode == 0, out.stderr
    assert value not in out.stdout + out.stderr
    run_out = hwdock("run", tag, "--", "cat", "/secret-length", state=state)
    assert run_out.stdout.strip() == str(len(value))  # the build saw the secret
    history = subprocess.run(
        [docker_cli, "history", "--no-trunc", tag], capture_output=True, text=True, check=True
    ).stdout
    inspect = subprocess.run(
        [docker_cli, "image", "inspect", tag], capture_output=True, text=True, check=True
    ).stdout
    assert "/run/secrets/HF_TOKEN" in history  # the RUN is there, its secret is not
    assert value not in history and value not in inspect
    for f in state.rglob("*"):
        if f.is_file():
            assert value not in f.read_text(errors="replace"), f
    # the container gets it by name: not on the command line, yet inside
    dry = hwdock("run", "--plan", str(plan), "--dry-run", state=state, env={"HF_TOKEN": value})
    assert "--env HF_TOKEN " in dry.stdout and value not in dry.stdout
    inside = hwdock("run", "--plan", str(plan), state=state, env={"HF_TOKEN": value})
    assert inside.stdout.strip() == str(len(value))


def test_fake_device_nodes_and_numeric_groups(
    busybox_image: str, state: Path, tmp_path: Path
) -> None:
    devs = tmp_path / "dev"
    devs.mkdir()
    for name in ("kfd", "renderD128"):
        try:
            os.mknod(devs / name, 0o666 | 0o020000, os.makedev(1, 3))  # like /dev/null
        except PermissionError:
            eng.need("mknod needs root (CAP_MKNOD) to make the fake device nodes")
    out = hwdock(
        "run",
        busybox_image,
        "--device",
        f"{devs}/kfd:/dev/kfd",
        "--device",
        f"{devs}/renderD128:/dev/dri/renderD128",
        "--group-add",
        "109",
        "--group-add",
        "44",
        "--",
        "sh",
        "-c",
        "stat -c %t,%T /dev/kfd /dev/dri/renderD128; id -G",
        state=state,
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.split("\n")
    assert lines[:2] == ["1,3", "1,3"]
    assert {"109", "44"} <= set(lines[2].split())


def test_dockerignore_agrees_with_buildkit(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    src = tmp_path / "ctx"
    files = [
        "keep.txt",
        "a.pyc",
        "sub/b.pyc",
        "sub/deep/c.pyc",
        "build/out.o",
        "build/keep.me",
        "docs/README.md",
        "docs/other.md",
        "logs/x.log",
        "logs/important.log",
        "tmpa/f",
        "x/temp1/f",
        "x/y/temp2",
        "node/modules/m.js",
        "q.txt",
        "qq.txt",
    ]
    for f in files:
        (src / f).parent.mkdir(parents=True, exist_ok=True)
        (src / f).write_text(f)
    (src / ".dockerignore").write_text(
        "# comment\n**/*.pyc\n/build\n!build/keep.me\ndocs\n!docs/README.md\nlogs/*.log\n"
        "!logs/important*\ntmp?\n*/temp*\nnode/**\n?.txt\n!q.txt\nDockerfile\n"
    )
    (src / "Dockerfile").write_text(
        f'FROM {busybox_image}\nCOPY . /ctx\nCMD ["sh", "-c", "cd /ctx && find . -type f | sort"]\n'
    )
    tag = f"{prefix}/ctx:1"
    plan = write_plan(
        tmp_path / "p.json",
        [{"id": "ctx", "action": "build", "image": tag, "reason": "r", "context": str(src)}],
    )
    out = hwdock("build", "--plan", str(plan), "--network", "none", state=state)
    assert out.returncode == 0, out.stderr
    seen = {line[2:] for line in hwdock("run", tag, state=state).stdout.split()}
    matcher = Matcher.from_context(src)
    ours = {f for f in [*files, ".dockerignore", "Dockerfile"] if not matcher.excluded(f)}
    assert seen == ours
    assert {"build/keep.me", "docs/README.md", "logs/important.log", "q.txt"} <= seen


def test_dry_run_prints_commands_and_does_nothing(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    vllm_shaped_source(src, busybox_image)
    plan, base, app = two_step_plan(tmp_path, src, prefix)
    out = hwdock("up", "--plan", str(plan), "--network", "none", "--dry-run", state=state)
    assert out.returncode == 0, out.stderr
    cmds = [x for x in out.stdout.splitlines() if not x.startswith("#")]
    assert any(c.startswith("DOCKER_BUILDKIT=1 ") and "Dockerfile.base" in c for c in cmds)
    assert any("--build-arg BASE_IMAGE=" + base in c for c in cmds)
    assert cmds[-1].endswith(" run --rm " + app)
    assert not image_exists(docker_cli, base) and not image_exists(docker_cli, app)
    assert not any(state.rglob("build.log"))


def test_dry_run_shows_the_plan_hash_label_a_build_applies(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    """With the images it builds on unchanged, the label printed is the one applied."""
    src = tmp_path / "src"
    vllm_shaped_source(src, busybox_image)
    plan, base, app = two_step_plan(tmp_path, src, prefix)
    built = hwdock("build", "--plan", str(plan), "--network", "none", "--json", state=state)
    assert built.returncode == 0, built.stderr
    out = hwdock("build", "--plan", str(plan), "--network", "none", "--dry-run", state=state)
    assert out.returncode == 0, out.stderr
    shown = {
        line.split(" --tag ")[0]: line
        for line in out.stdout.splitlines()
        if "dev.hwdock.plan-hash=" in line
    }
    want = {image: labels(docker_cli, image)["dev.hwdock.plan-hash"] for image in (base, app)}
    assert len(shown) == 2
    for image, value in want.items():
        assert any(f"dev.hwdock.plan-hash={value}" in line for line in shown.values()), image
    assert f"# the plan-hash label assumes {base} keep their current ids" in out.stdout


@pytest.mark.parametrize(
    ("run", "code", "says"),
    [
        ("echo 'write /out: no space left on device' && exit 1", 9, "disk is full"),
        ("sh -c 'kill -9 $$'; exit $?", 12, "MAX_JOBS"),  # a child SIGKILLed, as by the OOM killer
    ],
    ids=["no-space", "killed-like-oom"],
)
def test_failure_kinds_have_their_exit_codes(
    busybox_image: str, prefix: str, state: Path, tmp_path: Path, run: str, code: int, says: str
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN {run}\n")
    plan = write_plan(
        tmp_path / "p.json",
        [
            {
                "id": "app",
                "action": "build",
                "image": f"{prefix}/kinds:1",
                "reason": "r",
                "context": str(src),
            }
        ],
    )
    out = hwdock("build", "--plan", str(plan), "--network", "none", state=state)
    assert out.returncode == code, out.stderr
    assert says in out.stderr and "build.log" in out.stderr


def test_engine_down_is_exit_4_with_the_fix(state: Path, tmp_path: Path) -> None:
    plan = write_plan(tmp_path / "p.json", [])
    out = hwdock(
        "build",
        "--plan",
        str(plan),
        "--engine",
        "/usr/bin/docker",
        state=state,
        env={"DOCKER_HOST": f"unix://{tmp_path}/no-daemon.sock"},
    )
    assert out.returncode == 4, out.stderr
    assert "no container engine answers" in out.stderr and "hint: start the daemon" in out.stderr


def test_up_builds_then_runs(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    vllm_shaped_source(src, busybox_image)
    plan, _, _ = two_step_plan(tmp_path, src, prefix)
    out = hwdock("up", "--plan", str(plan), "--network", "none", state=state)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "base built for gfx1100\nhello from the app\n"
    assert "logs and plan:" in out.stderr and "built:" in out.stderr


def test_source_form_plans_then_builds_and_runs(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    """`hwdock build SOURCE` calls hwdock.plan.make_plan (here for a recorded CPU-only host)."""
    from hwdock.probe.model import HostReport

    host = tmp_path / "host.json"
    host.write_text(json.dumps(HostReport(source="test", hostname="cpu-box").to_dict()))
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text(
        f'FROM {busybox_image}\nRUN echo generic-app > /g\nCMD ["cat", "/g"]\n'
    )
    tag = f"{prefix}/source-form:1"
    args = ["--host", str(host), "--tag", tag, "--network", "none"]
    out = hwdock("build", str(src), *args, "--json", state=state)
    assert out.returncode == 0, out.stderr
    assert results(out.stdout) == {"app": "built"}
    folder = Path(next(e["path"] for e in events(out.stdout) if e["event"] == "run-folder"))
    saved = json.loads((folder / "plan.json").read_text())
    assert saved["kind"] == "plan" and saved["steps"][-1]["image"] == tag
    up = hwdock("up", str(src), *args, state=state)
    assert up.returncode == 0, up.stderr
    assert up.stdout == "generic-app\n"
    assert "up to date" in up.stderr


def test_run_json_keeps_stdout_for_events(busybox_image: str, state: Path) -> None:
    out = hwdock("run", busybox_image, "--json", "--", "echo", "from-the-container", state=state)
    assert out.returncode == 0, out.stderr
    evs = events(out.stdout)
    assert [e["event"] for e in evs] == ["run-start", "run-done"]
    assert len(evs) == len(out.stdout.splitlines())  # nothing but events on stdout
    assert evs[1]["returncode"] == 0 and "from-the-container" in out.stderr
    bad = hwdock("run", busybox_image, "--", "sh", "-c", "exit 3", state=state)
    assert bad.returncode == 6 and "exited with status 3" in bad.stderr


def test_a_changed_from_image_triggers_a_rebuild(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    """The app's FROM image is not a plan step; re-tagging it (a new pull) must rebuild."""
    upstream = f"{prefix}/upstream:1"
    subprocess.run([docker_cli, "tag", busybox_image, upstream], check=True)
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text(f"ARG BASE={upstream}\nFROM ${{BASE}}\nRUN echo app\n")
    plan = write_plan(
        tmp_path / "p.json",
        [
            {
                "id": "app",
                "action": "build",
                "image": f"{prefix}/onbase:1",
                "reason": "r",
                "context": str(src),
            }
        ],
    )
    argv = ["build", "--plan", str(plan), "--network", "none", "--json"]
    assert results(hwdock(*argv, state=state).stdout) == {"app": "built"}
    assert results(hwdock(*argv, state=state).stdout) == {"app": "up-to-date"}
    other = tmp_path / "other"
    other.mkdir()
    (other / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN echo newer > /newer\n")
    subprocess.run(
        [docker_cli, "build", "--network", "none", "-q", "-t", upstream, str(other)],
        check=True,
        capture_output=True,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    assert results(hwdock(*argv, state=state).stdout) == {"app": "built"}


def test_client_without_buildkit_legacy_fallback_and_refusal(
    busybox_image: str, docker_cli: str, prefix: str, state: Path, tmp_path: Path
) -> None:
    """A client with no buildx and no built-in BuildKit (like a docker 28 CLI without the
    plugin): simple Dockerfiles build with a warning, BuildKit-only ones are refused."""
    client = tmp_path / "bin" / "docker"
    client.parent.mkdir()
    client.write_text(
        "#!/bin/sh\n"
        'if [ "$1" = buildx ]; then echo "docker: unknown command: docker buildx" >&2; exit 1; fi\n'
        'if [ "$1" = version ]; then echo "28.2.2|20.10.24"; exit 0; fi\n'
        f'exec {docker_cli} "$@"\n'
    )
    client.chmod(0o755)
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN echo legacy > /l\n")
    tag = f"{prefix}/legacy:1"
    plan = write_plan(
        tmp_path / "p.json",
        [{"id": "app", "action": "build", "image": tag, "reason": "r", "context": str(src)}],
    )
    argv = ["build", "--plan", str(plan), "--engine", str(client), "--network", "none", "--json"]
    out = hwdock(*argv, state=state)
    assert out.returncode == 0, out.stderr
    warn = [e["message"] for e in events(out.stdout) if e["event"] == "warning"]
    assert warn and "legacy builder" in warn[0]
    assert results(out.stdout) == {"app": "built"} and image_exists(docker_cli, tag)

    (src / "Dockerfile").write_text(
        f"FROM {busybox_image}\nRUN --mount=type=cache,target=/c echo needs-buildkit\n"
    )
    out = hwdock(*argv, state=state)
    assert out.returncode == 4, out.stderr
    assert "needs BuildKit" in out.stderr and "buildx" in out.stderr


def test_run_shell_dry_run_prints_the_exact_command(busybox_image: str, state: Path) -> None:
    out = hwdock(
        "run",
        busybox_image,
        "--shell",
        "--device",
        "/dev/kfd",
        "--group-add",
        "109",
        "--env",
        "HF_TOKEN",
        "--dry-run",
        state=state,
        env={"HF_TOKEN": "hf_dry"},
    )
    assert out.returncode == 0, out.stderr
    import shlex

    argv = shlex.split(out.stdout)
    assert argv[:3] == [argv[0], "run", "--rm"] and argv[0].endswith("docker")
    assert argv[argv.index("--entrypoint") + 1] == "/bin/sh"
    assert argv[argv.index("--device") + 1] == "/dev/kfd"
    assert argv[argv.index("--group-add") + 1] == "109"
    assert argv[argv.index("--env") + 1] == "HF_TOKEN" and "hf_dry" not in out.stdout
    assert argv[argv.index(busybox_image) + 1] == "-c"
