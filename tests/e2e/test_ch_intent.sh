#!/usr/bin/env bash
# test_ch_intent.sh - the three-step commit on a ClickHouse store
# (store/ch_intent.c): `ingest --follow`, `pull --checkpoint` and pushes
# with an Idempotency-Key, against the stand-in for a replicated cluster's
# insert path (tests/store/ch_fake_server.py dedup: a repeated block is
# dropped, counts are added up).  Each writer is killed (SIGKILL) by the
# stand-in after one of its INSERTs was applied and before it learnt so,
# or sees its INSERTs fail after they were applied; after a restart (or the
# client's retry) every count is what a clean run gives: no line lost, none
# counted twice.  Default suite; the real cluster: tests/store/test_ch_follow_kill.sh.
. "$(dirname "$0")/../lib.sh"
IP=$(realpath "$INFRAPIVOT")
export INFRAPIVOT_CH_USER=default INFRAPIVOT_CH_PASSWORD=x
unset INFRAPIVOT_DB INFRAPIVOT_CH_CREDENTIALS
cd "$WORK" || exit 1
PIDS=""
CLEANUP_EXTRA='for p in $PIDS; do kill $p 2>/dev/null; done'

# start_ch NAME: a fresh stand-in with its files in $WORK/NAME; sets S (its
# store address), B (its files), CH (its base URL)
start_ch() {
	B=$WORK/$1
	mkdir -p "$B"
	python3 "$TESTS_DIR/store/ch_fake_server.py" "default:x" "$B" dedup >"$B/port" &
	PIDS="$PIDS $!"
	for _ in $(seq 200); do [ -s "$B/port" ] && break; sleep 0.05; done
	CH=http://127.0.0.1:$(head -1 "$B/port")
	S=clickhouse://127.0.0.1:$(head -1 "$B/port")/t
}
totals() { command curl -s "$1/totals"; }
deduplicated() { command curl -s "$1/stats" | awk '{print $4}'; }
# run PIDFILE CMD...: CMD with its pid written first, so the stand-in can
# kill it whenever its INSERT comes
run() { local pf=$1; shift; sh -c 'echo $$ >"$0"; exec "$@"' "$pf" "$@"; }

# 100,000 lines over 50 names, 2,000 each.  A follow writes what it read
# in one go as a unit, its rows in INSERTs of up to half its share of
# --memory 16M (3 MiB: store/ch_dispatch.c): the names are long (two
# 60-letter labels) so that a row takes ~350 bytes and 12,000 lines make
# two INSERTs, 5,000 one
PAD=$(printf 'p%.0s' $(seq 60)).$(printf 'q%.0s' $(seq 60))
LOG=$WORK/sensor.log
awk -v pad="$PAD" 'BEGIN { for (i = 0; i < 100000; i++)
	printf "1322849924.408856||10.1.1.1||8.8.8.8||IN||n%d.%s.example.com.||A||192.0.2.1||60||1\n", i % 50, pad }' \
	>"$WORK/all.log"
cp "$WORK/all.log" "$LOG"
awk -v pad="$PAD" 'BEGIN { for (i = 0; i < 50; i++) printf "n%d.%s.example.com 1 192.0.2.1 2000\n", i, pad }' |
	sort >"$WORK/want"
follow() { "$IP" ingest --store "$S" --follow "$LOG" --exit-idle 1 --poll 20 --memory 16M "$@"; }
# well_again WHAT: the stand-in well again, a follow reads to the end and
# every line counts once
well_again() {
	rm "$B/fail-after"
	follow >/dev/null 2>"$WORK/err"
	check_eq "$1: exit status" "$?" 0
	check_eq "... every line once" "$(totals "$CH")" "$(cat "$WORK/want")"
}
# killed_follow NAME K: a fresh stand-in and control directory NAME; a
# follower killed by the stand-in after its K-th INSERT was applied
killed_follow() {
	start_ch "$1"
	echo "$2" >"$B/kill-after"
	export INFRAPIVOT_CONTROL=$WORK/ctl-$1
	run "$B/pid" "$IP" ingest --store "$S" --follow "$LOG" --exit-idle 1 --poll 20 --memory 16M \
		>/dev/null 2>"$WORK/err"
	check_eq "follow killed at INSERT $2 ($1): by SIGKILL" "$?" 137
	rm "$B/kill-after"
}

