#!/usr/bin/env bash
# Runs checkov over infrastructure/terraform (framework terraform) and the Dockerfile (framework dockerfile)
# and fails on any failed check.
# checkov pins many packages, so it lives in its own venv (.venv-checkov), installed from the lock
# requirements/checkov.txt with its hashes (scripts/lock.sh refreshes it); a stamp skips the install while
# the lock is unchanged. Skips are written inline (#checkov:skip=CKV_...:reason). Prints passed/failed/skipped.
# Env: CHECKOV_VERSION (a pip spec such as "checkov==3.3.31": try another release instead of the lock),
# PYTHON (default python3).
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv-checkov
lock=requirements/checkov.txt
if [ -n "${CHECKOV_VERSION:-}" ]; then
  want="spec ${CHECKOV_VERSION}"
else
  want="$(sha256sum "$lock" | cut -d' ' -f1)"
fi
if [ ! -x "$venv/bin/python" ]; then
  "${PYTHON:-python3}" -m venv "$venv"
fi
if [ ! -x "$venv/bin/checkov" ] || [ "$(cat "$venv/.installed" 2>/dev/null)" != "$want" ]; then
  pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
  if [ -n "${CHECKOV_VERSION:-}" ]; then
    echo "checkov.sh: installing $CHECKOV_VERSION into $venv" >&2
    "${pip[@]}" "$CHECKOV_VERSION"
  else
    echo "checkov.sh: installing $lock into $venv" >&2
    "${pip[@]}" --require-hashes -r "$lock"
  fi
  echo "$want" > "$venv/.installed"
fi

# --skip-download: no calls to the vendor's API (CI has no network beyond the package registries).
# Each scan writes its JSON report to its own folder (checkov scans only the directory when given a
# directory and a file together); the summary below is the compact console output (failures with file
# and lines, every skip with its reason, the counts per framework and in all).
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
scan() {  # scan NAME ARGS...: one checkov run, its report in $work/NAME/results_json.json
  local name="$1" status=0
  shift
  mkdir -p "$work/$name"
  "$venv/bin/checkov" "$@" --skip-download --compact --output json --output-file-path "$work/$name" \
    >"$work/$name.out" 2>&1 || status=$?
  if [ ! -s "$work/$name/results_json.json" ]; then cat "$work/$name.out" >&2; fi
  echo "$status" > "$work/$name.status"
}
scan terraform --directory infrastructure/terraform --framework terraform
scan dockerfile --file Dockerfile --framework dockerfile

"$venv/bin/python" - "$work" terraform dockerfile <<'PY'
import json, sys
work, names = sys.argv[1], sys.argv[2:]
reports, broken = [], []
for name in names:
    status = int(open(f"{work}/{name}.status", encoding="utf-8").read())
    try:
        with open(f"{work}/{name}/results_json.json", encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        print(f"checkov.sh: no JSON report for {name} ({exc}); checkov exit code {status}", file=sys.stderr)
        broken.append(name)
        continue
    reports.extend((name, rep) for rep in (data if isinstance(data, list) else [data]))
keys = ("passed", "failed", "skipped", "parsing_errors")
totals = dict.fromkeys(keys, 0)
for name, rep in reports:
    counts = {key: int(rep.get("summary", {}).get(key, 0)) for key in keys}
    print("checkov {}: {passed} passed, {failed} failed, {skipped} skipped, {parsing_errors} parsing errors".format(
        name, **counts))
    for key in keys:
        totals[key] += counts[key]
    if counts["passed"] == 0:
        broken.append(name)  # a scan that checked nothing means checkov did not see the files
print("checkov: {passed} passed, {failed} failed, {skipped} skipped, {parsing_errors} parsing errors".format(**totals))
for _, rep in reports:
    for chk in rep.get("results", {}).get("failed_checks", []):
        lines = chk.get("file_line_range") or []
        where = f"{chk.get('file_path', '')}:{'-'.join(str(n) for n in lines)}"
        print(f"  FAILED {chk['check_id']} {chk['resource']} ({where}): {chk.get('check_name', '')}")
    for chk in rep.get("results", {}).get("skipped_checks", []):
        reason = chk.get("check_result", {}).get("suppress_comment", "")
        print(f"  skipped {chk['check_id']} on {chk['resource']}: {reason}")
sys.exit(1 if totals["failed"] or totals["parsing_errors"] or broken else 0)
PY
