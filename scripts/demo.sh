#!/usr/bin/env bash
# Sets up .venv and runs Gaib's main job on the embedded defaults in ./demo
# (local state folder, SQLite catalog, the bundled Discord emulator).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh
root="$PWD"
demo="$root/demo"
rm -rf "$demo" && mkdir -p "$demo" && cd "$demo"
gaib() { "$root/.venv/bin/gaib" "$@"; }
echo "== $(gaib --version)"
echo "== workspaces"
gaib server workspace new staging
gaib server workspace use default
gaib server workspace ls
gaib server workspace show
