#!/usr/bin/env bash
# Runs every test of the repository on a machine that has only the .NET SDK.
# It installs and starts what the tests need, runs the suite, and prints one summary line:
# "N passed, M failed".
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\n== %s\n' "$*"; }

results="$(mktemp -d)"
trap 'rm -rf "$results"' EXIT

log "build"
dotnet build Purser.slnx -c Release -nologo -v quiet -clp:ErrorsOnly

log "test"
set +e
dotnet test Purser.slnx -c Release --no-build -nologo -v quiet \
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
