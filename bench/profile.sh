#!/usr/bin/env bash
# One Purser in front of the simulated provider, one load point, CPU per request — the inner loop for working on the
# hot path (bench/run.sh is the side-by-side benchmark). Optionally records a `perf` profile with JIT'd frames named.
#
#   bench/profile.sh <nobudget|default|budget|ratelimit|lease|reservation|flood> [seconds] [trace]
#
# nobudget: a key, no budget; default: a reserve-mode budget in the default configuration (no ledger option: leases
# on SQLite); budget: the same budget with storage.leases: false (a hold and a settlement per request on the SQLite
# ledger); ratelimit: that budget plus one rate limit on the key (requests, tokens and concurrency, never reached);
# lease: the budget with storage.leases: true (the default spelled out); reservation: the lease setup, every request drawing on one reservation
# (x-budget-reservation; draws are served from a slice of the reservation, as leased requests are); flood: a key at its cap hammered by a loop (every request a 402 and
# a usage record), reporting the database's bytes per refused request and its growth per hour at the measured rate. Environment: CONNS (default 8), WARM (warm-up seconds, default 10),
# EXTRA_ENV (runtime knobs, e.g. "DOTNET_TC_CallCountingDelayMs=0" to reach tier-1 code at once), GWCPU (default 0),
# SIM_PORT/GW_PORT (28089/28092), BIN (a purser executable to run instead of the JIT build, e.g. the native binary
# from scripts/publish-native.sh: BIN=artifacts/native/purser), PERF_OUT (directory for the profile, default bench/.profile). Builds nothing: run
# `dotnet build src/Purser.Gateway -c Release` and the same for src/Purser.SimulatedProvider first.
# Read a profile: perf report -i bench/.profile/<variant>.perf --no-children --sort sym -g none | head -60
set -euo pipefail
cd "$(dirname "$0")/.."
variant=${1:-budget}; secs=${2:-5}; trace=${3:-}
sim_port=${SIM_PORT:-28089}; gw_port=${GW_PORT:-28092}; perf_out=${PERF_OUT:-bench/.profile}
work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
sim_dll=src/Purser.SimulatedProvider/bin/Release/net10.0/Purser.SimulatedProvider.dll
gateway_dll=src/Purser.Gateway/bin/Release/net10.0/purser.dll
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; return 1; }

taskset -c 1 dotnet "$sim_dll" --urls "http://127.0.0.1:$sim_port" >"$work/sim.log" 2>&1 & pids+=($!)
secret=sk-purser-bench-key; hash=$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)
budget=""; storage="sqlite_path: $work/purser.db"
case $variant in
  nobudget) ;;
  default) budget='budgets: [{ id: bench-daily, scope: "key:bench", window: daily, cap_usd: 1000000, mode: reserve }]';;
  budget) budget='budgets: [{ id: bench-daily, scope: "key:bench", window: daily, cap_usd: 1000000, mode: reserve }]'; storage="$storage, leases: false";;
  ratelimit) budget='budgets: [{ id: bench-daily, scope: "key:bench", window: daily, cap_usd: 1000000, mode: reserve }]
rate_limits: [{ id: bench-rl, scope: "key:bench", requests_per_minute: 1000000000, tokens_per_minute: 1000000000000, max_concurrent: 100000 }]'; storage="$storage, leases: false";;
  lease|reservation) budget='budgets: [{ id: bench-daily, scope: "key:bench", window: daily, cap_usd: 1000000, mode: reserve }]'; storage="$storage, leases: true";;
  flood) budget='budgets: [{ id: bench-daily, scope: "key:bench", window: daily, cap_usd: 0.000000001, mode: reserve }]';;
  *) echo "variant: nobudget, default, budget, ratelimit, lease, reservation or flood" >&2; exit 2;;
