#!/usr/bin/env bash
# The overhead benchmark: the simulated provider directly, nginx proxy_pass, the Portkey open-source gateway and
# Purser (a key, a reserve-mode budget, usage records on), side by side in one run, alternating targets over repeats.
# Writes a markdown table to bench/results/. Every server binds 127.0.0.1 and every load is bounded in time.
#
#   bench/run.sh            full run (BENCH_SECONDS=10 per point, BENCH_REPEATS=3)
#   BENCH_SECONDS=3 BENCH_REPEATS=1 bench/run.sh     a quick smoke run
#
# Placement (2 cores): the proxy under test on CPU 0; the simulated provider and the load generator on CPU 1, the same
# for every target, so "added" figures compare like with like.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
seconds=${BENCH_SECONDS:-10}
repeats=${BENCH_REPEATS:-3}
portkey_version=1.15.2
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$work/nginx.pid" ] && kill "$(cat "$work/nginx.pid")" 2>/dev/null || true
  # Portkey runs in a subshell: its node process is not one of the pids above.
  pkill -f "start-server.js --port=18091" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
log() { printf '== %s\n' "$*" >&2; }

# 1. Tools: wrk and nginx from Debian, Portkey from npm at a pinned version (kept in bench/.portkey, not committed).
if ! command -v wrk >/dev/null || ! command -v nginx >/dev/null; then
  log "installing wrk and nginx"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx-light >/dev/null
  nginx -s stop 2>/dev/null || true
fi
if [ ! -f bench/.portkey/node_modules/@portkey-ai/gateway/build/start-server.js ]; then
  log "installing @portkey-ai/gateway@$portkey_version"
  mkdir -p bench/.portkey
  (cd bench/.portkey && npm init -y >/dev/null && npm install --no-audit --no-fund "@portkey-ai/gateway@$portkey_version" >/dev/null)
fi

log "building Release"
dotnet build src/Purser.Gateway -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null
gateway_dll=src/Purser.Gateway/bin/Release/net10.0/purser.dll
sim_dll=src/Purser.SimulatedProvider/bin/Release/net10.0/Purser.SimulatedProvider.dll

wait_port() { for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; return 1; }
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# 2. The simulated provider: one process; the model name picks instant (out=16) or 20 ms latency.
taskset -c 1 dotnet "$sim_dll" --urls http://127.0.0.1:18089 >"$work/sim.log" 2>&1 & pids+=($!)
wait_port 18089

# 3. The targets, each on CPU 0.
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
cat >"$work/purser.yaml" <<EOF
server: { listen: "http://127.0.0.1:18092", upstream_timeout_seconds: 60 }
storage: { sqlite_path: $work/purser.db }
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
EOF
DOTNET_gcServer=0 taskset -c 0 dotnet "$gateway_dll" serve --config "$work/purser.yaml" >"$work/purser.log" 2>&1 & pids+=($!)
wait_port 18092
purser_pid=$!
sim_pid=$(pgrep -f "Purser.SimulatedProvider.dll --urls http://127.0.0.1:18089" | head -1)
idle_purser=$(rss_kib "$purser_pid"); idle_nginx=$(rss_kib "$nginx_pid"); idle_portkey=$(rss_kib "$portkey_pid"); idle_sim=$(rss_kib "$sim_pid")

# Per target: base URL, model names as it sees them, extra headers.
url_of() { case $1 in direct) echo http://127.0.0.1:18089;; nginx) echo http://127.0.0.1:18090;; portkey) echo http://127.0.0.1:18091;; purser) echo http://127.0.0.1:18092;; esac; }
pid_of() { case $1 in direct) echo "$sim_pid";; nginx) echo "$nginx_pid";; portkey) echo "$portkey_pid";; purser) echo "$purser_pid";; esac; }
headers_of() {
  case $1 in
    direct|nginx) echo "Authorization: Bearer sim";;
    portkey) echo "Authorization: Bearer sim|x-portkey-provider: openai|x-portkey-custom-host: http://127.0.0.1:18089/v1";;
    purser) echo "Authorization: Bearer $secret";;
  esac
}
model_of() { # $1 target, $2 mode
  case $1 in purser) echo "bench-$2";; *) if [ "$2" = instant ]; then echo "sim-chat~out=16"; else echo "sim-chat~out=16,latency=20"; fi;; esac
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

