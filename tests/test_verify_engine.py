"""`hwdock verify` end to end on the local engine (no GPU here): busybox-based test images.

Images are named hwdock-verify-test-*; fake device nodes are harmless char devices (1,3).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hwdock.probe.model import Accelerator, HostReport
from tests.support.doctor_hosts import access, rx7900_with_igpu

pytestmark = pytest.mark.engine
TAG = uuid.uuid4().hex[:8]


def _build(docker: str, tag: str, dockerfile: str, tmp: Path) -> str:
    ctx = tmp / tag.replace(":", "_").replace("/", "_")
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(dockerfile)
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    out = subprocess.run(
        [docker, "build", "--network", "none", "-q", "-t", tag, str(ctx)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    return tag


@pytest.fixture(scope="module")
def images(
    docker_cli: str, busybox_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    tmp = tmp_path_factory.mktemp("verify-images")
    built = {
        "arch": _build(
            docker_cli,
            f"hwdock-verify-test-arch:{TAG}",
            f'FROM {busybox_image}\nENV PYTORCH_ROCM_ARCH="gfx90a;gfx942"\n',
            tmp,
        ),
        "serve": _build(
            docker_cli,
            f"hwdock-verify-test-serve:{TAG}",
            f"FROM {busybox_image}\nRUN mkdir -p /www && echo ok > /www/health\n"
            'CMD ["httpd", "-f", "-p", "8000", "-h", "/www"]\n',
            tmp,
        ),
        "dies": _build(
            docker_cli,
            f"hwdock-verify-test-dies:{TAG}",
            f'FROM {busybox_image}\nCMD ["sh", "-c", "echo Illegal instruction; exit 132"]\n',
            tmp,
        ),
    }
    yield built
    subprocess.run([docker_cli, "rmi", "-f", *built.values()], capture_output=True, timeout=120)


FAKE_TORCH = Path(__file__).parent / "support" / "fake_torch"
SKIP_STDLIB = {"test", "idlelib", "tkinter", "ensurepip", "lib2to3", "pydoc_data", "turtledemo"}


def _python_context(ctx: Path) -> bool:
    """Copy the system Python (binary, its shared libraries, stdlib) into a build context."""
    exe = shutil.which("python3", path="/usr/bin:/bin")
    if exe is None:
        return False
    real = Path(os.path.realpath(exe))
    ldd = subprocess.run(["ldd", str(real)], capture_output=True, text=True)
    if ldd.returncode != 0:
        return False
    root = ctx / "pyroot"
    (root / "usr/bin").mkdir(parents=True)
    shutil.copy2(real, root / "usr/bin/python3")
    for lib in re.findall(r"(/\S+\.so[.\d]*)", ldd.stdout):
        dest = root / lib.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(os.path.realpath(lib), dest)
    stdlib = Path(f"/usr/lib/{real.name}")
    if not stdlib.is_dir():
        return False
    shutil.copytree(
        stdlib,
        root / stdlib.relative_to("/"),
        ignore=lambda d, names: [n for n in names if n in SKIP_STDLIB or n == "__pycache__"],
    )
    shutil.copytree(FAKE_TORCH, ctx / "faketorch")
    return True


@pytest.fixture(scope="module")
def python_images(
    docker_cli: str, busybox_image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """Images with a real Python: without torch, and with a torch whose device API sees no GPU."""
    ctx = tmp_path_factory.mktemp("pyctx")
    if not _python_context(ctx):
        pytest.skip("no system python3 (/usr/bin/python3) to copy into a test image")
    (ctx / "Dockerfile").write_text(
        f"FROM {busybox_image}\nCOPY pyroot/ /\nCOPY faketorch/ /opt/faketorch/\n"
    )
    env = {**os.environ, "DOCKER_BUILDKIT": "1"}
    tags = {
        "python": f"hwdock-verify-test-python:{TAG}",
        "torch": f"hwdock-verify-test-torch:{TAG}",
    }
    out = subprocess.run(
        [docker_cli, "build", "--network", "none", "-q", "-t", tags["python"], str(ctx)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    (ctx / "Dockerfile.torch").write_text(
        f"FROM {tags['python']}\nENV PYTHONPATH=/opt/faketorch FAKE_TORCH_DEVICES=0\n"
    )
    out = subprocess.run(
        [docker_cli, "build", "--network", "none", "-q", "-t", tags["torch"],
         "-f", str(ctx / "Dockerfile.torch"), str(ctx)],
        capture_output=True, text=True, env=env, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    yield tags
    subprocess.run([docker_cli, "rmi", "-f", *tags.values()], capture_output=True, timeout=120)


@pytest.fixture()
def fake_dev(tmp_path: Path) -> Path:
    """A harmless char device (the same as /dev/null: 1,3) to pass as a GPU node."""
    node = tmp_path / "fake-node"
    try:
        os.mknod(node, 0o666 | 0o020000, os.makedev(1, 3))
    except PermissionError:
        pytest.skip("mknod needs root (CAP_MKNOD)")
    return node


def _host(tmp: Path, gfx: str = "gfx1100") -> str:
    host = rx7900_with_igpu()
    host.accelerators = [a for a in host.accelerators if not a.integrated]
    host.accelerators[0].gfx_target = gfx
    path = tmp / f"host-{gfx}.json"
    path.write_text(json.dumps(host.to_dict()))
    return str(path)


def _verify(docker: str, image: str, *args: str, timeout: int = 300) -> tuple[int, dict]:
    out = subprocess.run(
        [sys.executable, "-m", "hwdock", "verify", image, "--engine", docker, "--json", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stdout, out.stderr
    doc = json.loads(out.stdout)
    assert doc["kind"] == "verify-report" and doc["schema_version"] == 1
    return out.returncode, {c["id"]: c for c in doc["checks"]}


def test_arch_list_in_env_does_not_cover_gfx1100(
    docker_cli: str, images: dict[str, str], fake_dev: Path, tmp_path: Path
) -> None:
    rc, checks = _verify(
        docker_cli,
        images["arch"],
        "--host", _host(tmp_path, "gfx1100"),
        "--device", f"{fake_dev}:/dev/kfd",
        "--device", f"{fake_dev}:/dev/dri/renderD128",
    )  # fmt: skip
    assert rc == 1
    arch = checks["arch-coverage"]
    assert arch["status"] == "fail"
    assert (
        "gfx1100" in arch["message"]
        and "not covered by image ENV PYTORCH_ROCM_ARCH" in arch["message"]
    )
    assert checks["device:/dev/kfd"]["status"] == "ok"
    assert checks["device:/dev/dri/renderD128"]["status"] == "ok"
    assert checks["groups"]["status"] == "ok"
    assert (checks["python"]["status"], checks["python"]["message"]) == (
        "skip",
        "no python in image",
    )
    assert checks["gpu-visible"]["status"] == "skip"
    assert checks["kernel"]["status"] == "skip"


def test_arch_list_covers_gfx942(
    docker_cli: str, images: dict[str, str], fake_dev: Path, tmp_path: Path
) -> None:
    rc, checks = _verify(
        docker_cli,
        images["arch"],
        "--host", _host(tmp_path, "gfx942"),
        "--device", f"{fake_dev}:/dev/kfd",
        "--device", f"{fake_dev}:/dev/dri/renderD128",
    )  # fmt: skip
    assert checks["arch-coverage"]["status"] == "ok"
    assert rc == 0, checks


def test_device_nodes_this_host_lacks_are_reported(
    docker_cli: str, images: dict[str, str], tmp_path: Path
) -> None:
    host = HostReport(
        hostname="t",
        accelerators=[
            Accelerator(
                vendor="amd",
                pci_address="0000:03:00.0",
                gfx_target="gfx1100",
                render_node="/dev/dri/renderD250",
            )
        ],
        device_access=[access("/dev/kfd", exists=False)],
    )
    path = tmp_path / "h.json"
    path.write_text(json.dumps(host.to_dict()))
    rc, checks = _verify(docker_cli, images["arch"], "--host", str(path))
    assert rc == 1
    if not os.path.exists("/dev/kfd"):
        assert checks["device:/dev/kfd"]["status"] == "fail"
        assert "does not exist on this host" in checks["device:/dev/kfd"]["message"]
    assert checks["device:/dev/dri/renderD250"]["status"] == "fail"


def test_host_without_gpu(docker_cli: str, images: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(HostReport(hostname="cpu-only").to_dict()))
    rc, checks = _verify(docker_cli, images["arch"], "--host", str(path))
    assert checks["container"]["status"] == "ok"
    assert checks["arch-coverage"]["status"] == "skip"
    assert "no GPU target known" in checks["arch-coverage"]["message"]
    assert not any(k.startswith("device:") for k in checks)
    assert rc == 0


def test_serve_answers_health(docker_cli: str, images: dict[str, str], tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(HostReport(hostname="cpu-only").to_dict()))
    rc, checks = _verify(
        docker_cli, images["serve"], "--host", str(path), "--serve", "--timeout", "120"
    )
    assert checks["serve"]["status"] == "ok", checks["serve"]
    assert "httpd -f -p 8000 -h /www" in checks["serve"]["evidence"][0]
    assert rc == 0


def test_serve_that_dies_is_explained(
    docker_cli: str, images: dict[str, str], tmp_path: Path
) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(HostReport(hostname="cpu-only").to_dict()))
    rc, checks = _verify(
        docker_cli, images["dies"], "--host", str(path), "--serve", "--timeout", "120"
    )
    assert rc == 1
    assert checks["serve"]["status"] == "fail" and "exited" in checks["serve"]["message"]
    assert checks["log:illegal-instruction"]["status"] == "fail"


def test_missing_image_is_a_clear_error(docker_cli: str, tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps(HostReport().to_dict()))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "hwdock",
            "verify",
            f"hwdock-verify-test-absent:{TAG}",
            "--engine",
            docker_cli,
            "--host",
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 3
    assert "not found" in out.stderr and "Traceback" not in out.stderr


def test_python_without_torch_is_a_reasoned_skip(
    docker_cli: str, python_images: dict[str, str], fake_dev: Path, tmp_path: Path
) -> None:
    rc, checks = _verify(
        docker_cli,
        python_images["python"],
        "--host", _host(tmp_path),
        "--device", f"{fake_dev}:/dev/kfd",
        "--device", f"{fake_dev}:/dev/dri/renderD128",
    )  # fmt: skip
    assert rc == 0, checks
    assert checks["python"]["status"] == "ok"
    assert (checks["torch"]["status"], checks["torch"]["message"]) == ("skip", "no torch in image")
    assert checks["gpu-visible"]["message"] == "could not check: no torch in image"
    assert checks["kernel"]["status"] == "skip"


def test_torch_that_sees_no_gpu_is_the_no_device_finding(
    docker_cli: str, python_images: dict[str, str], fake_dev: Path, tmp_path: Path
) -> None:
    rc, checks = _verify(
        docker_cli,
        python_images["torch"],
        "--host", _host(tmp_path),
        "--device", f"{fake_dev}:/dev/kfd",
        "--device", f"{fake_dev}:/dev/dri/renderD128",
    )  # fmt: skip
    assert rc == 1
    assert checks["device:/dev/kfd"]["status"] == "ok"
    assert checks["torch"]["status"] == "ok" and "HIP" in checks["torch"]["message"]
    gpu = checks["gpu-visible"]
    assert gpu["status"] == "fail" and "torch sees no GPU" in gpu["message"]
    assert checks["kernel"]["status"] == "skip"


def test_plan_run_flags_are_used(
    docker_cli: str, images: dict[str, str], fake_dev: Path, tmp_path: Path
) -> None:
    from hwdock.plan.model import Plan, RunSpec

    host = rx7900_with_igpu()
    plan = Plan(
        recipe="vllm",
        platform="rocm",
        route="build",
        accelerators=["0000:03:00.0"],
        run=RunSpec(
            image=images["arch"],
            devices=["/dev/kfd", "/dev/dri/renderD128"],
            group_add=[4242],
            env={"HIP_VISIBLE_DEVICES": "0"},
            ports=[(18000, 8000)],
        ),
    )
    hpath, ppath = tmp_path / "h.json", tmp_path / "p.json"
    hpath.write_text(json.dumps(host.to_dict()))
    ppath.write_text(json.dumps(plan.to_dict()))
    out = subprocess.run(
        [sys.executable, "-m", "hwdock", "verify", images["arch"], "--engine", docker_cli,
         "--host", str(hpath), "--plan", str(ppath), "--json",
         "--device", f"{fake_dev}:/dev/kfd", "--device", f"{fake_dev}:/dev/dri/renderD128"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    doc = json.loads(out.stdout)
    checks = {c["id"]: c for c in doc["checks"]}
    assert doc["run"]["group_add"] == [4242]
    assert checks["groups"]["status"] == "ok", checks["groups"]
    assert "4242" in checks["groups"]["evidence"][0]
    assert checks["device:/dev/kfd"]["status"] == "ok"
    assert checks["arch-coverage"]["status"] == "fail"  # gfx1100 vs gfx90a;gfx942
    assert out.returncode == 1
