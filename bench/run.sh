#!/usr/bin/env bash
# The overhead benchmark: the simulated provider directly, nginx proxy_pass, the Portkey open-source gateway and
# Purser (a key, a reserve-mode budget, usage records on) in the default configuration (SQLite, no ledger option: leases),
# on SQLite with per-request holds (`leases: false`), and on PostgreSQL (leases, its default), side by side in one run, alternating targets over repeats. Writes a markdown table
# to bench/results/. Every server binds 127.0.0.1 and every load is bounded in time.
#
#   bench/run.sh                                     full run (BENCH_SECONDS=10 per point, BENCH_REPEATS=3)
#   BENCH_SECONDS=3 BENCH_REPEATS=1 BENCH_WARMUP=10 bench/run.sh     a quick smoke run
#
# Placement (2 cores): the proxy under test on CPU 0; the simulated provider, the load generator and PostgreSQL on
# CPU 1, the same for every target, so "added" figures compare like with like (taskset; PostgreSQL's processes are
# moved with taskset -p after it starts, and the backends it forks later inherit that).
# Warm-up: each target first serves BENCH_WARMUP seconds (default 60) of load before anything is measured, then 2 s
# before every point. A .NET process pinned to one core runs tier-0 (unoptimised) JIT code for most of its first minute
# under load, because the runtime multiplies its tiering delay by 10 when it sees a single CPU; the measurement is of
# the steady state a long-running gateway is in.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${BENCH_SECONDS:-10}
repeats=${BENCH_REPEATS:-3}
warmup=${BENCH_WARMUP:-60}
portkey_version=1.15.2
work=$(mktemp -d)
pids=()
log() { printf '== %s\n' "$*" >&2; }
# shellcheck source=scripts/postgres.sh
. scripts/postgres.sh
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  # Portkey runs in a subshell: its node process is not one of the pids above.
  pkill -f "start-server.js --port=18091" 2>/dev/null || true
  stop_postgres
  rm -rf "$work"
}
trap cleanup EXIT

# 1. Tools: wrk and nginx from Debian, Portkey from npm at a pinned version (kept in bench/.portkey, not committed).
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  log "installing wrk and nginx"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null
  nginx -s stop 2>/dev/null || true
fi
if [ ! -f bench/.portkey/node_modules/@portkey-ai/gateway/build/start-server.js ]; then
  log "installing @portkey-ai/gateway@$portkey_version"
  mkdir -p bench/.portkey
  # A package.json of its own (npm init would take the folder's name, which npm refuses for ".portkey").
  printf '{ "name": "purser-bench-portkey", "private": true }\n' >bench/.portkey/package.json
  (cd bench/.portkey && npm install --no-audit --no-fund "@portkey-ai/gateway@$portkey_version" >/dev/null)
fi

log "building Release"
dotnet build src/Purser.Gateway -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
dotnet build src/Purser.SimulatedProvider -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
gateway_dll=src/Purser.Gateway/bin/Release/net10.0/purser.dll
sim_dll=src/Purser.SimulatedProvider/bin/Release/net10.0/Purser.SimulatedProvider.dll

