"""Real container engine and registry for tests: found, never assumed.

Tests that need them use the fixtures in conftest.py. Under CI=true a missing engine is a
failure (scripts/test.sh installs and starts it); elsewhere it is a skip with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tarfile
import urllib.request
from pathlib import Path

import pytest

# Debian's client has BuildKit built in; a newer client earlier on PATH may need buildx.
DOCKER_CANDIDATES = ("/usr/bin/docker", "docker")
REGISTRY = "127.0.0.1:5000"
BUSYBOX_IMAGE = "hwdock-test/busybox:1"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(reason: str) -> None:
    """Skip with a visible reason, or fail under CI where the service must be there."""
    if in_ci():
        pytest.fail(f"required under CI=true: {reason}")
    pytest.skip(reason)


def find_docker() -> str | None:
    for cand in DOCKER_CANDIDATES:
        path = cand if os.path.isabs(cand) else shutil.which(cand)
        if not path or not os.path.exists(path):
            continue
        try:
            out = subprocess.run(
                [path, "version", "--format", "{{.Server.Version}}"],
                capture_output=True,
                text=True,
                timeout=20,
            )
        except (OSError, subprocess.TimeoutExpired):
            continue
        if out.returncode == 0 and out.stdout.strip():
            return path
    return None


def registry_up() -> bool:
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=3) as r:
            return r.status == 200
    except OSError:
        return False


def busybox_binary() -> str | None:
    for p in ("/bin/busybox", "/usr/bin/busybox"):
        if os.path.exists(p):
            return p
    return None


def make_busybox_rootfs_tar(dest: Path) -> Path:
    """A minimal rootfs: busybox-static and its applet links, as a tarball for `docker import`."""
    bb = busybox_binary()
    if bb is None:
        need("busybox-static is not installed (apt-get install busybox-static)")
    applets = [
        "sh",
        "ls",
        "cat",
        "echo",
        "id",
        "env",
        "stat",
        "test",
        "mkdir",
        "sleep",
        "printf",
        "grep",
        "wc",
        "true",
        "false",
        "touch",
        "rm",
        "cp",
        "nc",
        "wget",
        "httpd",
        "head",
        "tr",
        "sed",
    ]
    tar_path = dest / "busybox-rootfs.tar"
    with tarfile.open(tar_path, "w") as tar:
        for d in ("bin", "tmp", "etc", "root", "dev", "proc", "sys"):
            info = tarfile.TarInfo(d)
            info.type = tarfile.DIRTYPE
            info.mode = 0o1777 if d == "tmp" else 0o755
            tar.addfile(info)
        tar.add(bb, arcname="bin/busybox")
        for a in applets:
            info = tarfile.TarInfo(f"bin/{a}")
            info.type = tarfile.SYMTYPE
            info.linkname = "busybox"
            tar.addfile(info)
        for name, text in (
            ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"),
            ("etc/group", "root:x:0:\nvideo:x:44:\nrender:x:109:\n"),
        ):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            import io

            tar.addfile(info, io.BytesIO(data))
    return tar_path


def ensure_image(docker: str, tag: str, workdir: Path) -> str:
    """Import the busybox rootfs as `tag` unless the engine already has it."""
    have = subprocess.run([docker, "image", "inspect", tag], capture_output=True)
    if have.returncode != 0:
        tar_path = make_busybox_rootfs_tar(workdir)
        subprocess.run([docker, "import", str(tar_path), tag], check=True, capture_output=True)
    return tag