esac
cat >"$work/purser.yaml" <<EOF
server: { listen: "http://127.0.0.1:$gw_port", upstream_timeout_seconds: 60 }
storage: { $storage }
providers:
  sim: { kind: openai, base_url: "http://127.0.0.1:$sim_port/v1", api_key: sim }
models:
  bench-instant: { provider: sim, upstream: "sim-chat~out=16", price: { input: 0.5, output: 1.5 } }
keys:
  - { id: bench, hash: "sha256:$hash" }
$budget
EOF
# Perf maps name JIT'd frames; W^X off so perf can read the code they point to.
# BIN runs another purser executable instead of the JIT build (the native binary: BIN=artifacts/native/purser).
if [ -n "${BIN:-}" ]; then gateway=("$BIN"); else gateway=(dotnet "$gateway_dll"); fi
env DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 ${EXTRA_ENV:-} taskset -c "${GWCPU:-0}" "${gateway[@]}" serve --config "$work/purser.yaml" >"$work/purser.log" 2>&1 & pids+=($!)
gateway_pid=$!
wait_port "$gw_port"; wait_port "$sim_port"
echo "idle RSS $(awk '/VmRSS/ {print $2}' "/proc/$gateway_pid/status") KiB"
body='{"model":"bench-instant","max_tokens":64,"messages":[{"role":"user","content":"Say something short about budgets."}]}'
headers="Authorization: Bearer $secret"
if [ "$variant" = reservation ]; then
  reservation=$(curl -sf -X POST "http://127.0.0.1:$gw_port/v1/budget/reservations" -H "$headers" -H 'Content-Type: application/json' \
    -d '{"amount_usd":"500000","ttl_seconds":86400,"label":"bench"}' | sed -E 's/.*"id":"([^"]+)".*/\1/')
  headers="$headers|x-budget-reservation: $reservation"
fi
load() { BENCH_BODY=$body BENCH_HEADERS="$headers" taskset -c 1 wrk -t1 "$@" -s bench/post.lua "http://127.0.0.1:$gw_port/v1/chat/completions"; }
db_before=$(du -cb "$work"/purser.db* 2>/dev/null | awk '/total/ {print $1}')
warm_out=$(load -c8 -d"${WARM:-10}"s)
if [ -n "$trace" ]; then
  mkdir -p "$perf_out"
  perf record -F 1999 -g -p "$gateway_pid" -o "$perf_out/$variant.perf" -- sleep "$((secs > 2 ? secs - 1 : 1))" >/dev/null 2>&1 &
  recorder=$!
fi
before=$(awk '{print $14 + $15}' "/proc/$gateway_pid/stat")
out=$(load -c"${CONNS:-8}" -d"${secs}"s --latency)
after=$(awk '{print $14 + $15}' "/proc/$gateway_pid/stat")
requests=$(awk '/requests in/ {print $1}' <<<"$out")
grep -E "Requests/sec|Non-2xx|50%|75%|90%|99%" <<<"$out"
awk -v t=$((after - before)) -v n="$requests" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "CPU/request %.1f us (%d requests)\n", t / hz / n * 1e6, n }'
echo "steady RSS $(awk '/VmRSS/ {print $2}' "/proc/$gateway_pid/status") KiB"
if [ -n "$trace" ]; then wait "$recorder" || true; fi
if [ "$variant" = flood ]; then
  # Every request of both loads left one usage record; a clean stop drains the writer and checkpoints the WAL.
  warm_requests=$(awk '/requests in/ {print $1}' <<<"$warm_out")
  kill -TERM "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true
  bytes=$(du -cb "$work"/purser.db* | awk '/total/ {print $1}')
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  awk -v b="$bytes" -v b0="$db_before" -v n="$((requests + warm_requests))" -v r="$rps" 'BEGIN {
    per = (b - b0) / n; printf "flood: %d refused requests, %.1f bytes each, %.2f GB/hour at %.0f requests/s\n", n, per, per * r * 3600 / 1e9, r }'
fi
