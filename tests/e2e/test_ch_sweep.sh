#!/usr/bin/env bash
# test_ch_sweep.sh - the watch sweep (watch/sweep.c, store/ch_sweep.c;
# docs/scale-out.md, "The watch sweep") against the stand-in for
# ClickHouse's HTTP interface (tests/store/ch_fake_server.py): the query it
# sends (the window from the checkpoint less the overlap, the watched
# names and addresses), the rows fed to the standing pivot once (a row that
# landed twice, a second sweep over the same window), and every failure —
# the server's error, a row cut short, the clock's query failing, the
# server gone, an LMDB store, bad options — exits 2 with the reason and
# leaves the checkpoint (the control LMDB's meta table) as it was.  Then
# `serve --watch-sweep` sweeps by itself.  Default suite; the real cluster,
# compared with LMDB's hook: tests/store/test_ch_sweep.sh.
. "$(dirname "$0")/../lib.sh"
IP=$INFRAPIVOT
BODIES=$WORK/bodies
mkdir -p "$BODIES"
ch_fake_start "default:s3cret" "$BODIES"
SERVE=""
CLEANUP_EXTRA='kill $SRV $SERVE 2>/dev/null'
export INFRAPIVOT_CH_USER=default INFRAPIVOT_CH_PASSWORD=s3cret
export INFRAPIVOT_CONTROL=$WORK/control
unset INFRAPIVOT_DB INFRAPIVOT_CH_CREDENTIALS
cd "$WORK" || exit 1

sweep() { "$IP" watchlist sweep --store "$S" --json "$@" >"$WORK/out" 2>"$WORK/err"; }
# the control LMDB's meta table (the checkpoint's record among the rest)
meta() { mdb_dump -p -s meta "$INFRAPIVOT_CONTROL"; }
listed() { "$IP" watchlist export w --format text --store "$S" | sort | tr '\n' ' '; }

# --- nothing watched (a control directory of its own): a sweep reads no
# row and succeeds (it sorted an empty, null row list: UBSan stopped it)
INFRAPIVOT_CONTROL=$WORK/control0 "$IP" watchlist sweep --store "$S" --json >"$WORK/out" 2>"$WORK/err"
check_eq "sweep with nothing watched: exit status" "$?" 0
check_eq "... no name, no address, no row" \
	"$(field "$WORK/out" names) $(field "$WORK/out" addrs) $(field "$WORK/out" rows)" "0 0 0"

# the entry an hour old: there before the stand-in's rows landed (10 s
# before its clock, which a sweep on this node's clock takes for now)
"$IP" watchlist create w --auto-expand resolves,cname --store "$S" >/dev/null
"$IP" watchlist add w evil.example.com --now $(($(date +%s) - 3600)) --store "$S" >/dev/null
check_eq "before a sweep: the list" "$(listed)" "evil.example.com "

# --- the first sweep: from the log's start; the row that landed twice is
# fed once
: >"$BODIES/selects"
sweep
check_eq "first sweep: exit status" "$?" 0
check_eq "... from the start" "$(field "$WORK/out" from)" 0
check_eq "... checkpoint: the cluster's clock" "$(field "$WORK/out" checkpoint)" 1700000000
check_eq "... one watched name, no address" "$(field "$WORK/out" names) $(field "$WORK/out" addrs)" "1 0"
check_eq "... 3 rows read, 2 fed" "$(field "$WORK/out" rows) $(field "$WORK/out" fed)" "3 2"
check_grep "... the query: the window and the name (owner or CNAME target)" \
	"FROM sweep_rr WHERE ins >= toDateTime\(0\) AND \(0 OR rrname IN \('evil.example.com'\) OR \(rrtype = 5 AND rdata IN \('evil.example.com'\)\)\)" \
	"$BODIES/selects"
check_eq "... the list: the address and the alias added" "$(listed)" \
	"203.0.113.5 evil.example.com www.evil.example.com "
"$IP" watchlist show w --json --store "$S" >"$WORK/show"
check_grep "... with the sighting in the provenance" \
	'auto: resolves with evil.example.com, seen 2023-11-14T23:13:20Z by s1' "$WORK/show"
