#!/bin/bash
# Follow mode: append, rotate, truncate, restart, signals - exact counts.
# Every line is the same resolution, so its count in the store is exactly
# the number of lines recorded: a lost or double-counted line shows.
. "$(dirname "$0")/../lib.sh"
IP=$(realpath "$INFRAPIVOT")
test_store DB db # a directory, or a cluster database (tests/lib.sh)
LOG=$WORK/sensor.log
LINE='1322849924.408856||10.1.1.1||8.8.8.8||IN||f.example.com.||A||192.0.2.1||60||1'
add() { for _ in $(seq "$1"); do echo "$LINE"; done >>"$LOG"; }
count() { "$IP" lookup --db "$DB" domain f.example.com 2>/dev/null | sed -nE 's/.*"count":([0-9]+).*/\1/p'; }
# wait_count N: until the store holds N (100 lookups at most)
wait_count() {
	for _ in $(seq 100); do [ "$(count)" = "$1" ] && return 0; sleep 0.05; done
	return 1
}
PID=
CLEANUP_EXTRA='[ -n "$PID" ] && kill "$PID" 2>/dev/null'

# catch-up runs with --exit-idle; a restart resumes at the stored position
add 3
check_rc "first run" 0 "$IP" ingest --db "$DB" --follow "$LOG" --exit-idle 1 --poll 20
check_eq "3 lines" "$(count)" 3
add 2
check_rc "restart" 0 "$IP" ingest --db "$DB" --follow "$LOG" --exit-idle 1 --poll 20
check_eq "restart: 2 more, none twice" "$(count)" 5
check_rc "restart with nothing new" 0 "$IP" ingest --db "$DB" --follow "$LOG" --exit-idle 1 --poll 20
check_eq "nothing new: unchanged" "$(count)" 5

# a running follower: append, partial line, rotate, truncate, SIGTERM
"$IP" ingest --db "$DB" --follow "$LOG" --poll 20 2>"$WORK/bg.err" &
PID=$!
add 4
check "append seen" wait_count 9
printf '%s' "${LINE%??}" >>"$LOG" # half a line: not yet a line
sleep 0.3
check_eq "partial line not recorded" "$(count)" 9
printf '|1\n' >>"$LOG"
check "completed line recorded" wait_count 10
mv "$LOG" "$LOG.1"
add 2
check "rotation: new file read" wait_count 12
echo "$LINE" >>"$LOG.1" # written to the old file after rotation: not followed
: >"$LOG"
sleep 0.3
add 1
check "truncation: read from the start" wait_count 13
kill -TERM "$PID"
wait "$PID"
check_eq "SIGTERM: exit 0" "$?" 0
PID=
check_eq "after SIGTERM" "$(count)" 13

# restart after the signal: appended while down, nothing lost or doubled
add 3
check_rc "restart after signal" 0 "$IP" ingest --db "$DB" --follow "$LOG" --exit-idle 1 --poll 20
check_eq "restart after signal" "$(count)" 16

# SIGINT with lines read: committed before exit
"$IP" ingest --db "$DB" --follow "$LOG" --poll 20 2>/dev/null &
PID=$!
add 5
check "seen before SIGINT" wait_count 21
kill -INT "$PID"
wait "$PID"
check_eq "SIGINT: exit 0" "$?" 0
PID=

# rotated while down: the new file is read from its start
mv "$LOG" "$LOG.2"
add 2
check_rc "rotated while down" 0 "$IP" ingest --db "$DB" --follow "$LOG" --exit-idle 1 --poll 20
check_eq "rotated while down" "$(count)" 23

# truncated while down (same inode, smaller): read from the start
: >"$LOG"
add 1
check_rc "truncated while down" 0 "$IP" ingest --db "$DB" --follow "$LOG" --exit-idle 1 --poll 20
check_eq "truncated while down" "$(count)" 24

# many lines, several batches each committed with the position
python3 -c "import sys; sys.stdout.write(sys.argv[1] * 2500)" "$LINE"$'\n' >>"$LOG"
check_rc "batches" 0 "$IP" ingest --db "$DB" --follow "$LOG" --exit-idle 1 --poll 20 --batch 100
check_eq "2500 more in batches of 100" "$(count)" 2524

# Zeek TSV resumed mid-file: the header lines are re-read for the columns
Z=$WORK/dns.log
head -8 "$FIXTURES/zeek/logs-ts/opt.basic__dns.log" >"$Z"
sed -n 14,15p "$FIXTURES/zeek/logs-ts/opt.basic__dns.log" >>"$Z"
"$IP" ingest --db "$DB" --follow "$Z" --exit-idle 1 --poll 20 2>"$WORK/z1.err"
check_grep "zeek follow 1" '2 lines read, 1 accepted, 0 rejected' "$WORK/z1.err"
sed -n 16,17p "$FIXTURES/zeek/logs-ts/opt.basic__dns.log" >>"$Z"
"$IP" ingest --db "$DB" --follow "$Z" --exit-idle 1 --poll 20 2>"$WORK/z2.err"
check_grep "zeek follow resumed" '2 lines read, 1 accepted, 0 rejected' "$WORK/z2.err"

# a rejected line is reported with the file's own line number after a resume
echo 'garbage||line' >>"$LOG"
"$IP" ingest --db "$DB" --follow "$LOG" --exit-idle 1 --poll 20 2>"$WORK/rej.err"
check_grep "line numbers continue across restarts" 'sensor.log:2502: rejected' "$WORK/rej.err"

# a "current" symlink re-pointed on rotation is a rotation
mkdir "$WORK/sym" && cd "$WORK/sym"
test_store DB symdb
LOG=$WORK/sym/a.log
add 2
ln -s a.log current
"$IP" ingest --db "$DB" --follow current --poll 20 2>/dev/null &
PID=$!
check "symlink: first file" wait_count 2
LOG=$WORK/sym/b.log
add 3
ln -sfn b.log current
check "symlink re-pointed: second file" wait_count 5
kill -TERM "$PID"
wait "$PID"
PID=
cd "$WORK"

check_rc "missing file" 2 "$IP" ingest --db "$DB" --follow "$WORK/nope.log" --exit-idle 1
check_rc "--follow with other inputs" 2 "$IP" ingest --db "$DB" --follow "$LOG" "$LOG"
finish
