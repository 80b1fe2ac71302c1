#!/usr/bin/env bash
# Refreshes the dependency locks with pip-tools (pip-compile), every pin with its hashes:
#   requirements/runtime.txt  gaib's dependencies with the aws extra (what the container image and
#                             scripts/demo.sh install), plus setuptools to build gaib itself;
#   requirements/dev.txt      the dev extra (tests, linters, hadolint, pip-tools) for scripts/test.sh and CI,
#                             constrained to the runtime pins so both agree on every package they share;
#   requirements/checkov.txt  checkov (requirements/checkov.in) for scripts/checkov.sh's own venv: checkov
#                             pins too many packages to share the dev venv.
# pip-compile resolves through pip with this machine's pip configuration, so the hash of every distribution
# of a pinned version, on every configured index, is written down. Unchanged pins stay put; arguments go to
# every pip-compile run: `scripts/lock.sh --upgrade` moves everything to the newest releases,
# `scripts/lock.sh --upgrade-package boto3` one package. Run it after editing dependencies in
# pyproject.toml, then scripts/test.sh, and commit pyproject.toml with the locks (docs/deploy.md).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
# --unsafe-package gaib: the dev extra names gaib[aws]; gaib is left out of the locks (bootstrap.sh installs
# it from the tree, so pip-compile's warning that gaib "was not pinned" is expected), while pip and
# setuptools are pinned like any other package.
compile=(.venv/bin/pip-compile --quiet --generate-hashes --strip-extras --no-emit-index-url --no-emit-find-links
         --unsafe-package gaib --newline lf)
"${compile[@]}" --extra aws --build-deps-for wheel --build-deps-for editable \
  --output-file requirements/runtime.txt "$@" pyproject.toml
"${compile[@]}" --extra dev --build-deps-for editable --constraint requirements/runtime.txt \
  --output-file requirements/dev.txt "$@" pyproject.toml
"${compile[@]}" --output-file requirements/checkov.txt "$@" requirements/checkov.in
for lock in requirements/runtime.txt requirements/dev.txt requirements/checkov.txt; do
  echo "lock.sh: $lock: $(grep -c '^[A-Za-z0-9._-]*==' "$lock") pins"
done
