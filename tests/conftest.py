"""Shared fixtures: recorded hosts, the real engine and registry (see tests/support/engine.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.support import engine as eng

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
HOSTS = FIXTURES / "hosts"
CONFORMANCE = ROOT.parent / "shared" / "conformance" / "buildkit"


@pytest.fixture(autouse=True, scope="session")
def _context_watchers_off():
    """Builds in tests walk their context: a watcher is a background process that would
    outlive the test. tests/test_engine_watch.py turns them on where it tests them."""
    old = os.environ.get("HWDOCK_WATCH")
    os.environ["HWDOCK_WATCH"] = "0"
    yield
    if old is None:
        os.environ.pop("HWDOCK_WATCH", None)
    else:
        os.environ["HWDOCK_WATCH"] = old


@pytest.fixture(scope="session")
def docker_cli() -> str:
    """Path of a docker client whose daemon answers."""
    path = eng.find_docker()
    if path is None:
        eng.need("no Docker Engine answers (bash scripts/services.sh starts one)")
    return path


@pytest.fixture(scope="session")
def busybox_image(docker_cli: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A local base image (busybox-static imported with `docker import`): nothing is pulled."""
    return eng.ensure_image(docker_cli, eng.BUSYBOX_IMAGE, tmp_path_factory.mktemp("rootfs"))


@pytest.fixture(scope="session")
def registry() -> str:
    """host:port of the local registry."""
    if not eng.registry_up():
        eng.need(f"no registry answers on {eng.REGISTRY} (bash scripts/services.sh starts one)")
    return eng.REGISTRY
