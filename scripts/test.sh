#!/usr/bin/env bash
# Sets up .venv with the dev extra, then runs lint, type checks, the layer contracts (import-linter)
# and the whole test suite.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
.venv/bin/ruff check src tests bench
.venv/bin/mypy
PYTHONPATH=src .venv/bin/lint-imports
if [ -x scripts/checkov.sh ]; then scripts/checkov.sh; fi
exec .venv/bin/pytest "$@"
