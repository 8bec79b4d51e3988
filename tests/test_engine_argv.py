"""engine/argv.py: the one source of pull/inspect/build/run command lines (pure)."""

from __future__ import annotations

from hwdock.engine.argv import (
    build_argv,
    dockerfile_path,
    mount_arg,
    pull_argv,
    run_argv,
)
from hwdock.plan.model import ImageStep, Mount, RunSpec


def _step(**kw: object) -> ImageStep:
    base: dict[str, object] = dict(id="app", action="build", image="a/b:1", reason="r")
    base.update(kw)
    return ImageStep(**base)  # type: ignore[arg-type]


def test_build_modes_and_spellings() -> None:
    step = _step(context="/src", dockerfile="docker/Dockerfile.rocm", secrets=["HF_TOKEN"])
    script = build_argv(step)
    assert script[:4] == ["docker", "build", "-f", "/src/docker/Dockerfile.rocm"]
    assert script[-3:] == ["-t", "a/b:1", "/src"]
    assert "id=HF_TOKEN,env=HF_TOKEN" in script
    bx = build_argv(step, "/d", mode="buildx", tag="", labels={}, long_flags=True)
    assert bx[:5] == ["/d", "buildx", "build", "--load", "--progress=plain"]
    assert "--file" in bx and "--tag" not in bx and "-t" not in bx
    kit = build_argv(step, "/d", mode="buildkit", long_flags=True)
    assert kit[:3] == ["/d", "build", "--progress=plain"] and kit[-3:-1] == ["--tag", "a/b:1"]
    legacy = build_argv(step, "/d", mode="legacy")
    assert "--secret" not in legacy  # the legacy builder has no secrets
    podman = build_argv(step, "/usr/bin/podman", mode="podman")
    assert podman[:2] == ["/usr/bin/podman", "build"] and "--secret" in podman


def test_dockerfile_path() -> None:
    assert dockerfile_path(_step(generated_dockerfile="FROM x\n", dockerfile="D")) == "-"
    assert dockerfile_path(_step(context="ctx/", dockerfile="d/Dockerfile")) == "ctx/d/Dockerfile"
    assert dockerfile_path(_step(context="ctx", dockerfile="/abs/Dockerfile")) == "/abs/Dockerfile"
    assert dockerfile_path(_step()) is None


def test_pull_for_podman_and_a_local_registry() -> None:
    assert pull_argv("x:1") == ["docker", "pull", "x:1"]
    got = pull_argv("127.0.0.1:5000/x:1", "podman", platform="linux/amd64", tls_verify=False)
    assert got == [
        "podman",
        "pull",
        "--tls-verify=false",
        "--platform",
        "linux/amd64",
        "127.0.0.1:5000/x:1",
    ]


def test_run_docker_vs_podman_and_mount_quoting() -> None:
    spec = RunSpec(
        image="img:1",
        gpus="device=0,1",
        ipc="host",
        shm_size="16g",
        mounts=[Mount("/m/a,b", "/models/x", read_only=True)],
        env_passthrough=["HF_TOKEN"],
        ports=[(8000, 8000)],
    )
    d = run_argv(spec)
    assert d[d.index("--gpus") + 1] == "device=0,1" and "--shm-size" not in d
    assert d[d.index("-e") + 1] == "HF_TOKEN" and d[d.index("-p") + 1] == "8000:8000"
    assert d[d.index("--mount") + 1] == 'type=bind,"source=/m/a,b",target=/models/x,readonly'
    p = run_argv(spec, "/usr/bin/podman", long_flags=True, image="docker.io/library/img:1")
    assert "--gpus" not in p
    assert [p[i + 1] for i, a in enumerate(p) if a == "--device"] == [
        "nvidia.com/gpu=0",
        "nvidia.com/gpu=1",
    ]
    assert "--env" in p and "--publish" in p and p[-1] == "docker.io/library/img:1"
    assert mount_arg(Mount("", "/dev/shm", kind="tmpfs")) == "type=tmpfs,target=/dev/shm"