wait_port() { for _ in $(seq 1 150); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# 2. PostgreSQL for the shared-ledger target: Debian's server with its default durability, moved to CPU 1.
log "postgresql"
start_postgres "-c max_connections=200" >&2
postmaster=$(head -1 "$pg_dir/data/postmaster.pid")
for pid in $postmaster $(pgrep -P "$postmaster"); do taskset -pc 1 "$pid" >/dev/null; done
"$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c "CREATE DATABASE purser_bench;" >/dev/null
pg_ticks() { local t=0 pid; for pid in $postmaster $(pgrep -P "$postmaster"); do t=$((t + $(cpu_ticks "$pid" 2>/dev/null || echo 0))); done; echo "$t"; }
pg_xacts() {
  "$pg_bin/psql" -qtA -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
    -c "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = 'purser_bench'"
}

# 3. The simulated provider: one process; the model name picks instant (out=16) or 20 ms latency.
taskset -c 1 dotnet "$sim_dll" --urls http://127.0.0.1:18089 >"$work/sim.log" 2>&1 & pids+=($!)
wait_port 18089
sim_pid=$(pgrep -f "Purser.SimulatedProvider.dll --urls http://127.0.0.1:18089" | head -1)

# 4. The targets, each on CPU 0.
cat >"$work/nginx.conf" <<EOF
worker_processes 1;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  upstream sim { server 127.0.0.1:18089; keepalive 128; }
  server {
    listen 127.0.0.1:18090;
    location / { proxy_pass http://sim; proxy_http_version 1.1; proxy_set_header Connection ""; proxy_buffering off; }
  }
}
EOF
taskset -c 0 nginx -c "$work/nginx.conf" -p "$work"
nginx_pid=$(cat "$work/nginx.pid"); nginx_pid=$(pgrep -P "$nginx_pid" | head -1)
wait_port 18090

(cd bench/.portkey && taskset -c 0 node node_modules/@portkey-ai/gateway/build/start-server.js --port=18091 --headless >"$work/portkey.log" 2>&1) & pids+=($!)
wait_port 18091
portkey_pid=$(pgrep -f "start-server.js --port=18091" | head -1)

secret=sk-purser-bench-key
hash=$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)
purser_config() { # name port storage-fields [extra-yaml]
  cat >"$work/$1.yaml" <<EOF
server: { listen: "http://127.0.0.1:$2", upstream_timeout_seconds: 60 }
storage: { sqlite_path: $work/$1.db$3 }
providers:
  sim: { kind: openai, base_url: "http://127.0.0.1:18089/v1", api_key: sim }
models:
  bench-instant: { provider: sim, upstream: "sim-chat~out=16", price: { input: 0.5, output: 1.5 } }
  bench-20ms: { provider: sim, upstream: "sim-chat~out=16,latency=20", price: { input: 0.5, output: 1.5 } }
  bench-stream: { provider: sim, upstream: "sim-chat~out=64,tps=1000", price: { input: 0.5, output: 1.5 } }
keys:
  - { id: bench, hash: "sha256:$hash" }
budgets:
  - { id: bench-daily, scope: "key:bench", window: daily, cap_usd: 1000000, mode: reserve }
${4:-}
EOF
}
purser_config purser-sqlite 18092 ", leases: false"
# The default configuration: no ledger option at all (leases on SQLite).
purser_config purser-default 18093 ""
# The budget-only row's twin with one rate limit on the key too (never reached): the limiter's cost per request.
purser_config purser-sqlite-ratelimit 18095 ", leases: false" 'rate_limits: [{ id: bench-rl, scope: "key:bench", requests_per_minute: 1000000000, tokens_per_minute: 1000000000000, max_concurrent: 100000 }]'
purser_config purser-pg 18094 ", postgres: \"Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=purser_bench\""
# The native binary (scripts/publish-native.sh; BENCH_NATIVE names another path) in the default configuration: a row of
# its own when the binary is there, none otherwise (publishing it takes minutes, so the benchmark does not do it).
native_bin=${BENCH_NATIVE:-artifacts/native/purser}
purser_config purser-native 18096 ""
declare -A port_of_purser=([purser-sqlite]=18092 [purser-default]=18093 [purser-pg]=18094 [purser-sqlite-ratelimit]=18095 [purser-native]=18096)
declare -A purser_pid idle
purser_names=(purser-sqlite purser-sqlite-ratelimit purser-default purser-pg)
if [ -x "$native_bin" ]; then purser_names+=(purser-native); else log "no native binary at $native_bin: no purser-native row"; fi
for name in "${purser_names[@]}"; do
  if [ "$name" = purser-native ]; then gateway=("$native_bin"); else gateway=(dotnet "$gateway_dll"); fi
  taskset -c 0 "${gateway[@]}" serve --config "$work/$name.yaml" >"$work/$name.log" 2>&1 & pids+=($!)
  purser_pid[$name]=$!
  wait_port "${port_of_purser[$name]}"
  sleep 1
  idle[$name]=$(rss_kib "${purser_pid[$name]}")
