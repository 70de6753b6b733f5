#!/bin/bash
# scripts/fuzz.sh [SECONDS] - build every libFuzzer target with clang in
# build-fuzz/ and run each for SECONDS (default 20) on a copy of its seed
# corpus, tests/fuzz/corpus/<target>/.  Exits non-zero when any target
# crashes, leaks or times out; its log and the crashing input are left in
# build-fuzz/ (fuzz_<target>.log, crash-*, leak-*, timeout-*).
#
# A new fuzz target: infrapivot_fuzz_target() in its tests/<dir>/CMakeLists.txt,
# a seed corpus in tests/fuzz/corpus/<target>/, and one line in TARGETS below.
set -eu
SECS=${1:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build-fuzz
JOBS=${JOBS:-2}

# target -> its binary, relative to the build directory
declare -A TARGETS=(
	[cof]=tests/fuzz/fuzz_cof
	[zeek]=tests/fuzz/fuzz_zeek
	[eve]=tests/fuzz/fuzz_eve
	[passivedns]=tests/fuzz/fuzz_passivedns
	[certfile]=tests/fuzz/fuzz_certfile
	[saf]=tests/fuzz/fuzz_saf
	[jarm]=tests/fuzz/fuzz_jarm
	[http_input]=tests/http/fuzz_http_input
	[pivot_params]=tests/pivot/fuzz_pivot_params
	[watch_input]=tests/watch/fuzz_watch_input
)

command -v clang >/dev/null || {
	echo "fuzz.sh: clang not found" >&2
	exit 2
}

# every corpus has a target and every target a corpus
rc=0
for dir in "$ROOT"/tests/fuzz/corpus/*/; do
	t=$(basename "$dir")
	[ -n "${TARGETS[$t]:-}" ] || {
		echo "fuzz.sh: tests/fuzz/corpus/$t/ has no entry in TARGETS" >&2
		rc=1
	}
done
for t in "${!TARGETS[@]}"; do
	[ -d "$ROOT/tests/fuzz/corpus/$t" ] || {
		echo "fuzz.sh: target $t has no corpus tests/fuzz/corpus/$t/" >&2
		rc=1
	}
done
[ "$rc" -eq 0 ] || exit 2

CC=clang cmake -S "$ROOT" -B "$OUT" -DINFRAPIVOT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
names=$(printf '%s\n' "${!TARGETS[@]}" | sort)
targets=()
for t in $names; do
	targets+=("fuzz_$t")
done
cmake --build "$OUT" -j"$JOBS" --target "${targets[@]}" >/dev/null

for t in $names; do
	work=$OUT/corpus-$t
	log=$OUT/fuzz_$t.log
	rm -rf "$work"
	mkdir -p "$work"
	cp "$ROOT/tests/fuzz/corpus/$t/"* "$work/"
	echo "fuzz_$t: ${SECS}s"
	if ! (cd "$OUT" && "$OUT/${TARGETS[$t]}" -max_total_time="$SECS" -max_len=65536 \
		-rss_limit_mb=2048 -print_final_stats=1 "$work" >"$log" 2>&1); then
		echo "fuzz_$t: FAILED (see $log)" >&2
		tail -40 "$log" >&2
		rc=1
	else
		grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$log" | sed 's/^/  /'
	fi
done
exit $rc