targets=(direct nginx portkey purser)
declare -A rps p50 p99 errors cpu
log "load: ${seconds}s per point, $repeats repeat(s), targets alternating"
for repeat in $(seq 1 "$repeats"); do
  for mode in instant 20ms; do
    for target in "${targets[@]}"; do
      run_wrk "$target" "$mode" 8 2 >/dev/null # warm-up
      for c in 1 8 64; do
        pid=$(pid_of "$target"); before=$(cpu_ticks "$pid")
        read -r r a b n e < <(run_wrk "$target" "$mode" "$c" "$seconds")
        after=$(cpu_ticks "$pid")
        key="$target/$mode/$c"
        rps[$key]="${rps[$key]:-} $r"; p50[$key]="${p50[$key]:-} $a"; p99[$key]="${p99[$key]:-} $b"
        errors[$key]=$(( ${errors[$key]:-0} + ${e%.*} ))
        if [ "$c" = 8 ] && [ "${n:-0}" != 0 ]; then
          cpu[$key]="${cpu[$key]:-} $(awk -v t=$((after - before)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz / n * 1e6 }')"
        fi
      done
    done
  done
done
steady_purser=$(rss_kib "$purser_pid"); steady_nginx=$(rss_kib "$nginx_pid"); steady_portkey=$(rss_kib "$portkey_pid"); steady_sim=$(rss_kib "$sim_pid")

median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR] = $1} END { if (NR == 0) print "n/a"; else print a[int((NR + 1) / 2)] }'; }

# Streams: 64 chunks per response (tps=1000 pacing), TTFT and inter-chunk gaps at one connection, then 256 at once.
log "streams"
stream_json() { # target
  local model=sim-chat~out=64,tps=1000
  [ "$1" = purser ] && model=bench-stream
  local headers
  case $1 in
    direct|nginx) headers='{"authorization":"Bearer sim"}';;
    portkey) headers='{"authorization":"Bearer sim","x-portkey-provider":"openai","x-portkey-custom-host":"http://127.0.0.1:18089/v1"}';;
    purser) headers="{\"authorization\":\"Bearer $secret\"}";;
  esac
  taskset -c 1 node bench/stream.mjs "$(url_of "$1")/v1/chat/completions" "$headers" \
    "{\"model\":\"$model\",\"stream\":true,\"max_tokens\":100,\"messages\":[{\"role\":\"user\",\"content\":\"stream\"}]}" 100 256
}
declare -A streams
for target in "${targets[@]}"; do streams[$target]=$(stream_json "$target" || echo '{}'); done
field() { node -e "const j=JSON.parse(process.argv[1]); const v=j[process.argv[2]]; console.log(typeof v === 'number' ? (Number.isInteger(v) ? v : v.toFixed(2)) : 'n/a')" "$1" "$2"; }

# 4. The table.
stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
out="bench/results/$stamp.md"
commit=$(git rev-parse --short HEAD)
{
  echo "# Purser overhead benchmark — $stamp (commit $commit)"
  echo
  echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -sr); .NET $(dotnet --version), nginx $(nginx -v 2>&1 | cut -d/ -f2), Portkey $portkey_version, wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')."
  echo "Command: \`BENCH_SECONDS=$seconds BENCH_REPEATS=$repeats bench/run.sh\`. Proxy under test on CPU 0; provider and load generator on CPU 1 (taskset)."
  echo "Load: \`wrk -t1 -c{1,8,64} -d${seconds}s --latency\`, a chat completion with max_tokens 64 (16 output tokens from the simulator), median of $repeats alternating repeats."
  echo "Purser: SQLite store, one virtual key, a daily budget in reserve mode on the key, usage records on. PostgreSQL rows: not yet in this harness (the PostgreSQL store and leases exist; wiring them into the bench is next)."
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
  done
  echo "## Streams (64 chunks, 1,000 tokens/s) and memory"
  echo
  echo "| target | TTFT p50 (ms) | TTFT p99 (ms) | inter-chunk gap p99 (ms) | concurrent streams complete | idle RSS (MiB) | steady RSS (MiB) |"
  echo "|---|---|---|---|---|---|---|"
  for target in "${targets[@]}"; do
    case $target in direct) i=$idle_sim; s=$steady_sim;; nginx) i=$idle_nginx; s=$steady_nginx;; portkey) i=$idle_portkey; s=$steady_portkey;; purser) i=$idle_purser; s=$steady_purser;; esac
    j=${streams[$target]}
    echo "| $target | $(field "$j" ttft_p50) | $(field "$j" ttft_p99) | $(field "$j" gap_p99) | $(field "$j" complete)/$(field "$j" concurrent) | $((i / 1024)) | $((s / 1024)) |"
  done
  echo
  echo "A stream row of n/a and 0 complete means the target failed every streamed request (Portkey $portkey_version on this machine's Node $(node --version) answers streams with 500 \"TypeError: immutable\")."
  echo "\"direct\" is the simulated provider itself (its RSS is the provider's). Added latency is the target's p50/p99 at one connection minus direct's."
} >"$out"
cat "$out"
log "wrote $out"
