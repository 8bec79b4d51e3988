#!/usr/bin/env bash
# Installs everything the tests need and runs them: Debian packages (Docker Engine, a
# registry, busybox for base images, Podman), a virtual environment with hwdock and its test
# extras, the services (scripts/services.sh), then ruff and pytest.
# Root on Debian 12 is assumed (as in CI); elsewhere install the packages by hand and set
# HWDOCK_SKIP_APT=1. Under CI=true, tests that need the engine or registry never skip.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(docker.io docker-registry busybox-static podman curl docker-compose)
if [ "${HWDOCK_SKIP_APT:-0}" != 1 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${debs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/tmp/hwdock-apt.log 2>&1 || { tail -20 /tmp/hwdock-apt.log; exit 1; }
  fi
fi

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --disable-pip-version-check -e '.[test,nvml]'

if command -v dockerd >/dev/null; then bash scripts/services.sh; fi

.venv/bin/ruff check src tests bench
.venv/bin/python -m pytest -q "$@"
