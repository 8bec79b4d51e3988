"""Podman: `podman build` through hwdock works here; `podman run` is tried and, where this
sandbox refuses it (runc cannot set rlimits without privileges), skipped with that reason."""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from hwdock.engine.detect import find_engine
from hwdock.engine.engine import ContainerEngine
from hwdock.plan.model import RunSpec
from tests.support import engine as eng
from tests.test_engine_build import events, hwdock, results, write_plan

pytestmark = pytest.mark.podman
BASE = "localhost/hwdock-engine-test/podman-busybox:1"


@pytest.fixture(scope="module")
def podman(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ContainerEngine]:
    if shutil.which("podman") is None:
        eng.need("podman is not installed (apt-get install podman)")
    e = find_engine("podman")
    if not e.image_exists(BASE):
        tar = eng.make_busybox_rootfs_tar(tmp_path_factory.mktemp("podman-rootfs"))
        subprocess.run([e.cli, "import", str(tar), BASE], check=True, capture_output=True)
    yield e


@pytest.fixture
def tag(podman: ContainerEngine) -> Iterator[str]:
    t = f"hwdock-engine-test-{secrets.token_hex(4)}/pod:1"
    yield t
    podman.remove(t)


def test_podman_build_labels_secret_and_up_to_date(
    podman: ContainerEngine, tag: str, tmp_path: Path
) -> None:
    src = tmp_path / "src"
    src.mkdir()
    (src / "Dockerfile").write_text(
        f"FROM {BASE}\n"
        "RUN --mount=type=secret,id=HF_TOKEN wc -c < /run/secrets/HF_TOKEN > /secret-length\n"
        "COPY hello.txt /hello.txt\n"
    )
    (src / "hello.txt").write_text("hi\n")
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
    )
    state = tmp_path / "state"
    value = "hf_" + secrets.token_hex(10)
    args = ["build", "--plan", str(plan), "--engine", "podman", "--network", "none", "--json"]
    out = hwdock(*args, state=state, env={"HF_TOKEN": value})
    assert out.returncode == 0, out.stderr + out.stdout
    assert results(out.stdout) == {"app": "built"}
    assert any(e["event"] == "build-step" and "COPY" in e["name"] for e in events(out.stdout))
    info = podman.image_inspect(tag)
    assert info is not None
    assert info["Config"]["Labels"]["dev.hwdock.plan-hash"].startswith("sha256:")
    assert value not in json.dumps(info)
    hist = subprocess.run(
        [podman.cli, "history", "--no-trunc", tag], capture_output=True, text=True, check=True
    ).stdout
    assert value not in hist
    again = hwdock(*args, state=state)
    assert results(again.stdout) == {"app": "up-to-date"}


@pytest.mark.registry
def test_podman_pull_through_local_registry(
    podman: ContainerEngine, registry: str, tmp_path: Path
) -> None:
    remote = f"{registry}/hwdock-engine-test-{secrets.token_hex(4)}/podbusy:1"
    podman.tag(BASE, remote)
    podman.push(remote)
    podman.remove(remote)
    assert not podman.image_exists(remote)
    plan = write_plan(
        tmp_path / "p.json",
        [{"id": "base", "action": "pull", "image": remote, "reason": "published"}],
    )
    try:
        out = hwdock(
            "build", "--plan", str(plan), "--engine", "podman", "--json", state=tmp_path / "state"
        )
        assert out.returncode == 0, out.stderr
        assert results(out.stdout) == {"base": "pulled"}
        assert podman.image_exists(remote)
    finally:
        podman.remove(remote)


def test_podman_run(podman: ContainerEngine) -> None:
    probe = podman.run(RunSpec(image=BASE), ["sh", "-c", "echo ran-in-podman"], timeout=60)
    if probe.returncode != 0 and "rlimit" in probe.stderr:
        pytest.skip(
            "podman run is refused in this sandbox (runc cannot set rlimits without "
            "privileges); podman build is tested in test_podman_build_labels_secret_and_up_to_date"
        )
    assert probe.returncode == 0, probe.stderr
    assert probe.stdout.strip() == "ran-in-podman"


def test_podman_run_argv_fully_qualified(podman: ContainerEngine) -> None:
    argv = podman.run_argv(RunSpec(image="ubuntu:22.04", gpus="all"))
    assert argv[0] == podman.cli
    assert "docker.io/library/ubuntu:22.04" in argv
    assert argv[argv.index("--device") + 1] == "nvidia.com/gpu=all"