# --- follow: a clean run gives the counts of the file
start_ch clean
INFRAPIVOT_CONTROL=$WORK/ctl-clean follow >/dev/null 2>"$WORK/err"
check_eq "follow, clean: exit status" "$?" 0
check_eq "follow, clean: every line once" "$(totals "$CH")" "$(cat "$WORK/want")"

# --- follow killed after its first or second INSERT was applied, before
# its answer (between steps 2 and 3: the rows are in, the position is not).
# The file grows meanwhile: it had 5,000 (12,000) lines when the writer
# read them (one unit: one INSERT, or two of 12,000 lines), the rest come
# before the restart, so a re-read from the old position would cut
# another batch (other blocks, counted again); only the intent's replay,
# the same bytes, is dropped as a repeat.
for k in 1 2; do
	head -n $((5000 + 7000 * (k - 1))) "$WORK/all.log" >"$LOG"
	killed_follow kill$k "$k"
	check "... the rows of INSERT $k are in" test -n "$(totals "$CH")"
	tail -n +$((5000 + 7000 * (k - 1) + 1)) "$WORK/all.log" >>"$LOG"
	follow >/dev/null 2>"$WORK/err"
	check_eq "follow killed at INSERT $k, restarted: exit status" "$?" 0
	check_eq "... every line once" "$(totals "$CH")" "$(cat "$WORK/want")"
	check "... the INSERT resent was dropped as a repeat" test "$(deduplicated "$CH")" -ge 1
done

cp "$WORK/all.log" "$LOG"
# --- follow whose INSERTs fail after the first one, each applied but
# answered 500 (the answer lost), its retries too: it stops, the rows of
# the failed unit are in; restarted with the cluster well, exact counts
start_ch fail
echo 1 >"$B/fail-after"
export INFRAPIVOT_CONTROL=$WORK/ctl-fail
follow >/dev/null 2>"$WORK/err"
check_eq "follow, INSERTs failing: exit status" "$?" 2
check_grep "... ClickHouse's message" "Code: 999" "$WORK/err"
well_again "follow after the failure"
check "... the unit's INSERT resent was dropped" test "$(deduplicated "$CH")" -ge 1

# --- a pending batch that cannot be completed: the open says which and why
killed_follow stuck 1
echo 0 >"$B/fail-after"
follow >/dev/null 2>"$WORK/err"
check_eq "restart while the cluster fails: exit status" "$?" 2
check_grep "... names the batch" "a batch of F$LOG left unfinished by a crash could not be completed: .*Code: 999" "$WORK/err"
well_again "... and once it is well"

# --- pull --checkpoint killed between steps 2 and 3: the restart completes
# the batch (its checkpoint moves) and fetches from there; a record the
# feed got meanwhile is counted once, the first ones are not counted again
F=$WORK/feed
mkdir -p "$F"
cof() { # cof N NAME TIME: N records of NAME.feed.test, count 3 each
	awk -v n="$1" -v name="$2" -v t="$3" 'BEGIN { for (i = 0; i < n; i++)
		printf "{\"rrname\":\"%s%d.feed.test\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.7\",\"time_first\":%d,\"time_last\":%d,\"count\":3}\n", name, i, t, t }'
}
cof 40 a 1000 >"$F/cof.ndjson"
python3 "$TESTS_DIR/feeds/feed_server.py" --root "$F" --port-file "$F/port" >"$F/log" 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 200); do [ -s "$F/port" ] && break; sleep 0.05; done
FEED=http://127.0.0.1:$(cat "$F/port")/open/cof.ndjson
start_ch pull
echo 1 >"$B/kill-after"
export INFRAPIVOT_CONTROL=$WORK/ctl-pull
run "$B/pid" "$IP" pull --store "$S" --checkpoint feed1 "$FEED" >/dev/null 2>"$WORK/err"
check_eq "pull killed between steps 2 and 3: by SIGKILL" "$?" 137
rm "$B/kill-after"
cof 5 b 2000 >>"$F/cof.ndjson"
"$IP" pull --store "$S" --checkpoint feed1 "$FEED" >/dev/null 2>"$WORK/err"
check_eq "pull restarted: exit status" "$?" 0
check_grep "... from the checkpoint the replay committed" "checkpoint 1000 -> 2000" "$WORK/err"
check_eq "... every record once" "$(totals "$CH" | awk '{s += $4} END {print NR, s}')" "45 135"
check "... the INSERT resent was dropped as a repeat" test "$(deduplicated "$CH")" -ge 1

