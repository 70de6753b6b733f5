#!/usr/bin/env bash
# scripts/test.sh - install, check, build and run the whole test suite:
# first the fast checks (every C file conforms to .clang-format; includes
# follow the module layering), then the tests once plainly, once under
# AddressSanitizer + UndefinedBehaviorSanitizer, then each fuzz target for a
# short while (FUZZ_SECONDS, default 20) when clang is present.  Exit status
# 0 only when everything passed.  INFRAPIVOT_CLICKHOUSE=1 adds the ClickHouse
# cluster test (its packages too; docs/scale-out.md).
set -euo pipefail
cd "$(dirname "$0")/.."
export TMPDIR=${TMPDIR:-/tmp}

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