done
idle[direct]=$(rss_kib "$sim_pid"); idle[nginx]=$(rss_kib "$nginx_pid"); idle[portkey]=$(rss_kib "$portkey_pid")

targets=(direct nginx portkey "${purser_names[@]}")
url_of() {
  case $1 in
    direct) echo http://127.0.0.1:18089;; nginx) echo http://127.0.0.1:18090;; portkey) echo http://127.0.0.1:18091;;
    *) echo "http://127.0.0.1:${port_of_purser[$1]}";;
  esac
}
pid_of() { case $1 in direct) echo "$sim_pid";; nginx) echo "$nginx_pid";; portkey) echo "$portkey_pid";; *) echo "${purser_pid[$1]}";; esac; }
headers_of() {
  case $1 in
    direct|nginx) echo "Authorization: Bearer sim";;
    portkey) echo "Authorization: Bearer sim|x-portkey-provider: openai|x-portkey-custom-host: http://127.0.0.1:18089/v1";;
    *) echo "Authorization: Bearer $secret";;
  esac
}
model_of() { # $1 target, $2 mode
  case $1 in purser*) echo "bench-$2";; *) if [ "$2" = instant ]; then echo "sim-chat~out=16"; else echo "sim-chat~out=16,latency=20"; fi;; esac
}
body_of() { printf '{"model":"%s","max_tokens":64,"messages":[{"role":"user","content":"Say something short about budgets."}]}' "$(model_of "$1" "$2")"; }

# One wrk run: prints "rps p50_us p99_us requests errors".
run_wrk() { # target mode connections seconds
  local out
  out=$(BENCH_BODY=$(body_of "$1" "$2") BENCH_HEADERS=$(headers_of "$1") \
    taskset -c 1 wrk -t1 -c"$3" -d"$4"s --latency -s bench/post.lua "$(url_of "$1")/v1/chat/completions" 2>&1)
  awk -v out="$out" 'BEGIN {
      n = split(out, lines, "\n"); rps = 0; p50 = 0; p99 = 0; reqs = 0; errs = 0
      for (i = 1; i <= n; i++) {
        split(lines[i], f, " ")
        if (lines[i] ~ /Requests\/sec/) rps = f[2]
        if (f[1] == "50%") p50 = f[2]
        if (f[1] == "99%") p99 = f[2]
        if (lines[i] ~ /requests in/) reqs = f[1]
        if (lines[i] ~ /Non-2xx/) errs += f[5]
        if (lines[i] ~ /Socket errors/) { gsub(",", "", lines[i]); split(lines[i], s, " "); errs += s[4] + s[6] + s[8] + s[10] }
      }
      printf "%s %s %s %s %s\n", rps, us(p50), us(p99), reqs, errs
    }
    function us(v) { if (v ~ /us$/) return v + 0; if (v ~ /ms$/) return v * 1000; if (v ~ /s$/) return v * 1000000; return v }'
}
per_request_us() { awk -v t="$1" -v n="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz / n * 1e6 }'; }

log "warm-up: ${warmup}s per target"
for target in "${targets[@]}"; do run_wrk "$target" instant 8 "$warmup" >/dev/null; done

declare -A rps p50 p99 errors cpu dbcpu dbx
log "load: ${seconds}s per point, $repeats repeat(s), targets alternating"
for repeat in $(seq 1 "$repeats"); do
  for mode in instant 20ms; do
    for target in "${targets[@]}"; do
      run_wrk "$target" "$mode" 8 2 >/dev/null
      for c in 1 8 64; do
        pid=$(pid_of "$target"); before=$(cpu_ticks "$pid")
        if [ "$target" = purser-pg ] && [ "$c" = 8 ]; then sleep 1.5; db_before=$(pg_ticks); x_before=$(pg_xacts); fi
        read -r r a b n e < <(run_wrk "$target" "$mode" "$c" "$seconds")
        after=$(cpu_ticks "$pid")
        key="$target/$mode/$c"
        rps[$key]="${rps[$key]:-} $r"; p50[$key]="${p50[$key]:-} $a"; p99[$key]="${p99[$key]:-} $b"
        errors[$key]=$(( ${errors[$key]:-0} + ${e%.*} ))
        if [ "$c" = 8 ] && [ "${n:-0}" != 0 ]; then
          cpu[$key]="${cpu[$key]:-} $(per_request_us $((after - before)) "$n")"
          if [ "$target" = purser-pg ]; then
            # PostgreSQL's statistics reach pg_stat_database within a second of a transaction ending.
            sleep 1.5
            dbcpu[$key]="${dbcpu[$key]:-} $(per_request_us $(( $(pg_ticks) - db_before )) "$n")"
            dbx[$key]="${dbx[$key]:-} $(awk -v a="$(pg_xacts)" -v b="$x_before" -v n="$n" 'BEGIN { printf "%.4f", (a - b) / n }')"
          fi
        fi
      done
    done
  done
done
declare -A steady
for target in "${targets[@]}"; do steady[$target]=$(rss_kib "$(pid_of "$target")"); done

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR] = $1} END { if (NR == 0) print "n/a"; else print a[int((NR + 1) / 2)] }'; }

