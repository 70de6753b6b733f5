#!/bin/bash
# scripts/fuzz.sh [SECONDS] - build the libFuzzer targets with clang in
# build-fuzz/ and run each for SECONDS (default 20) on a copy of its seed
# corpus (tests/fuzz/corpus/<parser>/).  Exits non-zero on a crash; the
# crashing input is left in build-fuzz/ (crash-*, leak-*, timeout-*).
set -eu
SECS=${1:-20}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=$ROOT/build-fuzz
JOBS=${JOBS:-2}
command -v clang >/dev/null || { echo "fuzz.sh: clang not found" >&2; exit 2; }
CC=clang cmake -S "$ROOT" -B "$OUT" -DINFRAPIVOT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$OUT" -j"$JOBS" --target fuzz_cof fuzz_zeek fuzz_eve fuzz_passivedns fuzz_certfile fuzz_saf >/dev/null
rc=0
for p in cof zeek eve passivedns certfile saf; do
	work=$OUT/corpus-$p
	rm -rf "$work"
	mkdir -p "$work"
	cp "$ROOT/tests/fuzz/corpus/$p/"* "$work/"
	echo "fuzz_$p: ${SECS}s"
	if ! (cd "$OUT" && "$OUT/tests/fuzz/fuzz_$p" -max_total_time="$SECS" -max_len=65536 \
		-rss_limit_mb=2048 -print_final_stats=1 "$work" >"$OUT/fuzz_$p.log" 2>&1); then
		echo "fuzz_$p: FAILED (see $OUT/fuzz_$p.log)" >&2
		tail -40 "$OUT/fuzz_$p.log" >&2
		rc=1
	else
		grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$OUT/fuzz_$p.log" |
			sed 's/^/  /'
	fi
done
# client-supplied HTTP inputs (paths, queries, headers)
if cmake --build "$OUT" -j"$JOBS" --target fuzz_http_input >/dev/null 2>&1; then
	rm -rf "$OUT/corpus-http"
	mkdir -p "$OUT/corpus-http"
	cp "$ROOT/tests/http/corpus/"* "$OUT/corpus-http/"
	echo "fuzz_http_input: ${SECS}s"
	if ! (cd "$OUT" && "$OUT/tests/http/fuzz_http_input" -max_total_time="$SECS" \
		-rss_limit_mb=2048 -print_final_stats=1 "$OUT/corpus-http" >"$OUT/fuzz_http.log" 2>&1); then
		echo "fuzz_http_input: FAILED (see $OUT/fuzz_http.log)" >&2
		tail -40 "$OUT/fuzz_http.log" >&2
		rc=1
	fi
fi
# the pivot parameters and renderers (no seed corpus: parameters are short)
if cmake --build "$OUT" -j"$JOBS" --target fuzz_pivot_params >/dev/null 2>&1; then
	mkdir -p "$OUT/corpus-pivot"
	echo "fuzz_pivot_params: ${SECS}s"
	if ! (cd "$OUT" && "$OUT/tests/pivot/fuzz_pivot_params" -max_total_time="$SECS" \
		-rss_limit_mb=2048 -print_final_stats=1 "$OUT/corpus-pivot" >"$OUT/fuzz_pivot.log" 2>&1); then
		echo "fuzz_pivot_params: FAILED (see $OUT/fuzz_pivot.log)" >&2
		tail -40 "$OUT/fuzz_pivot.log" >&2
		rc=1
	fi
fi
exit $rc
