#!/usr/bin/env bash
# Sets up .venv from the dev lock (requirements/dev.txt), then runs lint, type checks, the layer contracts
# (import-linter), hadolint on the Dockerfile, checkov (Terraform and Dockerfile) and the whole test suite,
# slow tests included, in parallel: pytest-xdist with $PYTEST_WORKERS workers (default 3: on 2 cores the
# tests also wait on the servers they start), each with its own moto server, emulators and temporary
# folders. The 25 slowest tests are listed at the end.
# Extra arguments go to pytest (they win: `-n 0` runs in one process, `-m "not slow"` skips the slow ones).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
.venv/bin/ruff check src tests bench
.venv/bin/mypy
PYTHONPATH=src .venv/bin/lint-imports
.venv/bin/hadolint Dockerfile
echo "hadolint: Dockerfile clean"
if [ -x scripts/checkov.sh ]; then scripts/checkov.sh; fi
exec .venv/bin/pytest -n "${PYTEST_WORKERS:-3}" --durations=25 "$@"