version=$("$IP" watchlist list --json --store "$S" | python3 -c 'import json,sys; print(json.load(sys.stdin)["watchlists"][0]["version"])')

# --- a second sweep: the overlap again, nothing fed twice
: >"$BODIES/selects"
sweep
check_eq "second sweep: exit status" "$?" 0
check_eq "... from the checkpoint less the overlap (300 s)" "$(field "$WORK/out" from)" 1699999700
check_eq "... the same 3 rows read, none fed" "$(field "$WORK/out" rows) $(field "$WORK/out" fed)" "3 0"
check_grep "... the query's window" "ins >= toDateTime\(1699999700\)" "$BODIES/selects"
check_eq "... the list's version unchanged" \
	"$("$IP" watchlist list --json --store "$S" | python3 -c 'import json,sys; print(json.load(sys.stdin)["watchlists"][0]["version"])')" "$version"
# (this node's clock pinned a day ahead: after every entry so far, within
# their time to live)
NOW=$(($(date +%s) + 86400))
sweep --overlap 5 --now "$NOW"
check_eq "--overlap 5: from" "$(field "$WORK/out" from)" 1699999995

# --- a name watched after the last sweep began: its row below the
# checkpoint (there when that sweep read the log) is not fed, as LMDB's
# hook only sees the writes after an entry
"$IP" watchlist add w late.example.com --now $((NOW + 1)) --store "$S" >/dev/null
: >"$BODIES/selects"
sweep --overlap 5 --now $((NOW + 2))
check_eq "a name added after the last sweep: exit status" "$?" 0
check_eq "... its row below the checkpoint not fed" "$(field "$WORK/out" fed)" 0
check "... nor linked" sh -c "! '$IP' watchlist export w --format text --store '$S' | grep -q 203.0.113.77"
check_grep "... asked for from the checkpoint on" \
	"ins >= toDateTime\(1700000000\) AND \(0 OR rrname IN \('evil.example.com', 'late.example.com'\)" "$BODIES/selects"
check_grep "... below it only for what was watched when the last sweep began" \
	"ins >= toDateTime\(1699999995\) AND ins < toDateTime\(1700000000\) AND \(0 OR rrname IN \('evil.example.com'\) OR" "$BODIES/selects"
"$IP" watchlist remove w late.example.com --store "$S" >/dev/null

# --- failures: exit 2, the reason, the checkpoint as it was
echo 1700000100 >"$BODIES/clock"
fails() { # WHAT PATTERN
	meta >"$WORK/meta.before"
	sweep
	check_eq "$1: exit status" "$?" 2
	check_grep "... the reason" "$2" "$WORK/err"
	check_grep "... says the checkpoint did not move" "checkpoint not moved" "$WORK/err"
	meta >"$WORK/meta.after"
	check "... the control LMDB's meta table unchanged" cmp -s "$WORK/meta.before" "$WORK/meta.after"
}
"$IP" watchlist add w fail.example.com --store "$S" >/dev/null
fails "the server fails the sweep's query" "Code: 159.*Timeout exceeded"
"$IP" watchlist remove w fail.example.com --store "$S" >/dev/null
"$IP" watchlist add w cut.example.com --store "$S" >/dev/null
fails "a row cut short" "does not decode"
"$IP" watchlist remove w cut.example.com --store "$S" >/dev/null
touch "$BODIES/clock-fail"
fails "the clock's query fails" "Connection loss"
rm "$BODIES/clock-fail"
sweep
check_eq "after the failures: exit status" "$?" 0
check_eq "... from the last sweep that worked (--overlap 5: no further back)" \
	"$(field "$WORK/out" from)" 1699999995
check_eq "... nothing fed twice" "$(field "$WORK/out" fed)" 0
check_eq "... checkpoint moved now" "$(field "$WORK/out" checkpoint)" 1700000100

