#!/usr/bin/env bash
# Creates .venv (if missing) and installs gaib into it from the dependency lock, every file checked against
# the lock's hashes: requirements/runtime.txt (the runtime with the aws extra) or, with `dev`,
# requirements/dev.txt (plus tests, linters and tools), then gaib itself in editable mode without
# dependencies. Idempotent and fast: a stamp holds the hash of the lock and pyproject.toml, and nothing is
# installed while both are unchanged. Refresh the locks with scripts/lock.sh.
# Usage: scripts/bootstrap.sh [dev]     Env: PYTHON (default python3) creates the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
case "$extras" in
  "") lock=requirements/runtime.txt ;;
  dev) lock=requirements/dev.txt ;;
  *) echo "bootstrap.sh: unknown extras '$extras' (none, or dev)" >&2; exit 2 ;;
esac
py="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$py" -m venv .venv
fi
stamp=".venv/.installed-${extras:-base}"
want="$(cat "$lock" pyproject.toml | sha256sum | cut -d' ' -f1)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  pip=(.venv/bin/python -m pip --disable-pip-version-check --quiet)
  "${pip[@]}" install --require-hashes -r "$lock"
  # setuptools comes from the lock (build-system.requires), so the editable build downloads nothing.
  "${pip[@]}" install --no-deps --no-build-isolation -e .
  echo "$want" > "$stamp"
fi
