#!/bin/bash
# A full disk (a small tmpfs): the CLI says "no space left on device" and
# names the database, exit 2; an HTTP push answers 507 with a JSON error;
# what was committed stays intact (a prefix) and ingest resumes once space
# is freed.  Needs mount(8) of a tmpfs (root): otherwise skipped (77).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/rel_lib.sh"
MNT=$WORK/mnt
mkdir -p "$MNT"
SIZE=64m N=30000
[ "$LONG" = 1 ] && SIZE=256m N=150000
if ! mount -t tmpfs -o size=$SIZE tmpfs "$MNT" 2>"$WORK/mount.err"; then
	echo "SKIP: cannot mount a tmpfs here ($(cat "$WORK/mount.err")); the disk-full test needs root"
	exit 77
fi
CLEANUP_EXTRA='[ -n "${SRV_PID:-}" ] && kill "$SRV_PID" 2>/dev/null; wait 2>/dev/null; umount "$MNT"'
DB=$MNT/db
# pairs of lines: f.example.com seen at T0+i (the prefix counter), and a
# name of its own (so the database grows)
awk -v n="$N" -v t0=$T0 'BEGIN { for (i = 1; i <= n; i++) {
	printf "{\"rrname\":\"f.example.com\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.1\",\"time_first\":%d,\"time_last\":%d,\"count\":1}\n", t0 + i, t0 + i
	printf "{\"rrname\":\"n%d.filler-name-to-make-the-database-grow.example.com\",\"rrtype\":\"A\",\"rdata\":\"198.51.100.%d\",\"time_first\":%d,\"time_last\":%d,\"count\":1}\n", i, i % 250, t0 + i, t0 + i } }' >"$WORK/in.json"

# the database made, then the disk filled up to ~1 MB
check_rc "a small first ingest" 0 "$IP" ingest --db "$DB" --batch 500 <(head -n 20 "$WORK/in.json")
avail=$(df --output=avail -B1 "$MNT" | tail -1)
fallocate -l $((avail - (1 << 20))) "$MNT/filler" 2>/dev/null ||
	dd if=/dev/zero of="$MNT/filler" bs=1M count=$(((avail >> 20) - 1)) 2>/dev/null
"$IP" ingest --db "$DB" --batch 500 --follow "$WORK/in.json" --exit-idle 1 --poll 20 \
	>"$WORK/full.out" 2>"$WORK/full.err"
check_eq "full disk: exit 2" "$?" 2
check_grep "full disk: says so" "no space left on device" "$WORK/full.err"
check_grep "full disk: names the database" "$DB" "$WORK/full.err"
read -r c last <<<"$(state "$DB")"
# (the first ingest counted lines 1-20, ten of them f.example.com, once more)
check_eq "full disk: the committed part is a prefix" "$c" "$((last + 10))"
check "full disk: something was committed before" test "$c" -gt 20

# HTTP push on the full disk: 507, a JSON error
PORT=$(free_port)
"$IP" serve --db "$DB" --listen "127.0.0.1:$PORT" --threads 2 2>>"$WORK/server.log" &
SRV_PID=$!
wait_for 10 curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"
code=$(curl -s -o "$WORK/push.json" -w '%{http_code}' --data-binary @"$WORK/in.json" \
	-H "Idempotency-Key: diskfull-push" "http://127.0.0.1:$PORT/api/v1/observations")
check_eq "push on a full disk: 507" "$code" 507
check_grep "push on a full disk: a JSON error" '"code": *"insufficient_storage"' "$WORK/push.json"
check_grep "push on a full disk: says so" "no space left on device" "$WORK/push.json"
# what the push committed before the disk filled (the pages LMDB had free
# may take a unit or two): exactly what its answer says, in f.example.com
# lines (the odd lines of the input)
PUSHED=$(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])).get("committed") or {}; print(c.get("line", 0))' "$WORK/push.json")
check "push on a full disk: says what it committed" grep -q '"committed"' "$WORK/push.json"
kill "$SRV_PID"
wait "$SRV_PID"
SRV_PID=

# space freed: the follow resumes where it stopped, every line once
rm -f "$MNT/filler"
"$IP" ingest --db "$DB" --batch 500 --follow "$WORK/in.json" --exit-idle 1 --poll 20 2>"$WORK/resume.err"
check_eq "space freed: ingest resumes" "$?" 0
sed "s/^/  resume: /" "$WORK/resume.err" | grep -v "lines read" >&2
read -r c last <<<"$(state "$DB")"
# the first 20 lines (10 of f.example.com) were ingested once more up front,
# and the push's committed lines once more
check_eq "space freed: every line once" "$c $last" "$((N + 10 + (PUSHED + 1) / 2)) $N"
umount "$MNT" && CLEANUP_EXTRA=
finish
