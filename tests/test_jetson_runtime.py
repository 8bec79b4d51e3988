"""Jetson (L4T): the container gets the GPU from Docker's `nvidia` runtime, never `--gpus`.

The NVIDIA Container Runtime works in CSV mode on Jetson and refuses `--gpus` ("Auto-detected
mode as 'csv' invoking the NVIDIA Container Runtime Hook directly ... is not supported";
knowledge/data/cuda.toml [jetson_container] has the sources). Followed end to end from the
recorded host tests/fixtures/hosts/jetson-orin: the plan, its JSON and every reader of it, the
argv for Docker and Podman, the script, Compose (and docker-compose accepting it), Kubernetes,
doctor, verify, and the real engine taking the `--runtime` flag.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from hwdock.engine.argv import run_argv, runtime_to_cdi
from hwdock.export.compose import render_compose
from hwdock.export.script import render_script
from hwdock.plan import make_plan
from hwdock.plan.facts import jetson_container
from hwdock.plan.model import Plan, RunSpec
from hwdock.plan.options import PlanOptions
from hwdock.probe.model import CdiSpec
from tests.conftest import FIXTURES, HOSTS, ROOT
from tests.support import engine as eng

TREE = FIXTURES / "trees" / "vllm-current"
README = "https://github.com/NVIDIA/nvidia-container-toolkit/blob/main/cmd/nvidia-container-runtime/README.md"


def host(name: str = "jetson-orin"):
    from hwdock.probe import probe_capture

    return probe_capture(HOSTS / name)


def jetson_plan(h=None) -> Plan:
    return make_plan(h or host(), PlanOptions(source=TREE))


def hwdock(*args: str, state: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "HWDOCK_STATE_DIR": str(state)}
    env.pop("HF_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "hwdock", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        cwd=ROOT,
    )


# ---------------------------------------------------------------- knowledge and plan


def test_the_fact_is_knowledge_with_its_sources() -> None:
    jc = jetson_container()
    assert jc["runtime"] == "nvidia" and jc["mode"] == "csv"
    assert jc["csv_dir"] == "/etc/nvidia-container-runtime/host-files-for-container.d"
    assert {"devices.csv", "drivers.csv"} <= set(jc["csv_files"])
    assert (jc["env_name"], jc["env_value"]) == ("NVIDIA_VISIBLE_DEVICES", "all")
    assert jc["source"] == README
    assert "https://github.com/dusty-nv/jetson-containers/issues/1068" in jc["reports"]
    assert "https://github.com/dusty-nv/jetson-containers/issues/1703" in jc["reports"]
    for key, value in jc.items():
        if key.endswith("source") or key.startswith("source_"):
            assert value.startswith("https://"), key


def test_recorded_jetson_plans_the_nvidia_runtime_not_gpus() -> None:
    p = jetson_plan()
    run = p.run
    assert run is not None
    assert run.runtime == "nvidia"
    assert run.gpus is None and run.cdi_devices == [] and run.devices == []
    assert run.env["NVIDIA_VISIBLE_DEVICES"] == "all"  # CSV mode acts only when it is set
    (d,) = [d for d in p.decisions if d.key == "run-devices"]
    assert d.what.startswith("--runtime nvidia") and "not --gpus" in d.what
    assert "CSV mode" in d.why and "--gpus" in d.why
    assert "R35 (release), REVISION: 3.1" in d.evidence[0]
    assert "docker runtimes: io.containerd.runc.v2, nvidia, runc" in d.evidence
    assert README in d.evidence
    assert "https://github.com/dusty-nv/jetson-containers/issues/1068" in d.evidence


def test_cdi_specs_keep_precedence_on_a_jetson() -> None:
    h = host()
    h.container.cdi_specs = [
        CdiSpec(
            path="/etc/cdi/nvidia.yaml",
            kind="nvidia.com/gpu",
            devices=["nvidia.com/gpu=0", "nvidia.com/gpu=all"],
        )
    ]
    run = jetson_plan(h).run
    assert run is not None
    assert run.cdi_devices == ["nvidia.com/gpu=all"]
    assert run.runtime is None and run.gpus is None
    assert "NVIDIA_VISIBLE_DEVICES" not in run.env


@pytest.mark.parametrize(
    ("name", "gpus"), [("h100-8-no-nvml", "device="), ("v100-old-driver", "all")]
)
def test_x86_nvidia_hosts_still_plan_gpus(name: str, gpus: str) -> None:
    p = make_plan(host(name), PlanOptions(source=TREE))
    assert p.run is not None
    assert p.run.runtime is None and p.run.gpus is not None and p.run.gpus.startswith(gpus)
    assert "NVIDIA_VISIBLE_DEVICES" not in p.run.env
    argv = run_argv(p.run)
    assert argv[argv.index("--gpus") + 1] == p.run.gpus and "--runtime" not in argv


def test_runtime_survives_every_reader_of_the_plan_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hwdock.commands import saved_plan
    from hwdock.commands.plan_inputs import read_plan

    monkeypatch.setenv("HWDOCK_STATE_DIR", str(tmp_path / "state"))
    doc = jetson_plan().to_dict()
    assert doc["run"]["runtime"] == "nvidia"
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(doc))
    assert Plan.from_dict(json.loads(path.read_text())).run.runtime == "nvidia"
    assert read_plan(path).run.runtime == "nvidia"
    first = saved_plan.read_plan(path)  # checked, then remembered
    again = saved_plan.read_plan(path)  # the remembered record
    assert isinstance(again, saved_plan.PlanRecord)
    assert first.run.runtime == again.run.runtime == "nvidia"
    assert again.to_dict()["run"]["runtime"] == "nvidia"
    # a plan written before the field existed reads as "the engine's default runtime"
    del doc["run"]["runtime"]
    assert Plan.from_dict(doc).run.runtime is None


def test_a_runtime_that_is_not_a_string_is_an_input_error() -> None:
    from hwdock.errors import InputError

    doc = jetson_plan().to_dict()
    doc["run"]["runtime"] = ["nvidia"]
    with pytest.raises(InputError, match="runtime"):
        Plan.from_dict(doc)


# ---------------------------------------------------------------- argv, script, CLI


def test_docker_gets_runtime_podman_gets_the_cdi_device() -> None:
    run = jetson_plan().run
    assert run is not None
    docker = run_argv(run, "docker")
    assert docker[docker.index("--runtime") + 1] == "nvidia"
    assert "--gpus" not in docker
    assert docker[docker.index("-e") + 1] == "NVIDIA_VISIBLE_DEVICES=all"
    podman = run_argv(run, "/usr/bin/podman")
    assert "--runtime" not in podman and "--gpus" not in podman
    assert podman[podman.index("--device") + 1] == "nvidia.com/gpu=all"


def test_runtime_argv_details() -> None:
    assert runtime_to_cdi("nvidia") == ["nvidia.com/gpu=all"]
    assert runtime_to_cdi("crun") == []
    spec = RunSpec(image="img", runtime="crun")
    argv = run_argv(spec, "podman")
    assert argv[argv.index("--runtime") + 1] == "crun"  # Podman has --runtime too
    both = RunSpec(image="img", runtime="nvidia", gpus="all")  # `hwdock run --gpus all`
    argv = run_argv(both, "docker")
    assert argv[argv.index("--runtime") + 1] == "nvidia" and "--gpus" in argv
    assert run_argv(both, "podman").count("nvidia.com/gpu=all") == 1  # one device, not two
    cdi = RunSpec(image="img", runtime="nvidia", cdi_devices=["nvidia.com/gpu=all"])
    assert run_argv(cdi, "podman").count("nvidia.com/gpu=all") == 1


def test_script_runs_docker_with_the_runtime(tmp_path: Path) -> None:
    from tests.test_plan_script import run_script

    plan = jetson_plan()
    calls, proc = run_script(render_script(plan), tmp_path)
    assert proc.returncode == 0, proc.stderr
    run = calls[-1]
    assert run[0] == "run" and run[-1] == plan.run.image
    assert run[run.index("--runtime") + 1] == "nvidia" and "--gpus" not in run
    assert "NVIDIA_VISIBLE_DEVICES=all" in run


def test_cli_plan_script_export_script_and_run_dry_run(tmp_path: Path) -> None:
    state = tmp_path / "state"
    capture = str(HOSTS / "jetson-orin")
    script = hwdock("plan", str(TREE), "--from", capture, "--script", state=state)
    assert script.returncode == 0, script.stderr
    run_line = next(line for line in script.stdout.splitlines() if line.startswith("exec "))
    assert "--runtime nvidia" in run_line and "--gpus" not in run_line
    out = hwdock("plan", str(TREE), "--from", capture, "--json", state=state)
    assert out.returncode == 0, out.stderr
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(out.stdout)
    assert json.loads(out.stdout)["run"]["runtime"] == "nvidia"
    exported = hwdock("export", "script", "--plan", str(plan_file), state=state)
    assert exported.returncode == 0, exported.stderr
    (exec_line,) = [line for line in exported.stdout.splitlines() if line.startswith("exec ")]
    assert exec_line == run_line
    dry = hwdock("run", "--plan", str(plan_file), "--dry-run", "--engine", "docker", state=state)
    if dry.returncode == 4:
        eng.need("no docker client for `hwdock run --dry-run`: " + dry.stderr.strip())
    assert dry.returncode == 0, dry.stderr
    argv = shlex.split(dry.stdout.strip().splitlines()[-1])
    assert argv[1] == "run" and argv[argv.index("--runtime") + 1] == "nvidia"
    assert "--gpus" not in argv


# ---------------------------------------------------------------- Compose and Kubernetes


def test_compose_service_uses_the_runtime_not_a_reservation() -> None:
    res = render_compose(jetson_plan())
    svc = res.doc["services"]["vllm"]
    assert svc["runtime"] == "nvidia"
    assert "deploy" not in svc  # no GPU device reservation: that is --gpus again
    assert "NVIDIA_VISIBLE_DEVICES=all" in svc["environment"]
    assert yaml.safe_load(res.text) == res.doc


def test_docker_compose_config_accepts_the_jetson_service(tmp_path: Path) -> None:
    from tests.test_export_compose import need_compose

    cli = need_compose()
    f = tmp_path / "compose.yaml"
    # --compose-v1: the plan's Dockerfile is generated, which 1.x cannot take inline, so the
    # service runs the image hwdock builds (and says so)
    res = render_compose(jetson_plan(), v1=True)
    assert "build" not in res.doc["services"]["vllm"]
    assert any("cannot build from an inline Dockerfile" in n for n in res.notes)
    f.write_text(res.text)
    proc = subprocess.run(
        [*cli, "-f", str(f), "config"], capture_output=True, text=True, cwd=tmp_path, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    svc = yaml.safe_load(proc.stdout)["services"]["vllm"]
    assert svc["runtime"] == "nvidia" and "deploy" not in svc


def test_k8s_pod_runs_under_the_nvidia_runtime_class() -> None:
    kv = pytest.importorskip("kubernetes_validate", reason="pip install kubernetes-validate")
    from hwdock.export.k8s import render_k8s

    res = render_k8s(jetson_plan())
    docs = [d for d in yaml.safe_load_all(res.text) if d]
    for d in docs:
        kv.validate(d, "1.37.0", strict=True)
    pod = docs[0]["spec"]["template"]["spec"]
    assert pod["runtimeClassName"] == "nvidia"
    (c,) = pod["containers"]
    assert c["resources"]["limits"] == {"nvidia.com/gpu": 1}
    # the device plugin passes the allocated GPU in NVIDIA_VISIBLE_DEVICES; "all" would undo it
    assert "NVIDIA_VISIBLE_DEVICES" not in {e["name"] for e in c.get("env", [])}
    (note,) = [n for n in res.notes if "RuntimeClass" in n]
    assert "k8s-device-plugin" in note and "v0.13.0" in note
    assert "# note: Jetson: the pod runs under the RuntimeClass 'nvidia'" in res.text


def test_k8s_other_runtimes_are_left_out_and_said() -> None:
    from hwdock.export.k8s import render_k8s

    p = jetson_plan()
    assert p.run is not None
    p.run.runtime = "kata"
    res = render_k8s(p)
    assert "runtimeClassName" not in res.docs[0]["spec"]["template"]["spec"]
    assert any("'kata'" in n and "runtimeClassName" in n for n in res.notes)


# ---------------------------------------------------------------- doctor and verify


def _gpu_runtime(h, plan):
    from hwdock.doctor.checks import run_checks

    return next(c for c in run_checks(h, plan) if c.id == "gpu-runtime")


def test_doctor_on_the_recorded_jetson_checks_the_docker_runtime() -> None:
    h = host()
    for plan in (None, jetson_plan(h)):
        c = _gpu_runtime(h, plan)
        assert c.status == "ok", c
        assert "'nvidia' runtime" in c.message and "not --gpus" in c.message
        assert "docker runtimes: io.containerd.runc.v2, nvidia, runc" in c.evidence


def test_doctor_fails_without_the_runtime_and_gives_the_fix() -> None:
    h = host()
    plan = jetson_plan(h)
    docker = next(e for e in h.container.engines if e.name == "docker")
    docker.runtimes = ["io.containerd.runc.v2", "runc"]
    c = _gpu_runtime(h, plan)
    assert c.status == "fail"
    assert "no 'nvidia' runtime registered" in c.message
    assert c.fix is not None
    assert (
        "sudo nvidia-ctk runtime configure --runtime=docker && sudo systemctl restart docker"
        in (c.fix)
    )
    assert "sudo apt install nvidia-container" in c.fix
    assert any("install-guide.html#configuring-docker" in e for e in c.evidence)
    docker.server_version = None  # the daemon did not answer: cannot tell
    assert _gpu_runtime(h, plan).status == "warn"


def test_doctor_fails_a_jetson_plan_that_uses_gpus() -> None:
    h = host()
    plan = jetson_plan(h)
    assert plan.run is not None
    plan.run = dataclasses.replace(plan.run, runtime=None, gpus="all")  # an older plan
    c = _gpu_runtime(h, plan)
    assert c.status == "fail" and "--gpus all" in c.message
    assert c.fix is not None and "hwdock plan" in c.fix


def test_verify_default_spec_uses_the_runtime_on_jetson() -> None:
    from hwdock.doctor import verify as v

    h = host()
    spec = v.default_run_spec(h, h.accelerators, "img")
    assert spec.runtime == "nvidia" and spec.gpus is None and spec.cdi_devices == []
    assert spec.env == {"NVIDIA_VISIBLE_DEVICES": "all"}
    req = v.prepare("img", spec, exists=lambda _p: True)
    assert req.spec.runtime == "nvidia"
    assert req.spec.env["NVIDIA_VISIBLE_DEVICES"] == "all"
    argv = run_argv(req.spec, "docker")
    assert argv[argv.index("--runtime") + 1] == "nvidia" and "--gpus" not in argv
    x86 = host("v100-old-driver")
    assert v.default_run_spec(x86, x86.accelerators, "img").gpus == "all"
    assert v.default_run_spec(x86, x86.accelerators, "img").runtime is None


# ---------------------------------------------------------------- the real engine


@pytest.mark.engine
def test_real_docker_takes_the_runtime_flag(
    busybox_image: str, docker_cli: str, tmp_path: Path
) -> None:
    """This daemon has no `nvidia` runtime (no GPU here) but has `runc`: the same plan with
    runtime runc runs; with runtime nvidia Docker refuses and hwdock explains the refusal."""
    plan = jetson_plan()
    assert plan.run is not None
    plan.run = dataclasses.replace(
        plan.run, image=busybox_image, mounts=[], ports=[], command=[], name=None
    )
    state = tmp_path / "state"
    runc = dataclasses.replace(plan, run=dataclasses.replace(plan.run, runtime="runc"))
    (tmp_path / "runc.json").write_text(json.dumps(runc.to_dict()))
    args = ["--engine", docker_cli, "--", "sh", "-c", 'echo "visible=$NVIDIA_VISIBLE_DEVICES"']
    ok = hwdock("run", "--plan", str(tmp_path / "runc.json"), *args, state=state)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip().splitlines()[-1] == "visible=all"
    (tmp_path / "nvidia.json").write_text(json.dumps(plan.to_dict()))
    bad = hwdock("run", "--plan", str(tmp_path / "nvidia.json"), *args, state=state)
    assert bad.returncode == 6, bad.stderr  # RUN_FAILED
    assert "known error [docker-runtime-unknown]" in bad.stderr
    assert "nvidia-ctk runtime configure --runtime=docker" in bad.stderr
