#!/usr/bin/env bash
# Builds libuhyve (installing what is missing), checks the formatting and runs the whole test suite, then the sanitizer and fuzzing runs.
#
# Usage: tools/run-tests.sh [--quick]
#   --quick  skips the second run of the suite under AddressSanitizer and
#            UndefinedBehaviorSanitizer and the short run of every fuzz
#            target; UHYVE_FUZZ_SECONDS sets that run's time per target
#            (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."

hardening=1
case "${1:-}" in
--quick) hardening=0 ;;
"") ;;
*)
	echo "usage: $0 [--quick]" >&2
	exit 2
	;;
esac

tools/setup.sh

echo "== clang-format"
git ls-files '*.c' '*.h' | xargs clang-format --dry-run --Werror

echo "== meson test"
status=0
meson test -C build --print-errorlogs --num-processes 2 || status=$?
results=(build/meson-logs/testlog.json)

# Hardening: the whole suite again in build-asan with AddressSanitizer and
# UndefinedBehaviorSanitizer, where any report fails its test, then every
# libFuzzer target for a short, bounded time in build-fuzz. The test guests
# are compiled by gcc directly (tests/guests/meson.build), so no sanitizer
# flag reaches them. verify_asan_link_order=0 lets the install test run its
# uninstrumented program against the instrumented libuhyve.so, and the
# timeouts are tripled for the slower instrumented code.
if ((hardening)); then
	echo "== meson test with AddressSanitizer and UndefinedBehaviorSanitizer"
	if [ ! -f build-asan/build.ninja ]; then
		meson setup build-asan -Db_sanitize=address,undefined
	fi
	if ninja -C build-asan; then
		ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:verify_asan_link_order=0 \
			UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
			meson test -C build-asan --print-errorlogs \
			--num-processes 2 --timeout-multiplier 3 || status=$?
		results+=(build-asan/meson-logs/testlog.json)
	else
		echo "the sanitizer build failed"
		status=1
	fi

	echo "== fuzz targets"
	tests/fuzz/run-fuzzers.sh -t "${UHYVE_FUZZ_SECONDS:-30}" || status=$?
	if [ -f build-fuzz/fuzz-results.txt ]; then
		results+=(build-fuzz/fuzz-results.txt)
	fi
fi

# One plain closing line, counted from meson's logs and the fuzz results
# ("ok TARGET" or "failed TARGET" per line).
python3 - "${results[@]}" <<'PY'
import json, sys
counts = {"OK": 0, "FAIL": 0, "SKIP": 0}
for path in sys.argv[1:]:
    for line in open(path):
        if path.endswith(".json"):
            result = json.loads(line)["result"]
        else:
            result = "OK" if line.startswith("ok ") else "FAIL"
        key = {"OK": "OK", "SKIP": "SKIP"}.get(result, "FAIL")
        counts[key] += 1
print(f"{counts['OK']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
PY
exit "$status"