# --- idempotent pushes: the server killed between steps 2 and 3, restarted
# (its open completes the push's batch and its record), the client's retry
# answered from the record; then a push whose INSERT is applied but
# answered 500: 500, and the client's retry (the same unit again, the same
# tokens: its part that arrived is dropped) counts it once
awk 'BEGIN { for (i = 0; i < 3000; i++)
	printf "{\"rrname\":\"p%d.push.test\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.9\",\"time_first\":1000,\"time_last\":1000,\"count\":1}\n", i % 50 }' \
	>"$WORK/push.json"
start_ch push
export INFRAPIVOT_CONTROL=$WORK/ctl-push
SPORT=$(free_port)
serve() {
	"$IP" serve --store "$S" --listen "127.0.0.1:$SPORT" --threads 2 2>>"$WORK/server.log" &
	SRV=$!
	PIDS="$PIDS $SRV"
	echo "$SRV" >"$B/pid"
	for _ in $(seq 200); do command curl -s -o /dev/null "http://127.0.0.1:$SPORT/healthz" && break; sleep 0.05; done
}
push() { command curl -s -o "$WORK/push.out" -w '%{http_code}' -H "Idempotency-Key: $1" \
	--data-binary @"$WORK/push.json" "http://127.0.0.1:$SPORT/api/v1/observations"; }
serve
echo 1 >"$B/kill-after"
check_eq "push, the server killed under it: no answer" "$(push k1)" 000
rm "$B/kill-after"
serve
check_eq "the client's retry after the restart: 200" "$(push k1)" 200
check_grep "... with the whole body's counts" '"accepted": *3000' "$WORK/push.out"
check_eq "... every line once" "$(totals "$CH" | awk '{s += $4} END {print NR, s}')" "50 3000"
echo 1 >"$B/fail-after"
check_eq "push k2, its INSERT applied but answered 500: 500" "$(push k2)" 500
check_grep "... ClickHouse's message, and a retry invited" "Code: 999.*a retry with the same Idempotency-Key" "$WORK/push.out"
rm "$B/fail-after"
check_eq "the client's retry: 200" "$(push k2)" 200
check_eq "... every line once" "$(totals "$CH" | awk '{s += $4} END {print NR, s}')" "50 6000"
check "... the INSERT sent again was dropped" test "$(deduplicated "$CH")" -ge 2
kill "$SRV"

# --- a plain ingest (the merge table, written when full and at the end)
# sends a table's rows in as few INSERTs as its share of --memory lets it
# (store/ch_dispatch.c): 20,000 short rows in one (8,192 rows to an INSERT
# before); 40,000 long ones (~14 MB) under --memory 16M, split into
# INSERTs of 3 MiB (half of its 3/8), every line once
applied() { command curl -s "$1/stats" | awk '{print $2}'; }
plain() { # plain NAME LINES PAD INGEST-OPTIONS...
	local name=$1 n=$2 pad=$3
	shift 3
	start_ch "$name"
	awk -v n="$n" -v pad="$pad" 'BEGIN { for (i = 0; i < n; i++)
		printf "1322849924.408856||10.1.1.1||8.8.8.8||IN||s%d%s.example.com.||A||192.0.2.1||60||1\n", i, pad }' \
		>"$WORK/$name.log"
	INFRAPIVOT_CONTROL=$WORK/ctl-$name "$IP" ingest --store "$S" "$@" "$WORK/$name.log" \
		>"$WORK/out" 2>"$WORK/err"
	check_eq "plain ingest of $n lines ($name): exit status" "$?" 0
	check_eq "... every line once" "$(totals "$CH" | awk '{s += $4} END {print NR, s}')" "$n $n"
}
plain short 20000 ""
check_grep "... one write" " 1 commit" "$WORK/err"
check_eq "... in one INSERT" "$(applied "$CH")" 1
plain long 40000 ".$PAD" --memory 16M
commits=$(grep -o '[0-9]* commits' "$WORK/err" | cut -d' ' -f1)
check "... in more INSERTs than writes ($commits)" test "$(applied "$CH")" -gt "${commits:-0}"

finish
