#!/usr/bin/env bash
# Start-up time and idle memory of the JIT build against the native (NativeAOT) binary, on SQLite behind the simulated
# provider: for each build, RUNS starts (default 5) of a fresh gateway on a fresh database, each timed from exec to the
# first 200 on POST /v1/chat/completions (curl polling every ~2 ms, so the figure includes up to one poll), then one
# more request, IDLE seconds idle (default 5), and VmRSS from /proc/PID/status. Prints the median and the range.
#
#   bench/native.sh                       # JIT = src/Purser.Gateway/bin/Release/net10.0/purser.dll, NATIVE = artifacts/native/purser
#
# Builds nothing: run `dotnet build src/Purser.Gateway -c Release`, `dotnet build src/Purser.SimulatedProvider -c Release`
# and scripts/publish-native.sh first. Environment: NATIVE (binary), RUNS, IDLE, GWCPU (core for the gateway, default 0),
# SIM_PORT/GW_PORT (28189/28192). The machine's other load shows in these figures: compare rows measured together.
set -euo pipefail
cd "$(dirname "$0")/.."
native=${NATIVE:-artifacts/native/purser}; runs=${RUNS:-5}; idle=${IDLE:-5}
sim_port=${SIM_PORT:-28189}; gw_port=${GW_PORT:-28192}
sim_dll=src/Purser.SimulatedProvider/bin/Release/net10.0/Purser.SimulatedProvider.dll
gateway_dll=src/Purser.Gateway/bin/Release/net10.0/purser.dll
for f in "$native" "$sim_dll" "$gateway_dll"; do [ -f "$f" ] || { echo "missing $f (see the header of $0)" >&2; exit 2; }; done
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

taskset -c 1 dotnet "$sim_dll" --urls "http://127.0.0.1:$sim_port" >"$work/sim.log" 2>&1 & pids+=($!)
wait_port "$sim_port"
secret=sk-purser-bench-key; hash=$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)
body='{"model":"bench-instant","max_tokens":64,"messages":[{"role":"user","content":"Say something short about budgets."}]}'
chat() { curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$gw_port/v1/chat/completions" \
  -H "Authorization: Bearer $secret" -H 'Content-Type: application/json' -d "$body" 2>/dev/null || true; }

# One start: prints "<ms to first 200> <idle RSS KiB>".
measure() {
  local db="$work/run-$RANDOM"
  mkdir -p "$db"
  cat >"$db/purser.yaml" <<YAML
server: { listen: "http://127.0.0.1:$gw_port" }
storage: { sqlite_path: $db/purser.db }
providers:
  sim: { kind: openai, base_url: "http://127.0.0.1:$sim_port/v1", api_key: sim }
models:
  bench-instant: { provider: sim, upstream: "sim-chat~out=16", price: { input: 0.5, output: 1.5 } }
keys:
  - { id: bench, hash: "sha256:$hash" }
budgets: [{ id: bench-daily, scope: "key:bench", window: daily, cap_usd: 1000000, mode: reserve }]
YAML
  local start end pid
  start=$(date +%s%N)
  taskset -c "${GWCPU:-0}" "$@" serve --config "$db/purser.yaml" >"$db/log" 2>&1 &
  pid=$!
  until [ "$(chat)" = 200 ]; do
    kill -0 "$pid" 2>/dev/null || { cat "$db/log" >&2; exit 1; }
    sleep 0.002
  done
  end=$(date +%s%N)
  chat >/dev/null
  sleep "$idle"
  local rss; rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
  kill -TERM "$pid"; wait "$pid" 2>/dev/null || true
  echo "$(( (end - start) / 1000000 )) $rss"
}

summary() { # name, then lines of "ms rss"
  local name=$1; shift
  local ms rss
  ms=$(printf '%s\n' "$@" | awk '{print $1}' | sort -n | tr '\n' ' ')
  rss=$(printf '%s\n' "$@" | awk '{print $2}' | sort -n | tr '\n' ' ')
  awk -v n="$name" -v ms="$ms" -v rss="$rss" 'BEGIN {
    c = split(ms, a, " "); split(rss, b, " "); m = int((c + 1) / 2)
    printf "%-7s start to first 200: median %d ms (%d-%d)   idle RSS: median %.1f MiB (%.1f-%.1f)\n", n, a[m], a[1], a[c], b[m] / 1024, b[1] / 1024, b[c] / 1024 }'
}

jit=(); aot=()
for _ in $(seq "$runs"); do
  jit+=("$(measure dotnet "$gateway_dll")")
  aot+=("$(measure "$native")")
done
summary jit "${jit[@]}"
summary native "${aot[@]}"