# 5. Streams: 64 chunks per response (tps=1000 pacing), TTFT and inter-chunk gaps at one connection, then 256 at once.
log "streams"
stream_json() { # target
  local model=sim-chat~out=64,tps=1000 headers
  case $1 in purser*) model=bench-stream;; esac
  case $1 in
    direct|nginx) headers='{"authorization":"Bearer sim"}';;
    portkey) headers='{"authorization":"Bearer sim","x-portkey-provider":"openai","x-portkey-custom-host":"http://127.0.0.1:18089/v1"}';;
    *) headers="{\"authorization\":\"Bearer $secret\"}";;
  esac
  taskset -c 1 node bench/stream.mjs "$(url_of "$1")/v1/chat/completions" "$headers" \
    "{\"model\":\"$model\",\"stream\":true,\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"stream\"}]}" 200 256
}
declare -A streams
for target in "${targets[@]}"; do streams[$target]=$(stream_json "$target" || echo '{}'); done
field() { node -e "const j=JSON.parse(process.argv[1]); const v=j[process.argv[2]]; console.log(typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(2)) : 'n/a')" "$1" "$2"; }
added_ms_as_us() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a") print "n/a"; else printf "%.0f", (a - b) * 1000 }'; }

# 6. The table.
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
out="bench/results/$stamp.md"
commit=$(git rev-parse --short HEAD)
dirty=""; git diff --quiet HEAD -- src bench scripts || dirty=" + uncommitted changes"
{
  echo "# Purser overhead benchmark — $stamp (commit $commit$dirty)"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -sr); .NET $(dotnet --version), nginx $(nginx -v 2>&1 | cut -d/ -f2), Portkey $portkey_version on Node $(node --version), PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}'), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')."
  echo "Command: \`BENCH_SECONDS=$seconds BENCH_REPEATS=$repeats BENCH_WARMUP=$warmup bench/run.sh\`. Proxy under test on CPU 0; provider, load generator and PostgreSQL on CPU 1 (taskset)."
  echo "Load: \`wrk -t1 -c{1,8,64} -d${seconds}s --latency\` (keep-alive; exact percentiles), a chat completion with max_tokens 64 (16 output tokens from the simulator); every target first warmed for ${warmup}s, then 2s before each point; median of $repeats alternating repeats."
  echo "Purser: one virtual key, a daily budget in reserve mode on the key, usage records on. purser-default: the default configuration (SQLite, no ledger option: leases on the embedded SQLite ledger); purser-sqlite: the embedded SQLite ledger with \`storage.leases: false\`, a hold and a settlement (two write transactions) per request; purser-sqlite-ratelimit: the same plus one rate limit on the key (requests, tokens, concurrency; never reached); purser-pg: the shared PostgreSQL ledger with leases (its default), usage records in PostgreSQL; purser-native (when \`artifacts/native/purser\` was published): the default configuration served by the NativeAOT binary."
  echo
  for mode in instant 20ms; do
    echo "## Provider $mode"
    echo
    echo "| target | rps @1 | p99 @1 (µs) | rps @8 | p99 @8 (µs) | rps @64 | p99 @64 (µs) | added p50 @1 (µs) | added p99 @1 (µs) | CPU/request @8 (µs) | failed |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
    base50=$(median "${p50[direct/$mode/1]}"); base99=$(median "${p99[direct/$mode/1]}")
    for target in "${targets[@]}"; do
      m50=$(median "${p50[$target/$mode/1]}"); m99=$(median "${p99[$target/$mode/1]}")
      added50=$(awk -v a="$m50" -v b="$base50" 'BEGIN { printf "%.0f", a - b }'); added99=$(awk -v a="$m99" -v b="$base99" 'BEGIN { printf "%.0f", a - b }')
      [ "$target" = direct ] && added50="—" && added99="—"
      failed=$(( ${errors[$target/$mode/1]:-0} + ${errors[$target/$mode/8]:-0} + ${errors[$target/$mode/64]:-0} ))
      echo "| $target | $(median "${rps[$target/$mode/1]}") | $(median "${p99[$target/$mode/1]}") | $(median "${rps[$target/$mode/8]}") | $(median "${p99[$target/$mode/8]}") | $(median "${rps[$target/$mode/64]}") | $(median "${p99[$target/$mode/64]}") | $added50 | $added99 | $(median "${cpu[$target/$mode/8]:-}") | $failed |"
    done
    echo
    echo "purser-pg at 8 connections: PostgreSQL CPU $(median "${dbcpu[purser-pg/$mode/8]:-}") µs per request (all its processes, on CPU 1, not included above); $(median "${dbx[purser-pg/$mode/8]:-}") PostgreSQL transactions per request (pg_stat_database: lease reads, holds and settlements, usage batches, expiry passes; each is 1–3 round trips)."
    echo
  done
  echo "## Streams (64 chunks, 1,000 tokens/s) and memory"
  echo
  echo "| target | TTFT p50 (ms) | TTFT p99 (ms) | added TTFT p99 (µs) | inter-chunk gap p99 (ms) | concurrent streams complete | idle RSS (MiB) | steady RSS (MiB) |"
  echo "|---|---|---|---|---|---|---|---|"
  d99=$(field "${streams[direct]}" ttft_p99)
  for target in "${targets[@]}"; do
    j=${streams[$target]}
    t99=$(field "$j" ttft_p99); added="—"
    [ "$target" != direct ] && added=$(added_ms_as_us "$t99" "$d99")
    echo "| $target | $(field "$j" ttft_p50) | $t99 | $added | $(field "$j" gap_p99) | $(field "$j" complete)/$(field "$j" concurrent) | $((${idle[$target]} / 1024)) | $((${steady[$target]} / 1024)) |"
  done
  echo
  echo "A stream row of n/a and 0 complete means the target failed every streamed request (Portkey $portkey_version on this machine's Node $(node --version) answers streams with 500 \"TypeError: immutable\")."
  echo "\"direct\" is the simulated provider itself (its RSS is the provider's). Added latency is the target's p50/p99 at one connection minus direct's. Idle RSS is measured a second after start-up, before the first request."
} >"$out"
cat "$out"
log "wrote $out"
