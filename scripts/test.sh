#!/usr/bin/env bash
# scripts/test.sh - install, check, build and run the whole test suite:
# first the fast checks (every C file conforms to .clang-format; includes
# follow the module layering), then the tests once plainly, once under
# AddressSanitizer + UndefinedBehaviorSanitizer, then each fuzz target for a
# short while (FUZZ_SECONDS, default 20) when clang is present.  Exit status
# 0 only when everything passed.  INFRAPIVOT_CLICKHOUSE=1 adds the ClickHouse
# cluster test (its packages too; docs/scale-out.md).
#
# scripts/test.sh --clickhouse: instead, the tests labelled both_stores (the
# CLI and HTTP tests parameterised by the store, tests/lib.sh) against a
# ClickHouse cluster: builds build-ch (-DINFRAPIVOT_CLICKHOUSE=ON), starts
# scripts/cluster.sh in $TMPDIR/infrapivot-test-cluster (CLUSTER_PORT_BASE,
# default 29100), runs them with INFRAPIVOT_TEST_STORE set, and stops it.
set -euo pipefail
cd "$(dirname "$0")/.."
export TMPDIR=${TMPDIR:-/tmp}

if [ "${1:-}" = --clickhouse ]; then
	INFRAPIVOT_CLICKHOUSE=1 scripts/setup.sh --packages-only
	BUILD_DIR=build-ch CMAKE_ARGS="-DINFRAPIVOT_CLICKHOUSE=ON" scripts/setup.sh
	cl=$TMPDIR/infrapivot-test-cluster
	trap 'scripts/cluster.sh stop "$cl"' EXIT
	url=$(scripts/cluster.sh start "$cl" | tail -n 1)
	echo "== tests against both stores, on ClickHouse ($url)"
	export INFRAPIVOT_TEST_STORE=${url%/*}/test INFRAPIVOT_TEST_CLUSTER=$cl
	(cd build-ch && ctest --output-on-failure -j2 --timeout 900 -L both_stores)
	echo "== the both_stores tests passed on ClickHouse"
	exit 0
fi

scripts/setup.sh --packages-only

echo "== format (.clang-format) and layering (scripts/check-layers)"
scripts/check-format
scripts/check-layers

scripts/setup.sh

echo "== tests (plain build)"
(cd build && ctest --output-on-failure -j2 --timeout 600)

echo "== tests (ASan + UBSan)"
BUILD_DIR=build-asan CMAKE_ARGS="-DINFRAPIVOT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug" scripts/setup.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
(cd build-asan && ctest --output-on-failure -j2 --timeout 900)

if [ -x scripts/fuzz.sh ] && command -v clang >/dev/null; then
	echo "== fuzzing (${FUZZ_SECONDS:-20} s per target)"
	scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
fi
echo "== all tests passed"
