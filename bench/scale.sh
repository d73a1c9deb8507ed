#!/usr/bin/env bash
# The scale benchmark (issue 18): N gateway ledgers in one process — each the production stack, a lease ledger over the
# PostgreSQL ledger with a connection pool of its own — sharing one private PostgreSQL and one key, team and org budget
# (reserve mode), driven far from, towards and past the caps by a seeded, count- and time-bounded request loop. Writes
# a markdown table to bench/results/scale-<timestamp>.md; exits non-zero when a run overshot a cap or left spent ≠ Σ
# settled costs. Everything binds 127.0.0.1.
#
#   bench/scale.sh                 16 and 64 instances, 100000 requests or 150 s each, with the default lease size and
#                                  with storage.lease_max_usd: 10 and 30 (about 20 minutes)
#   SCALE_INSTANCES=16 SCALE_REQUESTS=20000 SCALE_LEASES=default bench/scale.sh        a quick run
#   SCALE_ARGS="--concurrency 8" bench/scale.sh                           more driver options (see Program.cs)
set -euo pipefail
cd "$(dirname "$0")/.."
instances=${SCALE_INSTANCES:-16,64}
requests=${SCALE_REQUESTS:-100000}
seconds=${SCALE_SECONDS:-150}
leases=${SCALE_LEASES:-default 10 30}
extra=${SCALE_ARGS:-}
work=$(mktemp -d)
log() { printf '== %s\n' "$*" >&2; }
# shellcheck source=scripts/postgres.sh
. scripts/postgres.sh
cleanup() {
  stop_postgres
  rm -rf "$work"
}
trap cleanup EXIT

log "building Release"
dotnet build bench/Purser.Bench.Scale -c Release -nologo -v quiet -clp:ErrorsOnly >/dev/null

# Debian's server with its default durability (as bench/run.sh); 64 instances × 8 pooled connections fit.
log "postgresql"
start_postgres "-c max_connections=800" >&2
"$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c "CREATE DATABASE purser_bench;" >/dev/null
connection="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=purser_bench"

stamp=$(date -u +%Y-%m-%dT%H%M%SZ)
args=(--instances "$instances" --requests "$requests" --seconds "$seconds" --cap-percent 90)
# shellcheck disable=SC2206
[ -n "$extra" ] && args+=($extra)
status=0
: >"$work/tables.md"
for lease in $leases; do
  run_args=("${args[@]}")
  if [ "$lease" = default ]; then
    printf '## Default lease size (storage.lease_max_usd unset: $1)\n\n' >>"$work/tables.md"
  else
    run_args+=(--lease-max-usd "$lease")
    printf '## storage.lease_max_usd: %s\n\n' "$lease" >>"$work/tables.md"
  fi
  log "running ${run_args[*]}"
  set +e
  dotnet bench/Purser.Bench.Scale/bin/Release/net10.0/Purser.Bench.Scale.dll --postgres "$connection" "${run_args[@]}" >>"$work/tables.md"
  run_status=$?
  set -e
  [ "$run_status" -eq 0 ] || status=$run_status
done

mkdir -p bench/results
out="bench/results/scale-$stamp.md"
{
  echo "# Purser scale benchmark — $stamp (commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown))"
  echo
  echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr); .NET $(dotnet --version), PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') (default durability)."
  echo "Command: \`SCALE_INSTANCES=$instances SCALE_REQUESTS=$requests SCALE_SECONDS=$seconds SCALE_LEASES=\"$leases\" SCALE_ARGS=\"$extra\" bench/scale.sh\`."
  echo "The machine was shared with other work (builds, tests) during the run: latencies are noisy, and so, through the database's latency under contention, is the number of requests that pass through; the invariants are not timing-sensitive."
  echo "Driver: \`${args[*]}\`; defaults: 4 request loops per instance, a pool of 8 connections per instance, worst cases log-uniform \$0.001–\$0.05"
  echo "(W = \$0.05; mean actual cost about \$0.0066), actual costs 5–100 % of them, 0–5 ms upstream time, seed 18; key cap 0.9 × the planned"
  echo "requests' actual costs, team 1.25×, org 1.5× it; every request reserves on all three."
  echo "Phases by the driver's exact shadow account (room under the key cap): start (the first 10 requests per loop), away ≥ cap/2, near ≥ 100 W, closing ≥ W, past < W."
  echo "False refusal: refused although the room (cap − settled costs − worst cases granted or in admission, its own included) stayed ≥ 0 throughout its admission call."
  echo "Ledger transactions/request: the instances' calls on the PostgreSQL ledger (each one transaction), counted by phase."
  echo "PostgreSQL transactions: pg_stat_database over the whole run (start-up to shutdown, the driver's own reads left out)."
  echo
  cat "$work/tables.md"
} >"$out"
log "wrote $out"
cat "$out"
exit "$status"
