#!/usr/bin/env bash
# Sourced by scripts/test.sh and bench/run.sh: a throwaway PostgreSQL from Debian's packages, on 127.0.0.1 only.
pg_dir=""
pg_bin=""
pg_options=""
pg_port=""

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

# A throwaway cluster in a temporary directory on a free loopback port, with its unix socket there too; $1 adds server
# options (the tests switch durability off). Sets pg_port, pg_dir, pg_bin, pg_options.
start_postgres() {
  local extra=${1:-}
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
    pg_options="-c listen_addresses=127.0.0.1 -p $port -k $pg_dir $extra"
    if as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/server.log" -w -t 30 -o "$pg_options" start >/dev/null; then
      break
    fi
    port=""
  done
  [ -n "$port" ] || { cat "$pg_dir/server.log" >&2; echo "could not start PostgreSQL" >&2; exit 1; }

  pg_port=$port
  echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port ($((SECONDS - started)) s)"
}

# The tests' database, and what they need to stop and restart the server mid-load. Exports PURSER_TEST_POSTGRES.
create_test_database() {
  # An ICU (en-US) default collation when the server has ICU, as production databases usually have a linguistic
  # one: the ledger's "C"-collated keys must work under it.
  "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 \
    -c "CREATE DATABASE purser_test TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8';" >/dev/null 2>&1 \
    || "$pg_bin/psql" -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE purser_test;" >/dev/null
  export PURSER_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=purser_test"

  # For the tests that stop and restart the server mid-load (fail-closed, then recovery): its data directory, pg_ctl,
  # and the user pg_ctl must run as ("" when this script is not root and the server runs as the current user).
  export PURSER_TEST_POSTGRES_DATA="$pg_dir/data"
  export PURSER_TEST_PG_CTL="$pg_bin/pg_ctl"
  export PURSER_TEST_PG_OPTIONS="$pg_options"
  if [ "$(id -u)" -eq 0 ]; then export PURSER_TEST_PG_USER=postgres; else export PURSER_TEST_PG_USER=""; fi
}

stop_postgres() {
  if [ -n "$pg_dir" ] && [ -f "$pg_dir/data/postmaster.pid" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  [ -n "$pg_dir" ] && rm -rf "$pg_dir"
  pg_dir=""
}
