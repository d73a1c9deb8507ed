#!/usr/bin/env bash
# Publishes the purser command as one native linux-x64 executable (NativeAOT): no .NET runtime needed to run it, no
# JIT at start, about a third of the JIT build's idle memory (docs/design.md, "The native binary"). Needs the .NET 10
# SDK and clang (the ILCompiler packages restore like any other). The SQLite library is linked into the binary, so the
# file is all an operator installs. Trimming and AOT warnings are errors, as in every build.
#   Usage: scripts/publish-native.sh [OUTPUT_DIR]   (default: artifacts/native; prints the binary's path)
# Re-running it is incremental (obj/ keeps the compiled assemblies; the native compile itself always reruns).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/artifacts/native}"

dotnet publish "$root/src/Purser.Gateway/Purser.Gateway.csproj" --nologo -v quiet -c Release -r linux-x64 \
  -p:PublishAot=true -p:GenerateDocumentationFile=false -o "$out" >&2
echo "$out/purser"
