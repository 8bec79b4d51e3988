"""Compose export: structure, YAML that parses back, `docker-compose config`, and `up` on the
local engine with a fake /dev/kfd (a harmless char device made with mknod)."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from hwdock.export.compose import render_compose
from hwdock.plan.model import ImageStep, Mount, Plan, RunSpec
from tests.support import engine as eng
from tests.support.export_plans import cuda_plan, rocm_plan


def compose_cli() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = eng.find_docker()
    if (
        docker
        and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    ):
        return [docker, "compose"]
    return None


def need_compose() -> list[str]:
    cli = compose_cli()
    if cli is None:
        eng.need(
            "neither docker-compose nor `docker compose` is installed "
            "(apt-get install docker-compose)"
        )
    assert cli is not None
    return cli


def test_rocm_service_has_devices_groups_shm_model_and_token_by_name() -> None:
    res = render_compose(rocm_plan())
    doc = yaml.safe_load(res.text)
    assert doc == res.doc
    svc = doc["services"]["vllm"]
    assert svc["devices"] == [
        "/dev/kfd:/dev/kfd",
        "/dev/dri/renderD128:/dev/dri/renderD128",
        "/dev/dri/renderD136:/dev/dri/renderD136",
    ]
    assert svc["group_add"] == [44, 109]  # numeric: names differ between host and image
    assert svc["shm_size"] == "16g"
    model = next(v for v in svc["volumes"] if v["target"] == "/models/llama")
    assert model["read_only"] is True and model["type"] == "bind"
    assert "HF_TOKEN" in svc["environment"]
    assert not any(e.startswith("HF_TOKEN=") for e in svc["environment"])
    assert svc["build"]["dockerfile"] == "docker/Dockerfile.rocm"
    assert svc["build"]["target"] == "final"
    assert svc["build"]["args"]["PYTORCH_ROCM_ARCH"] == "gfx942"
    assert svc["build"]["secrets"] == ["HF_TOKEN"]
    assert doc["secrets"] == {"HF_TOKEN": {"environment": "HF_TOKEN"}}
    assert svc["healthcheck"]["test"][0] == "CMD"
    assert "/health" in svc["healthcheck"]["test"][-1]
    assert svc["ports"] == ["8000:8000"]
    assert "deploy" not in svc  # AMD: devices, not NVIDIA reservations
    assert any("build rocm/vllm-dev:base first" in n for n in res.notes)


def test_nvidia_gets_a_gpu_reservation() -> None:
    svc = render_compose(cuda_plan(gpus="all")).doc["services"]["vllm"]
    dev = svc["deploy"]["resources"]["reservations"]["devices"][0]
    assert dev == {"driver": "nvidia", "capabilities": ["gpu"], "count": "all"}
    assert svc["ipc"] == "host"
    svc = render_compose(cuda_plan(gpus='"device=0,2"')).doc["services"]["vllm"]
    dev = svc["deploy"]["resources"]["reservations"]["devices"][0]
    assert dev["device_ids"] == ["0", "2"] and "count" not in dev


def test_cdi_devices_replace_the_reservation() -> None:
    svc = render_compose(cuda_plan(cdi=["nvidia.com/gpu=all"])).doc["services"]["vllm"]
    assert svc["devices"] == ["nvidia.com/gpu=all"]
    assert "deploy" not in svc


def test_dollar_signs_are_escaped_for_compose_interpolation() -> None:
    plan = rocm_plan(model="/models/$(id)/${HOME}")
    svc = render_compose(plan).doc["services"]["vllm"]
    model = svc["volumes"][0]
    assert model["source"] == "/models/$$(id)/$${HOME}"


HOSTILE = [
    "my model: v2 # 'x'",
    'q"uote',
    "$(touch /tmp/hwdock-pwned)",
    "yes",
    "0755",
    "line\nbreak",
    "ünï ☃",
    "${HF_TOKEN}",
]


def _hostile_plan(value: str) -> Plan:
    return Plan(
        recipe="vllm",
        platform="rocm",
        route="build",
        steps=[ImageStep(id="app", action="use-local", image="hwdock-export-test/x:1", reason="r")],
        run=RunSpec(
            image="hwdock-export-test/x:1",
            name="vllm",
            devices=["/dev/kfd"],
            mounts=[Mount(source=f"/srv/{value}", target="/model", read_only=True)],
            env={"VALUE": value},
            env_passthrough=["HF_TOKEN"],
            command=["--served-model-name", value],
        ),
    )


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_parse_back(value: str) -> None:
    doc = yaml.safe_load(render_compose(_hostile_plan(value)).text)
    svc = doc["services"]["vllm"]
    assert svc["command"][1].replace("$$", "$") == value
    assert svc["environment"][0].replace("$$", "$") == f"VALUE={value}"


@pytest.mark.parametrize("value", HOSTILE)
def test_docker_compose_config_accepts_and_keeps_values(tmp_path: Path, value: str) -> None:
    cli = need_compose()
    f = tmp_path / "compose.yaml"
    f.write_text(render_compose(_hostile_plan(value)).text)
    env = {k: v for k, v in os.environ.items() if k != "HF_TOKEN"}
    proc = subprocess.run(
        [*cli, "-f", str(f), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    cfg = yaml.safe_load(proc.stdout)
    svc = cfg["services"]["vllm"]
    # Compose interpolated nothing: its output (which escapes `$` again as `$$`) holds exactly
    # the planned value; without hwdock's escaping `${HF_TOKEN}` would have become ""
    assert [c.replace("$$", "$") for c in svc["command"]] == ["--served-model-name", value]


def test_docker_compose_config_accepts_the_rocm_and_cuda_plans(tmp_path: Path) -> None:
    cli = need_compose()
    for i, plan in enumerate([rocm_plan(), cuda_plan(gpus='"device=0,1"')]):
        f = tmp_path / f"c{i}.yaml"
        f.write_text(render_compose(plan, v1=True).text)
        proc = subprocess.run(
            [*cli, "-f", str(f), "config"], capture_output=True, text=True, cwd=tmp_path, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        svc = yaml.safe_load(proc.stdout)["services"]["vllm"]
        assert svc["image"] == plan.run.image
        assert svc["build"]["args"] == plan.steps[-1].build_args
        assert "secrets" not in svc["build"]


def test_spec_form_differs_from_v1_only_by_build_secrets() -> None:
    full = render_compose(rocm_plan()).doc
    v1 = render_compose(rocm_plan(), v1=True).doc
    assert full["services"]["vllm"]["build"].pop("secrets") == ["HF_TOKEN"]
    assert full.pop("secrets") == {"HF_TOKEN": {"environment": "HF_TOKEN"}}
    assert full == v1


@pytest.mark.engine
def test_compose_up_starts_the_service_with_a_fake_kfd(
    tmp_path: Path, docker_cli: str, busybox_image: str
) -> None:
    cli = need_compose()
    if os.geteuid() != 0:
        eng.need("mknod of the fake /dev/kfd needs root")
    tag = f"hwdock-export-test/kfd-probe:{uuid.uuid4().hex[:8]}"
    project = f"hwdock-export-test-{uuid.uuid4().hex[:8]}"
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {busybox_image}\n")
    env = dict(os.environ, DOCKER_BUILDKIT="1")
    subprocess.run(
        [docker_cli, "build", "--network", "none", "-t", tag, str(ctx)],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )
    dev_dir = tmp_path / "dev"
    dev_dir.mkdir()
    subprocess.run(["mknod", "-m", "666", str(dev_dir / "kfd"), "c", "1", "3"], check=True)
    plan = Plan(
        recipe="generic",
        platform="rocm",
        route="build",
        steps=[ImageStep(id="app", action="use-local", image=tag, reason="built by the test")],
        run=RunSpec(
            image=tag,
            name="probe",
            devices=[f"{dev_dir / 'kfd'}:/dev/kfd"],
            group_add=[44, 109],
            shm_size="64m",
            mounts=[Mount(source=str(tmp_path), target="/model", read_only=True)],
            env_passthrough=["HF_TOKEN"],
            command=[
                "sh",
                "-c",
                "test -c /dev/kfd && id -G && echo token=${HF_TOKEN:-unset} "
                "&& touch /model/x 2>/dev/null || echo DEVICE-OK-RO",
            ],
        ),
    )
    res = render_compose(plan)
    (tmp_path / "compose.yaml").write_text(res.text)
    # the engine here has no bridge network: run the service without a network
    (tmp_path / "override.yaml").write_text(
        f"services:\n  {res.service}:\n    network_mode: none\n"
    )
    base = [*cli, "-p", project, "-f", "compose.yaml", "-f", "override.yaml"]
    try:
        up = subprocess.run(
            [*base, "up", "--no-build", "--abort-on-container-exit"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
            env=dict(os.environ, HF_TOKEN="from-env"),
        )
        logs = subprocess.run(
            [*base, "logs", "--no-color"], capture_output=True, text=True, cwd=tmp_path, timeout=60
        )
        out = up.stdout + logs.stdout
        assert up.returncode == 0, up.stderr + out
        assert "DEVICE-OK-RO" in out  # /dev/kfd is a char device and /model is read-only
        assert "44" in out and "109" in out  # numeric groups were added
        assert "token=from-env" in out  # HF_TOKEN came from the environment, by name
    finally:
        subprocess.run(
            [*base, "down", "-v", "--remove-orphans"],
            capture_output=True,
            cwd=tmp_path,
            timeout=120,
        )
        subprocess.run([docker_cli, "rmi", "-f", tag], capture_output=True, timeout=60)
