# hwdock verify: runs inside the container under test (POSIX sh, busybox-friendly).
# Prints one JSON object per line ({"check": ...}); any other output is kept as log text.
# Inputs (environment): HWDOCK_DEVICES (space-separated paths expected in the container),
# HWDOCK_KERNEL (1: run a tiny kernel), HWDOCK_SERVE_PORT / HWDOCK_HEALTH_PATH /
# HWDOCK_SERVE_TIMEOUT (with the server command as "$@": start it and poll its health URL).

esc() { printf '%s' "$1" | sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' | tr -d '\n\r\t'; }
emit() { printf '%s\n' "$1"; }

emit "{\"check\":\"start\",\"uid\":\"$(esc "$(id -u 2>/dev/null)")\",\"gids\":\"$(esc "$(id -G 2>/dev/null)")\"}"

for dev in $HWDOCK_DEVICES; do
  exists=false; char=false; r=false; w=false
  if [ -e "$dev" ]; then exists=true; fi
  if [ -c "$dev" ]; then char=true; fi
  if [ -r "$dev" ]; then r=true; fi
  if [ -w "$dev" ]; then w=true; fi
  emit "{\"check\":\"device\",\"path\":\"$(esc "$dev")\",\"exists\":$exists,\"char\":$char,\"readable\":$r,\"writable\":$w}"
done

for v in PYTORCH_ROCM_ARCH TORCH_CUDA_ARCH_LIST HSA_OVERRIDE_GFX_VERSION CUDA_VISIBLE_DEVICES HIP_VISIBLE_DEVICES ROCR_VISIBLE_DEVICES; do
  eval "val=\${$v-__hwdock_unset__}"
  if [ "$val" != "__hwdock_unset__" ]; then
    emit "{\"check\":\"env\",\"name\":\"$v\",\"value\":\"$(esc "$val")\"}"
  fi
done

py=""
for c in python3 python; do
  if command -v "$c" >/dev/null 2>&1; then py=$(command -v "$c"); break; fi
done
if [ -z "$py" ]; then
  emit '{"check":"python","found":false}'
else
  emit "{\"check\":\"python\",\"found\":true,\"path\":\"$(esc "$py")\"}"
  "$py" - <<'HWDOCK_PY'
@HWDOCK_PYTHON_PART@
HWDOCK_PY
  rc=$?
  if [ "$rc" -ne 0 ]; then emit "{\"check\":\"python-exit\",\"code\":$rc}"; fi
fi

probe_health() {
  url="http://127.0.0.1:${HWDOCK_SERVE_PORT}${HWDOCK_HEALTH_PATH:-/health}"
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 5 "$url" 2>/dev/null
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O /dev/null "$url" 2>/dev/null  # no -T: busybox 1.35 static wget crashes on it
  elif [ -n "$py" ]; then
    "$py" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=5)' "$url" 2>/dev/null
  else
    return 2
  fi
}

if [ -n "$HWDOCK_SERVE_PORT" ] && [ "$#" -gt 0 ]; then
  # the server's own output goes to stdout too: verify keeps it as log text
  "$@" 2>&1 &
  pid=$!
  waited=0; status=timeout
  while [ "$waited" -lt "${HWDOCK_SERVE_TIMEOUT:-300}" ]; do
    if ! kill -0 "$pid" 2>/dev/null; then status=exited; break; fi
    probe_health; prc=$?
    if [ "$prc" -eq 0 ]; then status=ok; break; fi
    if [ "$prc" -eq 2 ]; then status=no-client; break; fi
    sleep 1; waited=$((waited + 1))
  done
  emit "{\"check\":\"serve\",\"status\":\"$status\",\"seconds\":$waited}"
  kill "$pid" 2>/dev/null
fi
emit '{"check":"end"}'
