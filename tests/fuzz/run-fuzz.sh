#!/bin/sh
# run-fuzz.sh FUZZER CORPUS SECONDS: replay every corpus file, then fuzz for
# SECONDS of the fuzzer's CPU time into a scratch copy (the checked-in
# corpus is never written). CPU time, not wall time: `make test` runs the
# fuzz suite at idle priority beside the e2e suite, and a fuzzer that
# waited for a core must still get its whole SECONDS of fuzzing (on an idle
# core the two are the same). Wall time is capped at FUZZ_WALL_CAP seconds
# (default 6 x SECONDS + 30); a run the cap cuts short says so.
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

# cpu_s PID: the running process's user + system CPU time in whole
# seconds; fails once it has exited (a zombie until `wait` reaps it).
hz=$(getconf CLK_TCK)
cpu_s() {
	# /proc/PID/stat: pid (comm) state ... utime is field 14, stime 15; the
	# fuzzers' names have no spaces, so comm is one field.
	read -r _ _ state _ _ _ _ _ _ _ _ _ _ ut st _ <"/proc/$1/stat" || return 1
	[ "$state" != Z ] || return 1
	echo $(((ut + st) / hz))
}

run "$work/replay.log" -runs=0 "$corpus"/
if [ "$secs" -gt 0 ]; then
	cap=${FUZZ_WALL_CAP:-$((6 * secs + 30))}
	log=$work/fuzz.log
	"$fuzzer" -seed="${FUZZ_SEED:-1}" -max_total_time="$cap" -max_len=65536 \
		-rss_limit_mb=2048 -artifact_prefix="$work/" "$work" >"$log" 2>&1 &
	pid=$!
	# SIGUSR1 asks libFuzzer to stop after the input it is running and
	# exit 0 as after -max_total_time (a crash still exits non-zero).
	used=0 asked=""
	while now=$(cpu_s "$pid" 2>/dev/null); do
		used=$now
		if [ "$used" -ge "$secs" ]; then
			kill -USR1 "$pid" 2>/dev/null || true
			asked=1
			break
		fi
		sleep 0.2
	done
	if wait "$pid"; then
		tail -n 3 "$log"
		[ -n "$asked" ] ||
			echo "run-fuzz: stopped by the wall-clock cap ($cap s) after about $used s" \
			    "of CPU, not $secs"
	else
		rc=$?
		cat "$log"
		echo "run-fuzz: $(basename "$fuzzer") failed with status $rc" >&2
		exit 1
	fi
fi