# --- usage and the wrong store
"$IP" watchlist sweep --store "$S" --overlap x >/dev/null 2>"$WORK/err"
check_eq "--overlap x: exit status" "$?" 2
check_grep "... says so" "overlap must be an integer" "$WORK/err"
"$IP" watchlist sweep --store "$S" extra >/dev/null 2>"$WORK/err"
check_eq "an argument: exit status" "$?" 2
"$IP" watchlist sweep --db "$WORK/lmdb" >/dev/null 2>"$WORK/err"
check_eq "an LMDB store: exit status" "$?" 2
check_grep "... says the sweep is for a ClickHouse store" "is for a ClickHouse store" "$WORK/err"

# --- serve sweeps by itself (another control directory: a fresh list)
export INFRAPIVOT_CONTROL=$WORK/control2
"$IP" watchlist create w --auto-expand resolves --store "$S" >/dev/null
"$IP" watchlist add w evil.example.com --store "$S" >/dev/null
HP=$(free_port)
"$IP" serve --store "$S" --listen "127.0.0.1:$HP" --watch-sweep 1 --now 1700000000 2>"$WORK/serve.err" &
SERVE=$!
wait_port "$HP"
added=""
for _ in $(seq 200); do
	curl -s "http://127.0.0.1:$HP/api/v1/watchlists/w?format=text" >"$WORK/served"
	grep -qx 203.0.113.5 "$WORK/served" && { added=1; break; }
	sleep 0.05
done
check_eq "serve --watch-sweep: the address added by the server's sweep" "$added" 1
check_grep "... only over the list's edges (resolves: no alias)" "^evil.example.com$" "$WORK/served"
check "... and no alias" sh -c "! grep -q www.evil.example.com '$WORK/served'"
kill "$SERVE"
wait "$SERVE"
check_eq "... stops on SIGTERM: exit status" "$?" 0
SERVE=""

# --- more watched names than one query takes (500): two queries, the
# rows of both fed
export INFRAPIVOT_CONTROL=$WORK/control3
"$IP" watchlist create w --auto-expand resolves,cname --store "$S" >/dev/null
{ seq 0 599 | sed 's/^/n/; s/$/.example.org/'; echo evil.example.com; } |
	"$IP" watchlist add w - --store "$S" >/dev/null
: >"$BODIES/selects"
sweep
check_eq "601 watched names: exit status" "$?" 0
check_eq "... in two queries" "$(grep -c 'FROM sweep_rr' "$BODIES/selects")" 2
check_eq "... 601 names asked for, the rows of the one matched fed" \
	"$(field "$WORK/out" names) $(field "$WORK/out" fed)" "601 2"

# --- an entry newer than the rows (a control directory of its own): the
# first sweep reads them from the log's start, but they were written
# before the entry, so they link nothing (LMDB's hook never sees them)
export INFRAPIVOT_CONTROL=$WORK/control5
"$IP" watchlist create w --auto-expand resolves,cname --store "$S" >/dev/null
"$IP" watchlist add w evil.example.com --store "$S" >/dev/null
sweep
check_eq "an entry newer than the rows: 3 rows read, 2 fed" \
	"$(field "$WORK/out" rows) $(field "$WORK/out" fed)" "3 2"
check_eq "... and nothing linked" "$(listed)" "evil.example.com "

# --- certificate edges (serves, sni, san, key): a list seeded with an
# address, three generations deep (a control directory of its own).  The
# stand-in's clock jumps 100 s between sweeps a second apart, so this
# node's clock is pinned (a day ahead): rows are not placed on it.
export INFRAPIVOT_CONTROL=$WORK/control4
echo 1700000000 >"$BODIES/clock"
"$IP" watchlist create c --auto-expand serves,sni,san,key --auto-generations 3 --store "$S" >/dev/null
"$IP" watchlist add c 198.51.100.20 --store "$S" >/dev/null
clisted() { "$IP" watchlist export c --format text --store "$S" | sort | tr '\n' ' '; }
: >"$BODIES/selects"
sweep --now "$NOW"
check_eq "certificates, first sweep: exit status" "$?" 0
check_eq "... one address asked for, no name, certificate or key" \
	"$(field "$WORK/out" names) $(field "$WORK/out" addrs) $(field "$WORK/out" certs) $(field "$WORK/out" keys)" "0 1 0 0"
