# Thin wrapper around Meson; see README.md. Every target installs what is
# missing first (scripts/deps is idempotent and fast when nothing is missing).
BUILD   ?= build
SAN     ?= build-san
PYTHON  ?= /usr/bin/python3
FUZZ_SECONDS ?= 10
MESON_OPTS ?=
# What build and san check first; `make test` checks once and its sub-makes
# pass DEPS= (each check lists ~100 packages with dpkg-query: 2 s).
DEPS    ?= deps

# `make test` runs the fuzz suite beside the e2e suite at idle priority
# (SCHED_IDLE): the e2e tests spend much of their time waiting (learning and
# quiet periods, probes, leases, the reconciliation's minute), the fuzzers
# take the idle cores and give them back at once to anything else, and each
# fuzzer still gets its whole FUZZ_SECONDS, of CPU time (tests/fuzz/run-fuzz.sh).
# FUZZ_BESIDE_E2E=0: the fuzz suite first, then the e2e suite, one at a time.
FUZZ_BESIDE_E2E ?= 1
E2E_CMD = MOAT_BUILD=$(abspath $(BUILD)) $(PYTHON) -m pytest -q -rs --durations=20 tests/e2e

.PHONY: all deps build san test unit fuzz-test e2e e2e-and-fuzz demo bench fuzz clean

all: build

deps:
	@scripts/deps

# Release-style build (gcc, hardening): what ships, what e2e tests and demo run.
build: $(DEPS)
	@test -f $(BUILD)/build.ninja || meson setup $(BUILD) --werror $(MESON_OPTS)
	meson compile -C $(BUILD)

# Test build: clang with AddressSanitizer + UndefinedBehaviorSanitizer and the
# libFuzzer targets; unit tests and fuzz replays run from here.
san: $(DEPS)
	@test -f $(SAN)/build.ninja || CC=clang meson setup $(SAN) --werror \
		-Db_sanitize=address,undefined -Db_lundef=false -Dfuzz=true \
		-Dfuzz_seconds=$(FUZZ_SECONDS) $(MESON_OPTS)
	meson compile -C $(SAN)

unit: san
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(SAN) --suite unit --suite integration --print-errorlogs; rc=$$?; \
		scripts/unit-summary $(SAN) || rc=1; exit $$rc

fuzz-test: san
	meson configure $(SAN) -Dfuzz_seconds=$(FUZZ_SECONDS)
	meson test -C $(SAN) --suite fuzz --print-errorlogs

e2e: build
	$(E2E_CMD)

# The e2e suite in the foreground, the fuzz suite beside it at idle priority;
# the fuzz suite's output follows the e2e suite's; fails if either fails.
e2e-and-fuzz: build san
	meson configure $(SAN) -Dfuzz_seconds=$(FUZZ_SECONDS)
	meson compile -C $(SAN)
	@log=$(SAN)/meson-logs/fuzz-beside-e2e.txt; \
	echo "fuzz suite: running beside the e2e suite at idle priority (output in $$log)"; \
	chrt --idle 0 meson test -C $(SAN) --suite fuzz --print-errorlogs >$$log 2>&1 & fpid=$$!; \
	$(E2E_CMD); erc=$$?; \
	wait $$fpid; frc=$$?; \
	echo "== fuzz suite (ran beside the e2e suite) =="; cat $$log; \
	echo "e2e: exit $$erc, fuzz: exit $$frc"; \
	[ $$erc -eq 0 ] && [ $$frc -eq 0 ]

test: build san
	$(MAKE) --no-print-directory unit DEPS=
ifeq ($(FUZZ_BESIDE_E2E),1)
	$(MAKE) --no-print-directory e2e-and-fuzz DEPS=
else
	$(MAKE) --no-print-directory fuzz-test DEPS=
	$(MAKE) --no-print-directory e2e DEPS=
endif

demo: build
	scripts/demo $(BUILD)

bench: build
	bench/run $(BUILD)

# Long fuzzing session with random seeds: make fuzz FUZZ_SECONDS=600
fuzz: deps
	@test -f $(SAN)/build.ninja || $(MAKE) --no-print-directory san
	meson configure $(SAN) -Dfuzz_seconds=$(FUZZ_SECONDS)
	FUZZ_SEED=0 meson test -C $(SAN) --suite fuzz --print-errorlogs --timeout-multiplier=0

clean:
	rm -rf $(BUILD) $(SAN)
