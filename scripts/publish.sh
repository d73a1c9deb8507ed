#!/usr/bin/env bash
# Publishes the purser command as one self-contained linux-x64 executable: no .NET runtime is needed to run it
# (publishing needs the .NET 10 SDK). Usage: scripts/publish.sh [OUTPUT_DIR]   (default: artifacts/publish)
# Install it onto PATH with:  install -D -m 755 artifacts/publish/purser ~/.local/bin/purser
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/artifacts/publish}"

# Single file: the managed assemblies are bundled, and the native ones (SQLite) are extracted on first run to
# $DOTNET_BUNDLE_EXTRACT_BASE_DIR (default ~/.net). Symbols are left out: the binary is what an operator installs.
dotnet publish "$root/src/Purser.Gateway/Purser.Gateway.csproj" --nologo -c Release -r linux-x64 --self-contained true \
  -p:PublishSingleFile=true -p:IncludeNativeLibrariesForSelfExtract=true -p:DebugType=none -p:GenerateDocumentationFile=false \
  -o "$out" >&2
echo "$out/purser"
