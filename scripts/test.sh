#!/usr/bin/env bash
# Runs every test of the repository on a machine that has only the .NET SDK.
# It installs and starts what the tests need, runs the suite, and prints one summary line:
# "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

results="$(mktemp -d)"
pg_dir=""
pg_bin=""
pg_options=""

cleanup() {
  if [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ -n "$pg_dir" ] && rm -rf "$pg_dir"
  rm -rf "$results"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# PostgreSQL refuses to run as root: as root the server runs as the "postgres" system user.
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# The directory of pg_ctl/initdb: on the PATH, else Debian's versioned directory (highest version), else installed.
find_pg_bin() {
  if command -v pg_ctl >/dev/null 2>&1 && command -v initdb >/dev/null 2>&1; then
    dirname "$(readlink -f "$(command -v pg_ctl)")"
    return
  fi
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; fi
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# A throwaway cluster in a temporary directory on a free loopback port, with its unix socket there too; durability
# is switched off because the data is deleted at the end. Exports PURSER_TEST_POSTGRES for the tests.
start_postgres() {
  local started=$SECONDS
  pg_bin="$(find_pg_bin)"
  if [ -z "$pg_bin" ]; then
    if [ "$(id -u)" -ne 0 ]; then
      echo "PostgreSQL is not installed: run 'sudo apt-get install -y postgresql' (or run this script as root)" >&2
      exit 1
    fi
    log "install postgresql"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql >/dev/null
    pg_bin="$(find_pg_bin)"
    [ -n "$pg_bin" ] || { echo "postgresql was installed but initdb/pg_ctl were not found" >&2; exit 1; }
  fi
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --no-create-home --shell /usr/sbin/nologin postgres
  fi

  # Under /tmp, not $TMPDIR: the postgres user must be able to reach it.
  pg_dir="$(mktemp -d /tmp/purser-pg.XXXXXX)"
  chmod 755 "$pg_dir"
  [ "$(id -u)" -eq 0 ] && chown postgres "$pg_dir"
  as_pg "$pg_bin/initdb" -D "$pg_dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$pg_dir/initdb.log" 2>&1 \
    || { cat "$pg_dir/initdb.log" >&2; exit 1; }

  local port attempt
  for attempt in $(seq 1 20); do
    port=$(( 20000 + RANDOM % 40000 ))
    port_free "$port" || continue
    pg_options="-c listen_addresses=127.0.0.1 -p $port -k $pg_dir -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    if as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 30 -o "$pg_options" start >/dev/null; then
      break
    fi
    port=""
  done
  [ -n "$port" ] || { cat "$pg_dir/server.log" >&2; echo "could not start PostgreSQL" >&2; exit 1; }

  # An ICU (en-US) default collation when the server has ICU, as production databases usually have a linguistic
  # one: the ledger's "C"-collated keys must work under it.
  "$pg_bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE purser_test TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8';" >/dev/null 2>&1 \
    || "$pg_bin/psql" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE purser_test;" >/dev/null
  export PURSER_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=purser_test"

  # For the tests that stop and restart the server mid-load (fail-closed, then recovery): its data directory, pg_ctl,
  # and the user pg_ctl must run as ("" when this script is not root and the server runs as the current user).
  export PURSER_TEST_POSTGRES_DATA="$pg_dir/data"
  export PURSER_TEST_PG_CTL="$pg_bin/pg_ctl"
  export PURSER_TEST_PG_OPTIONS="$pg_options"
  if [ "$(id -u)" -eq 0 ]; then export PURSER_TEST_PG_USER=postgres; else export PURSER_TEST_PG_USER=""; fi
  echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($((SECONDS - started)) s)"
}

# The dashboard's browser tests drive Debian's Chromium through Playwright (Playwright's own browser download is
# never used), so the distribution's package is installed when it is missing.
ensure_chromium() {
  [ -x /usr/bin/chromium ] && return
  if [ "$(id -u)" -ne 0 ]; then
    echo "Chromium is not installed: run 'sudo apt-get install -y chromium' (or run this script as root)" >&2
    exit 1
  fi
  log "install chromium"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  [ -x /usr/bin/chromium ] || { echo "chromium was installed but /usr/bin/chromium was not found" >&2; exit 1; }
}

log "chromium"
ensure_chromium
/usr/bin/chromium --version 2>/dev/null || true

log "build"
dotnet build Purser.slnx -c Release -nologo -v quiet -clp:ErrorsOnly

log "postgresql"
start_postgres

log "test"
set +e
dotnet test Purser.slnx -c Release --no-build -nologo -v quiet --logger "console;verbosity=minimal" \
  --results-directory "$results" 2>&1 | tee "$results/out.txt"
status=${PIPESTATUS[0]}
set -e

read -r passed failed skipped < <(awk '/^(Passed|Failed)!/ {
    for (i = 1; i <= NF; i++) {
      if ($i == "Passed:") p += $(i + 1); if ($i == "Failed:") f += $(i + 1); if ($i == "Skipped:") s += $(i + 1)
    }
  } END { printf "%d %d %d\n", p, f, s }' "$results/out.txt")
grep -E '^(Passed|Failed)!' "$results/out.txt" || true
echo
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
if [ "$status" -ne 0 ] || [ "${failed:-0}" -ne 0 ] || [ "${passed:-0}" -eq 0 ]; then
  exit 1
fi
