#!/bin/sh
# run-fuzz.sh FUZZER CORPUS SECONDS: replay every corpus file, then fuzz for
# SECONDS into a scratch copy (the checked-in corpus is never written).
# Exits non-zero when the fuzzer finds a crash, a leak or a timeout; its last
# lines are shown either way (the whole log on failure). The seed is fixed
# (FUZZ_SEED, default 1) so `make test` explores the same inputs on every run;
# long sessions (`make fuzz`) use FUZZ_SEED=0, a random one.
set -eu
fuzzer=$1 corpus=$2 secs=$3
[ -d "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work"/
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}

# run LOG ARGS...: run the fuzzer with its output in LOG; on failure print
# the log and exit with the fuzzer's status.
run() {
	log=$1
	shift
	if "$fuzzer" "$@" >"$log" 2>&1; then
		tail -n 3 "$log"
	else
		rc=$?
		cat "$log"
		echo "run-fuzz: $(basename "$fuzzer") failed with status $rc" >&2
		exit 1	# not the fuzzer's 77: meson would read that as "skipped"
	fi
}

run "$work/replay.log" -runs=0 "$corpus"/
if [ "$secs" -gt 0 ]; then
	run "$work/fuzz.log" -seed="${FUZZ_SEED:-1}" -max_total_time="$secs" -max_len=65536 \
		-rss_limit_mb=2048 -artifact_prefix="$work/" "$work"
fi
