#!/usr/bin/env bash
# Starts the services the tests use, and waits until each answers:
#   - Docker Engine (Debian's docker.io): dockerd --iptables=false --bridge=none
#   - a registry (Debian's docker-registry) on 127.0.0.1:5000
# Idempotent: a service that already answers is left alone. Logs go to $HWDOCK_SERVICE_LOGS.
set -euo pipefail

logs=${HWDOCK_SERVICE_LOGS:-/tmp/hwdock-services}
mkdir -p "$logs"
docker_cli=/usr/bin/docker   # Debian's client: BuildKit built in, no buildx needed

wait_for() {  # wait_for <what> <seconds> <command...>
  local what=$1 secs=$2; shift 2
  for _ in $(seq "$((secs * 4))"); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  echo "services: $what did not answer within ${secs}s; see $logs" >&2
  return 1
}

if ! "$docker_cli" info >/dev/null 2>&1; then
  nohup setsid dockerd --iptables=false --bridge=none \
    >"$logs/dockerd.log" 2>&1 </dev/null &
  wait_for "dockerd" 60 "$docker_cli" info
fi
echo "services: docker engine $("$docker_cli" version --format '{{.Server.Version}}') answers"

if ! curl -fsS http://127.0.0.1:5000/v2/ >/dev/null 2>&1; then
  cat >"$logs/registry.yml" <<YML
version: 0.1
storage:
  filesystem:
    rootdirectory: $logs/registry-data
  delete:
    enabled: true
http:
  addr: 127.0.0.1:5000
YML
  nohup setsid docker-registry serve "$logs/registry.yml" \
    >"$logs/registry.log" 2>&1 </dev/null &
  wait_for "registry" 30 curl -fsS http://127.0.0.1:5000/v2/
fi
echo "services: registry answers on 127.0.0.1:5000"
