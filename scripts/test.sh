#!/usr/bin/env bash
# Runs every test of the repository on a machine that has only the .NET SDK.
# It installs and starts what the tests need, runs the suite, and prints one summary line:
# "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

# shellcheck source=scripts/postgres.sh
. scripts/postgres.sh
results="$(mktemp -d)"

cleanup() {
  stop_postgres
  rm -rf "$results"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

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

log "native binary"
# The NativeAOT build (scripts/publish-native.sh; several minutes, the native compile always reruns) for
# NativeBinarySmokeTests. A failed publish does not stop the suite: the stale binary is removed first, so the smoke
# test fails, saying the file is missing, and the rest still runs.
native_started=$SECONDS
native="$PWD/artifacts/native/purser"
rm -f "$native"
scripts/publish-native.sh "$(dirname "$native")" >/dev/null || echo "the native publish failed (NativeBinarySmokeTests will fail)" >&2
echo "native publish: $((SECONDS - native_started)) s"
export PURSER_NATIVE_BINARY="$native"

log "postgresql"
# Durability off: the data is deleted at the end.
start_postgres "-c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
create_test_database

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
