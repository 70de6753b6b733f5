#!/usr/bin/env bash
# scripts/stress-test.sh [RUNS] - the test suite on a busy machine: builds
# build/ and build-asan/ as scripts/test.sh does, starts `stress-ng --cpu 2`
# in the background, then runs test.sh's ctest stages (plain, then ASan +
# UBSan) RUNS times (default 3) in a row.  Exit status 0 only when every
# run passed.  stress-ng is bounded (STRESS_SECONDS, default 7200) and is
# stopped when this script exits.
#   STRESS_CPUS=2        stress-ng CPU workers
#   STAGES="build build-asan"   which ctest stages (build directories) to run
#   CTEST_ARGS="-R store_"      extra ctest arguments (a subset of the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
export TMPDIR=${TMPDIR:-/tmp}
RUNS=${1:-3}
STRESS_CPUS=${STRESS_CPUS:-2}
STRESS_SECONDS=${STRESS_SECONDS:-7200}
STAGES=${STAGES:-build build-asan}
declare -A timeout=([build]=600 [build-asan]=900) # as scripts/test.sh
declare -A cmake_args=([build]="" [build-asan]="-DINFRAPIVOT_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug")

EXTRA_PACKAGES="stress-ng" scripts/setup.sh --packages-only
for stage in $STAGES; do
	[ -n "${timeout[$stage]:-}" ] || {
		echo "stress-test: unknown stage $stage (build, build-asan)" >&2
		exit 2
	}
	BUILD_DIR=$stage CMAKE_ARGS="${cmake_args[$stage]}" scripts/setup.sh
done
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

stress-ng --cpu "$STRESS_CPUS" --timeout "${STRESS_SECONDS}s" --quiet &
stress_pid=$!
trap 'kill "$stress_pid" 2>/dev/null || true; wait "$stress_pid" 2>/dev/null || true' EXIT
echo "== stress-ng --cpu $STRESS_CPUS (pid $stress_pid, at most ${STRESS_SECONDS}s) beside the suite"

failed=0
for run in $(seq 1 "$RUNS"); do
	for stage in $STAGES; do
		echo "== run $run/$RUNS: $stage"
		# shellcheck disable=SC2086
		if ! (cd "$stage" && ctest --output-on-failure -j2 --no-tests=error --timeout "${timeout[$stage]}" ${CTEST_ARGS:-}); then
			echo "== run $run/$RUNS: $stage FAILED" >&2
			failed=$((failed + 1))
		fi
	done
done
if [ "$failed" -ne 0 ]; then
	echo "== $failed ctest stage(s) of $RUNS run(s) failed under load" >&2
	exit 1
fi
echo "== $RUNS run(s) of $STAGES passed under load"
