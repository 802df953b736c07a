#!/usr/bin/env bash
# Builds the libFuzzer targets (clang, AddressSanitizer, UndefinedBehaviorSanitizer) in build-fuzz and runs each one for a bounded time.
#
# Usage: tests/fuzz/run-fuzzers.sh [-t SECONDS] [TARGET...]
#   -t SECONDS  fuzzing time per target (default 60)
#   TARGET      elf_loader, filetree, gdb_packet, hypercall, image_archive
#               or toml (default: all)
#
# Each target keeps the inputs it found in build-fuzz/fuzz-work/TARGET/corpus,
# so a later run goes on from there, and reads the committed seeds in
# tests/fuzz/corpus/TARGET and tests/regressions/TARGET. The ELF loader
# also reads the test guests of ./build and the shared Hermit images when
# they exist. A crash is saved in build-fuzz/fuzz-work/TARGET/artifacts;
# once it is fixed, copy the file to tests/regressions/TARGET/ so that the
# normal test suite replays it. Writes one line per target, "ok TARGET" or
# "failed TARGET", to build-fuzz/fuzz-results.txt and exits with 1 when a
# target failed.
set -euo pipefail
cd "$(dirname "$0")/../.."

all_targets=(elf_loader filetree gdb_packet hypercall image_archive toml)
seconds=60
while getopts "t:" option; do
	case $option in
	t) seconds=$OPTARG ;;
	*)
		echo "usage: $0 [-t SECONDS] [TARGET...]" >&2
		exit 2
		;;
	esac
done
shift $((OPTIND - 1))
targets=("${@:-${all_targets[@]}}")

build_dir=build-fuzz
if [ ! -f "$build_dir/build.ninja" ]; then
	CC=clang meson setup "$build_dir" -Dfuzzing=true \
		-Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C "$build_dir" "${targets[@]/#/tests/fuzz/fuzz_}"

# Any sanitizer report ends the run as a crash.
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1

# The largest input each target reads: the hypercall header (2 + 8 * 24
# bytes) plus 64 KiB of guest memory; the shared Hermit images are < 2 MiB.
declare -A max_len=([elf_loader]=2097152 [filetree]=4096 [gdb_packet]=40000
	[hypercall]=65730 [image_archive]=65536 [toml]=8192)

# Copies the ELF files among the built test guests into $1.
collect_guests() {
	mkdir -p "$1"
	for file in build/tests/guests/* build/examples/hello_guest; do
		if [ -f "$file" ] && [ "$(head -c 4 "$file" | od -An -tx1 |
			tr -d ' ')" = 7f454c46 ]; then
			cp "$file" "$1/"
		fi
	done
}

results=$build_dir/fuzz-results.txt
: >"$results"
status=0
for target in "${targets[@]}"; do
	work=$build_dir/fuzz-work/$target
	mkdir -p "$work/corpus" "$work/artifacts"
	inputs=("$work/corpus" "tests/fuzz/corpus/$target")
	if [ -d "tests/regressions/$target" ]; then
		inputs+=("tests/regressions/$target")
	fi
	if [ "$target" = elf_loader ]; then
		collect_guests "$work/guests"
		inputs+=("$work/guests")
		if [ -d ../shared/hermit-images/x86_64 ]; then
			inputs+=(../shared/hermit-images/x86_64)
		fi
	fi

	echo "== fuzz $target for ${seconds}s"
	log=$work/fuzz.log
	if "$build_dir/tests/fuzz/fuzz_$target" -max_total_time="$seconds" \
		-max_len="${max_len[$target]}" -timeout=10 -rss_limit_mb=2048 \
		-print_funcs=0 \
		-print_final_stats=1 -artifact_prefix="$work/artifacts/" \
		"${inputs[@]}" >"$log" 2>&1; then
		grep -E '^stat::number_of_executed_units|^Done' "$log" || true
		echo "ok $target" >>"$results"
	else
		tail -n 60 "$log"
		echo "fuzz $target: FAILED; the input is in $work/artifacts/"
		echo "failed $target" >>"$results"
		status=1
	fi
done
exit "$status"
