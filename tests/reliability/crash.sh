#!/bin/bash
# kill -9 of plain and follow ingest at random moments; the counts must be
# exactly those of an uninterrupted run.  Every line is one sighting of
# the same resolution (line i at time T0+i, one of 600 sensors, so every
# batch fills its sensor table: >= 255 distinct sensors):
#   plain ingest: what a kill leaves is a prefix (count == last line seen);
#   follow mode: a restart after the kill completes it exactly once.
# Short mode (ctest): few trials; --long: many more and a bigger input.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/rel_lib.sh"
N=20000 TRIALS=3
[ "$LONG" = 1 ] && N=100000 TRIALS=20
cof_lines "$N" 600 >"$WORK/in.json"
PID=
CLEANUP_EXTRA='[ -n "$PID" ] && kill -9 "$PID" 2>/dev/null'

# the uninterrupted runs
check_rc "reference plain run" 0 "$IP" ingest --db "$WORK/ref" --batch 1000 "$WORK/in.json"
check_eq "reference plain run" "$(state "$WORK/ref")" "$N $N"
check_rc "reference follow run" 0 "$IP" ingest --db "$WORK/reff" --follow "$WORK/in.json" \
	--exit-idle 1 --poll 20
check_eq "reference follow run" "$(state "$WORK/reff")" "$N $N"

# has_data DB: something committed yet
has_data() { [ "$(state "$1")" != "0 0" ]; }
# kill_at_random DB MAXMS COMMAND...: start it, and once DB holds something,
# kill -9 it after a random 0 to MAXMS ms
kill_at_random() {
	local db=$1 ms=$2
	shift 2
	"$@" 2>/dev/null &
	PID=$!
	wait_for 30 has_data "$db"
	sleep "$(rand_s "$ms")"
	kill -9 "$PID" 2>/dev/null
	wait "$PID" 2>/dev/null
	PID=
}

for t in $(seq "$TRIALS"); do
	db=$WORK/plain$t
	kill_at_random "$db" 300 "$IP" ingest --db "$db" --batch 1000 "$WORK/in.json"
	read -r c last <<<"$(state "$db")"
	# a prefix: lines 1..c exactly
	check_eq "plain trial $t: a committed prefix (count = last line)" "$c" "$last"
done

for t in $(seq "$TRIALS"); do
	db=$WORK/follow$t
	for b in 1000 default; do
		opt=(--batch "$b")
		[ "$b" = default ] && opt=()
		# killed twice, then run to the end
		for _ in 1 2; do
			kill_at_random "$db" 400 "$IP" ingest --db "$db" --follow "$WORK/in.json" \
				--poll 20 "${opt[@]}"
		done
		check_rc "follow trial $t ($b): restart" 0 "$IP" ingest --db "$db" --follow \
			"$WORK/in.json" --exit-idle 1 --poll 20 "${opt[@]}"
		check_eq "follow trial $t (batch $b): every line exactly once" "$(state "$db")" "$N $N"
		db=$WORK/follow${t}d
	done
done
finish
