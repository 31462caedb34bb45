#!/bin/sh
# run-fuzz.sh FUZZER CORPUS SECONDS: replay every corpus file, then fuzz for
# SECONDS into a scratch copy (the checked-in corpus is never written).
set -eu
fuzzer=$1 corpus=$2 secs=$3
[ -d "$corpus" ] || { echo "no corpus at $corpus" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp -r "$corpus"/. "$work"/
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
"$fuzzer" -runs=0 "$corpus"/ 2>&1 | tail -n 3
if [ "$secs" -gt 0 ]; then
	"$fuzzer" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 \
		-artifact_prefix="$work/" "$work" 2>&1 | tail -n 3
fi