check_eq "... 2 rows read (one landed twice), 1 fed" "$(field "$WORK/out" rows) $(field "$WORK/out" fed)" "2 1"
check_grep "... the query: the window and the address of a sighting" \
	"FROM sweep_cert WHERE ins >= toDateTime\(0\) AND \(0 OR \(bitAnd\(flags, 1\) = 1 AND ip IN \(toFixedString\(unhex\('00000000000000000000FFFFC6336414'\), 16\)\)\)\) ORDER BY ins, blk, seq" \
	"$BODIES/selects"
check "... no resolution asked for (the list has no resolution edge)" sh -c "! grep -q 'FROM sweep_rr' '$BODIES/selects'"
check_eq "... the list: the certificate (serves), its SNI and SAN names (sni, san)" "$(clisted)" \
	"198.51.100.20 bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb example.com www.example.com "
"$IP" watchlist show c --json --store "$S" >"$WORK/show"
check_grep "... with the sighting in the provenance" \
	'auto: serves with 198.51.100.20, seen 2023-11-14T23:13:20Z by s1' "$WORK/show"
# the certificate watched now: its metadata row (later) brings its key
echo 1700000100 >"$BODIES/clock"
: >"$BODIES/selects"
sweep --now "$NOW"
check_eq "certificates, second sweep: exit status" "$?" 0
check_eq "... the certificate and two names asked for" \
	"$(field "$WORK/out" names) $(field "$WORK/out" certs) $(field "$WORK/out" keys)" "2 1 0"
check_grep "... by its reference and the SHA-256 the cluster has for it" \
	"OR cert IN \(toFixedString\(unhex\('01BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB000000000000000000000000'\), 33\)\) OR \(sha256 != '' AND sha256 GLOBAL IN \(SELECT sha256 FROM cert WHERE sha256 != '' AND cert IN \(toFixedString" \
	"$BODIES/selects"
check_grep "... names by SNI or SAN" "OR hasAny\(names, \['example.com', 'www.example.com'\]\)" "$BODIES/selects"
check_eq "... the metadata row fed" "$(field "$WORK/out" fed)" 1
check_eq "... the key added (key)" "$(clisted)" \
	"198.51.100.20 abababababababababababababababababababababababababababababababab bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb example.com www.example.com "
echo 1700000200 >"$BODIES/clock"
"$IP" watchlist add c "$(printf 'cd%.0s' $(seq 32))" --type cert --store "$S" >/dev/null
: >"$BODIES/selects"
sweep --now "$NOW"
check_eq "certificates, third sweep: the key asked for" "$(field "$WORK/out" keys)" 1
check_grep "... by the key of a row that knows it" \
	"OR \(bitAnd\(flags, 4\) = 4 AND spki IN \(toFixedString\(unhex\('ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB'\), 32\)\)\)" \
	"$BODIES/selects"
check_grep "... a SHA-256 by its bytes" "OR sha256 IN \(unhex\('cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd'\)\)" "$BODIES/selects"
check_eq "... nothing fed again" "$(field "$WORK/out" fed)" 0
# failures of the certificate query: exit 2, the reason, the checkpoint
# (and the list) as they were
for bad in "21 Code: 159.*Timeout exceeded" "22 does not decode" "23 does not decode" \
	"24 does not decode" "25 does not decode" "26 does not decode"; do
	"$IP" watchlist add c "198.51.100.${bad%% *}" --store "$S" >/dev/null
	before=$(clisted)
	fails "certificate log, 198.51.100.${bad%% *}" "${bad#* }"
	check_eq "... the list unchanged" "$(clisted)" "$before"
	"$IP" watchlist remove c "198.51.100.${bad%% *}" --store "$S" >/dev/null
done
echo 1700000000 >"$BODIES/clock"

# --- the server gone: a clear error, the checkpoint as it was
export INFRAPIVOT_CONTROL=$WORK/control
kill "$SRV"
wait "$SRV" 2>/dev/null
meta >"$WORK/meta.before"
sweep
check_eq "the server gone: exit status" "$?" 2
check_grep "... names the server" "127.0.0.1:$PORT.*(Couldn't connect|Connection refused)" "$WORK/err"
meta >"$WORK/meta.after"
check "... the checkpoint unchanged" cmp -s "$WORK/meta.before" "$WORK/meta.after"

finish
