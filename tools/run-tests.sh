#!/usr/bin/env bash
# Builds libuhyve (installing what is missing), checks the formatting and runs the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh

echo "== clang-format"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

echo "== meson test"
status=0
meson test -C build --print-errorlogs --num-processes 2 || status=$?

# One plain closing line, counted from meson's own log.
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for line in open(sys.argv[1]):
    result = json.loads(line)["result"]
    key = {"OK": "OK", "SKIP": "SKIP"}.get(result, "FAIL")
    counts[key] += 1
print(f"{counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit "$status"
