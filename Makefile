# Meridian — the two commands a fresh Debian 12 machine needs are `make run` and `make test`.
#
#   make deps     install Debian packages and the pinned npm packages (idempotent)
#   make build    dev build (Debug + ASan/UBSan) into build/dev
#   make release  optimised build into build/release
#   make run      deps + release, then start the simulator fleet and the gateway (scripts/run.sh)
#   make test     deps + build, then ctest, the node tests (integration + SDK conformance) and
#                 the fuzz targets for FUZZ_SECONDS (default 10) each (scripts/fuzz.sh)
#   make fuzz     deps, then build and run only the fuzz targets (scripts/fuzz.sh)
#   make bench    deps + release, then the proxy benchmark (bench/proxy_bench.sh)
#   make clean    remove build/ and node_modules/

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := build
# Prerequisites are listed in the order they must run (deps before build before tests).
.NOTPARALLEL:

NPROC := $(shell nproc 2>/dev/null || echo 2)
DEV_DIR := $(CURDIR)/build/dev
NODE_TEST_TIMEOUT_MS ?= 300000

.PHONY: deps build release run test test-unit test-node fuzz bench clean

deps:
	@bash scripts/install-deps.sh

build:
	cmake --preset dev
	cmake --build --preset dev -j$(NPROC)

release:
	cmake --preset release
	cmake --build --preset release -j$(NPROC)

run: deps release
	@bash scripts/run.sh

# Runs ctest, the node tests and the fuzz targets even when one fails, then prints each
# runner's own summary and one combined line (each fuzz target counts as one test); exits
# non-zero if any failed.
test: deps build
	@c_status=0; n_status=0; f_status=0; \
	ctest_log="$(DEV_DIR)/ctest.log"; tap_log="$(DEV_DIR)/node-tests.tap"; fuzz_log="$(DEV_DIR)/fuzz.log"; \
	rm -f "$$ctest_log" "$$tap_log" "$$fuzz_log"; \
	echo "== ctest (unit tests)"; \
	ctest --preset dev -j$(NPROC) 2>&1 | tee "$$ctest_log" || c_status=1; \
	mapfile -t node_tests < <(find tests -name '*.test.mjs' -not -path '*/node_modules/*' | sort); \
	if (( $${#node_tests[@]} > 0 )); then \
	  echo "== node --test ($${#node_tests[@]} files)"; \
	  MERIDIAN_BIN="$(DEV_DIR)/meridian" MERIDIAN_SIM_BIN="$(DEV_DIR)/meridian-sim" \
	  node --test --test-timeout=$(NODE_TEST_TIMEOUT_MS) \
	    --test-reporter=spec --test-reporter-destination=stdout \
	    --test-reporter=tap --test-reporter-destination="$$tap_log" \
	    "$${node_tests[@]}" || n_status=1; \
	else \
	  echo "== node --test: no tests/**/*.test.mjs files"; \
	fi; \
	echo "== fuzz (scripts/fuzz.sh)"; \
	FUZZ_JOBS=$(NPROC) bash scripts/fuzz.sh 2>&1 | tee "$$fuzz_log" || f_status=1; \
	c_total=$$(sed -nE 's/.*tests? failed out of ([0-9]+).*/\1/p' "$$ctest_log" | tail -n1); \
	c_fail=$$(sed -nE 's/.* ([0-9]+) tests? failed out of [0-9]+.*/\1/p' "$$ctest_log" | tail -n1); \
	c_total=$${c_total:-0}; c_fail=$${c_fail:-0}; \
	if (( c_status != 0 && c_fail == 0 )); then c_fail=1; c_total=$$((c_total + 1)); fi; \
	n_pass=0; n_fail=0; \
	if [[ -f "$$tap_log" ]]; then \
	  n_pass=$$(sed -nE 's/^# pass ([0-9]+)$$/\1/p' "$$tap_log" | tail -n1); \
	  n_fail=$$(sed -nE 's/^# fail ([0-9]+)$$/\1/p' "$$tap_log" | tail -n1); \
	  n_pass=$${n_pass:-0}; n_fail=$${n_fail:-0}; \
	fi; \
	if (( n_status != 0 && n_fail == 0 )); then n_fail=1; fi; \
	f_pass=$$(sed -nE 's/^fuzz: ([0-9]+) passed, [0-9]+ failed$$/\1/p' "$$fuzz_log" | tail -n1); \
	f_fail=$$(sed -nE 's/^fuzz: [0-9]+ passed, ([0-9]+) failed$$/\1/p' "$$fuzz_log" | tail -n1); \
	f_pass=$${f_pass:-0}; f_fail=$${f_fail:-0}; \
	if (( f_status != 0 && f_fail == 0 )); then f_fail=1; fi; \
	echo "ctest: $$((c_total - c_fail)) passed, $$c_fail failed; node: $$n_pass passed, $$n_fail failed; fuzz: $$f_pass passed, $$f_fail failed"; \
	echo "TOTAL: $$((c_total - c_fail + n_pass + f_pass)) passed, $$((c_fail + n_fail + f_fail)) failed"; \
	exit $$(( c_status | n_status | f_status ))

test-unit: build
	ctest --preset dev -j$(NPROC)

test-node: build
	MERIDIAN_BIN="$(DEV_DIR)/meridian" MERIDIAN_SIM_BIN="$(DEV_DIR)/meridian-sim" \
	  node --test --test-timeout=$(NODE_TEST_TIMEOUT_MS) $$(find tests -name '*.test.mjs' -not -path '*/node_modules/*' | sort)

# Builds the fuzz preset (build/fuzz, clang) and runs every target for FUZZ_SECONDS (default 10)
# on a copy of its corpus; `scripts/fuzz.sh <target>...` runs only some.
fuzz: deps
	@FUZZ_JOBS=$(NPROC) bash scripts/fuzz.sh

bench: deps release
	@bash bench/proxy_bench.sh

clean:
	rm -rf build node_modules
