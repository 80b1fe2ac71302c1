#!/usr/bin/env bash
# Runs checkov over infrastructure/terraform and fails on any failed check.
# checkov pins many packages, so it lives in its own venv (.venv-checkov), created here if missing.
# Skips are written inline in the .tf files (#checkov:skip=CKV_...:reason). Prints passed/failed/skipped.
# Env: CHECKOV_VERSION (pip spec, default "checkov>=3.2,<4"), PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-checkov
spec="${CHECKOV_VERSION:-checkov>=3.2,<4}"
if [ ! -x "$venv/bin/checkov" ]; then
  echo "checkov.sh: installing $spec into $venv" >&2
  "${PYTHON:-python3}" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null 2>&1 || true
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
fi

report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
# --skip-download: no calls to the vendor's API (CI has no network beyond the package registries).
# The JSON report goes to a file; the summary below is the compact console output (failures with file
# and lines, every skip with its reason, the counts).
reportdir="$(mktemp -d)"
trap 'rm -rf "$report" "$reportdir"' EXIT
"$venv/bin/checkov" --directory infrastructure/terraform --framework terraform --skip-download \
  --compact --output json --output-file-path "$reportdir" >"$report" 2>&1 || status=$?

json="$reportdir/results_json.json"
if [ ! -s "$json" ]; then cat "$report" >&2; fi
"$venv/bin/python" - "$json" "$status" <<'PY'
import json, sys
path, status = sys.argv[1], int(sys.argv[2])
try:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
except (OSError, ValueError) as exc:
    print(f"checkov.sh: no JSON report ({exc}); checkov exit code {status}", file=sys.stderr)
    sys.exit(status or 1)
reports = data if isinstance(data, list) else [data]
totals = {"passed": 0, "failed": 0, "skipped": 0, "parsing_errors": 0}
for rep in reports:
    for key in totals:
        totals[key] += int(rep.get("summary", {}).get(key, 0))
print("checkov: {passed} passed, {failed} failed, {skipped} skipped, {parsing_errors} parsing errors".format(**totals))
for rep in reports:
    for chk in rep.get("results", {}).get("failed_checks", []):
        lines = chk.get("file_line_range") or []
        where = f"{chk.get('file_path', '')}:{'-'.join(str(n) for n in lines)}"
        print(f"  FAILED {chk['check_id']} {chk['resource']} ({where}): {chk.get('check_name', '')}")
    for chk in rep.get("results", {}).get("skipped_checks", []):
        reason = chk.get("check_result", {}).get("suppress_comment", "")
        print(f"  skipped {chk['check_id']} on {chk['resource']}: {reason}")
sys.exit(1 if totals["failed"] or totals["parsing_errors"] or totals["passed"] == 0 else 0)
PY
