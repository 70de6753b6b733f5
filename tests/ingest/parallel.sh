#!/bin/bash
# Helper parser threads (--parsers): COF and EVE input parsed by several
# threads must give the same database, the same counts and the same
# reject reports, in input order with the right line numbers, as parsing
# in the reading thread.  Inputs span many chunks (4096 lines each).
. "$(dirname "$0")/../lib.sh"
IP=$(realpath "$INFRAPIVOT")
# at NAME: S is the address of store NAME, made on first use (a directory,
# or a cluster database: tests/lib.sh), and on ClickHouse its control
# directory the exported one.  The stores it compares are these; those
# that only count what the parsers accept stay directories.
declare -A STORES
at() {
	[ -n "${STORES[$1]:-}" ] || test_store "STORES[$1]" "$1"
	S=${STORES[$1]}
	! on_clickhouse || export INFRAPIVOT_CONTROL=$WORK/ctl-$1
}

# 30,000 lines: COF records and certificate sightings, blank and CRLF
# lines, and 25 bad lines of several kinds at known line numbers (one
# over-long).  The generator prints the bad line numbers to fd 3.
python3 - "$WORK/in.ndjson" 3>"$WORK/badlines" <<'EOF'
import json, os, sys
bad = {7: 'json', 4096: 'json', 4097: 'rrname', 8191: 'ip', 8192: 'long', 12000: 'json'}
for i in range(20):
    bad[13000 + 791 * i] = ['json', 'rrname', 'ip', 'type'][i % 4]
badfd = os.fdopen(3, 'w')
with open(sys.argv[1], 'w', newline='') as f:
    for n in range(1, 30001):
        kind = bad.get(n)
        if kind == 'json':
            f.write('{"rrname":"broken.example","rrtype":"A",\n')
        elif kind == 'rrname':
            f.write(json.dumps({"rrtype": "A", "rdata": "192.0.2.1", "time_first": 1, "time_last": 2}) + '\n')
        elif kind == 'ip':
            f.write(json.dumps({"rrname": "badip.example", "rrtype": "A", "rdata": "300.1.2.3",
                                "time_first": 1, "time_last": 2}) + '\n')
        elif kind == 'type':
            f.write(json.dumps({"rrname": "badtype.example", "rrtype": "NOPE", "rdata": "x",
                                "time_first": 1, "time_last": 2}) + '\n')
        elif kind == 'long':
            f.write(json.dumps({"rrname": "long.example", "rrtype": "TXT", "rdata": "x" * 5000,
                                "time_first": 1, "time_last": 2}) + '\n')
        elif n % 1000 == 500:
            f.write('\n')  # blank: not a line of data, but it is numbered
        elif n % 10 == 3:
            f.write(json.dumps({"ip": "198.51.100.%d" % (n % 250 + 1), "port": 443,
                                "cert_sha1": "%040x" % (n % 97), "time_first": 1700000000 + n,
                                "time_last": 1700000100 + n, "sni": "s%d.certs.example" % (n % 13),
                                "sensor_id": "sensor-%d" % (n % 5)}) + '\n')
        else:
            eol = '\r\n' if n % 7 == 0 else '\n'
            f.write(json.dumps({"rrname": "h%d.zone%d.example" % (n % 3001, n % 17), "rrtype": "A",
                                "rdata": ["192.0.2.%d" % (n % 200 + 1), "203.0.113.%d" % (n % 50 + 1)],
                                "time_first": 1600000000 + n, "time_last": 1600000000 + 2 * n,
                                "count": n % 4 + 1, "sensor_id": "sensor-%d" % (n % 5)}) + eol)
    for n in sorted(bad):
        print(n, file=badfd)
EOF
NBAD=$(wc -l <"$WORK/badlines")
check_eq "generator planted 26 bad lines" "$NBAD" 26

run() { # NAME PARSERS ARGS... -> db, stderr, rejects and summary under $WORK/NAME.*
	local name=$1 n=$2 db=$WORK/$1.db; shift 2
	case $name in seq | par) at "$name" && db=$S ;; esac
	"$IP" ingest --no-progress --parsers "$n" --max-line 4000 --db "$db" \
		--rejects "$WORK/$name.rej" "$@" >"$WORK/$name.out" 2>"$WORK/$name.err"
	echo $? >"$WORK/$name.rc"
	if grep -qE 'Sanitizer|runtime error' "$WORK/$name.err"; then
		bad "sanitizer report in $name"
		cat "$WORK/$name.err" >&2
	fi
}
counts() { sed -nE 's/^ingest: ([0-9]+) lines read, ([0-9]+) accepted, ([0-9]+) rejected, ([0-9]+) skipped; ([0-9]+) records.*/\1 \2 \3 \4 \5/p' "$1"; }

run seq 1 "$WORK/in.ndjson"
run par 3 "$WORK/in.ndjson"
run dflt 0 "$WORK/in.ndjson" 2>/dev/null || true
check_eq "--parsers 0 is refused" "$(cat "$WORK/dflt.rc")" 2

# 30,000 numbered lines, 30 blank; 26 bad; 3,000 sightings, the rest
# COF lines with two addresses each
for m in seq par; do
	check_eq "$m: exit status 1 (some rejected)" "$(cat "$WORK/$m.rc")" 1
	check_eq "$m: counts" "$(counts "$WORK/$m.err")" "29970 29944 26 0 56890"
	# rejects file: every bad line, in input order, with its number
	python3 - "$WORK/$m.rej" "$WORK/badlines" "$WORK/in.ndjson" <<'EOF' || bad "$m: rejects file"
import json, sys
rej = [json.loads(l) for l in open(sys.argv[1])]
want = [int(l) for l in open(sys.argv[2])]
got = [r["line"] for r in rej]
assert got == want, (got, want)
assert all(r["input"] == sys.argv[3] for r in rej), rej[0]
long = [r for r in rej if r["line"] == 8192][0]
assert "longer than 4000 bytes" in long["reason"], long
assert len(long["text"]) == 1024, len(long["text"])
assert "rrname" in [r for r in rej if r["line"] == 4097][0]["reason"]
EOF
	# stderr: the first 20, in order, then the note
	grep -oE '^[^ ]+:[0-9]+: rejected' "$WORK/$m.err" | sed -E 's/.*:([0-9]+): rejected/\1/' \
		>"$WORK/$m.errlines"
	check_eq "$m: first 20 rejects on stderr, in order" "$(paste -sd, "$WORK/$m.errlines")" \
		"$(head -20 "$WORK/badlines" | paste -sd,)"
	check_grep "$m: note about further rejects" "further rejects not shown" "$WORK/$m.err"
done

# the same database either way
for q in "domain *.zone3.example" "domain h1234.zone10.example" "ip 192.0.2.0/24" \
	"ip 198.51.100.4" "cert $(printf '%040x' 5)"; do
	at seq
	# shellcheck disable=SC2086
	"$IP" lookup --limit 100000 --db "$S" $q 2>/dev/null | sort >"$WORK/a"
	at par
	# shellcheck disable=SC2086
	"$IP" lookup --limit 100000 --db "$S" $q 2>/dev/null | sort >"$WORK/b"
	check "lookup $q: not empty" test -s "$WORK/a"
	check "lookup $q: same with helper parsers" cmp -s "$WORK/a" "$WORK/b"
done
at seq
"$IP" stats --json --db "$S" >"$WORK/s1" 2>/dev/null
at par
"$IP" stats --json --db "$S" >"$WORK/s2" 2>/dev/null
check "same record counts" same_stats "$WORK/s1" "$WORK/s2" 6000

# several inputs in one run, one of them standard input: line numbers
# restart and reports name the input
head -5000 "$WORK/in.ndjson" >"$WORK/first.ndjson"
run multi 2 "$WORK/first.ndjson" - <"$WORK/in.ndjson"
check_eq "multi: counts" "$(counts "$WORK/multi.err")" "34965 34936 29 0 66374"
check "multi: rejects name their input and line" python3 -c '
import json,sys
rej=[json.loads(l) for l in open(sys.argv[1])]
got=[(r["input"].split("/")[-1], r["line"]) for r in rej]
assert got[:3]==[("first.ndjson",7),("first.ndjson",4096),("first.ndjson",4097)], got[:4]
assert got[3]==("-",7) or got[3]==("<stdin>",7) or got[3][1]==7, got[3]
assert len(got)==29, len(got)
' "$WORK/multi.rej"

# a dry run counts the same
"$IP" ingest --dry-run --no-progress -q --parsers 2 --max-line 4000 "$WORK/in.ndjson" 2>"$WORK/dry.err"
check_eq "dry run: counts" "$(counts "$WORK/dry.err" | cut -d' ' -f1-4)" "29970 29944 26 0"

# EVE: the Suricata fixtures through helper parsers and without
EVE=$(ls "$FIXTURES"/suricata/*.json* 2>/dev/null | head -1)
if [ -n "$EVE" ]; then
	at e1
	"$IP" ingest -q --no-progress --parsers 1 --db "$S" "$FIXTURES"/suricata/*.json* 2>"$WORK/e1.err"
	at e4
	"$IP" ingest -q --no-progress --parsers 4 --db "$S" "$FIXTURES"/suricata/*.json* 2>"$WORK/e4.err"
	check_eq "eve: same counts" "$(counts "$WORK/e4.err")" "$(counts "$WORK/e1.err")"
	at e1
	"$IP" stats --json --db "$S" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["resolutions"], d["cert_sightings"])' >"$WORK/e1.s"
	at e4
	"$IP" stats --json --db "$S" 2>/dev/null | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["resolutions"], d["cert_sightings"])' >"$WORK/e4.s"
	check "eve: records landed" test "$(cut -d' ' -f1 "$WORK/e1.s")" -gt 0
	check_eq "eve: same records" "$(cat "$WORK/e4.s")" "$(cat "$WORK/e1.s")"
else
	bad "no Suricata EVE fixture under $FIXTURES/suricata"
fi
# Zeek TSV: dns.log and conn.log data lines go to the helpers once their
# header is read; header lines, and ssl.log lines (they join by file id),
# stay with the reading thread after every earlier line.  One input of
# 20,000 lines: a conn.log, then a dns.log header mid-file, then an
# ssl.log, bad lines at known numbers in each part.
python3 - "$WORK/zeek.log" 3>"$WORK/zbad" <<'EOF2'
import os, sys
badfd = os.fdopen(3, 'w')
out = open(sys.argv[1], 'w')
n = 0
def w(line, bad=False):
    global n
    n += 1
    out.write(line + '\n')
    if bad:
        print(n, file=badfd)
def header(path, fields, types):
    w('#separator \\x09'); w('#set_separator\t,'); w('#empty_field\t(empty)')
    w('#unset_field\t-'); w('#path\t' + path)
    w('#fields\t' + '\t'.join(fields)); w('#types\t' + '\t'.join(types))
header('conn', ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto',
                'orig_bytes', 'resp_bytes'],
       ['time', 'string', 'addr', 'port', 'addr', 'port', 'enum', 'count', 'count'])
for i in range(9000):
    t = 1772409600 + 7 * i
    if i % 997 == 5:
        w('%d.5\tCx\t10.0.0.%d\t5000\tnot-an-ip\t443\ttcp\t10\t20' % (t, i % 50), True)
    elif i % 1499 == 7:
        w('%d.5\tCx\t10.0.0.1\t5000\t192.0.2.1\t443\ttcp\tmany\t20' % t, True)
    else:
        w('%d.25\tC%d\t10.0.%d.%d\t5000\t198.51.100.%d\t443\ttcp\t%d\t%d'
          % (t, i, i % 3, i % 40 + 1, i % 90 + 1, 100 + i % 7, 2000 + i % 11))
header('dns', ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'query',
               'qtype_name', 'rcode_name', 'answers', 'rejected'],
       ['time', 'string', 'addr', 'port', 'addr', 'port', 'string', 'string', 'string',
        'vector[string]', 'bool'])
for i in range(9000):
    t = 1772409600 + 5 * i
    if i % 1201 == 11:
        w('%d.1\tD\t10.0.0.2\t53\t10.0.0.53\t53\tbad..name..example\tA\tNOERROR\t192.0.2.9\tF' % t, True)
    else:
        w('%d.1\tD%d\t10.0.1.%d\t5353\t10.0.0.53\t53\th%d.zone%d.example\tA\tNOERROR\t203.0.113.%d\tF'
          % (t, i, i % 30 + 1, i % 700, i % 9, i % 120 + 1))
w('#close\t2026-03-09-00-00-00')
header('ssl', ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'server_name',
               'cert_chain_fps'],
       ['time', 'string', 'addr', 'port', 'addr', 'port', 'string', 'vector[string]'])
for i in range(1900):
    t = 1772409600 + 11 * i
    if i % 700 == 3:
        w('oops\tS\t10.0.0.3\t5000\t192.0.2.3\t443\tx.example\t%040x' % i, True)
    else:
        w('%d.0\tS%d\t10.0.2.%d\t5000\t192.0.2.%d\t443\ts%d.example\t%040x'
          % (t, i, i % 20 + 1, i % 60 + 1, i % 40, i % 33 + 1))
EOF2
zrun() { # NAME PARSERS
	at "$1"
	"$IP" ingest --no-progress --parsers "$2" --db "$S" --rejects "$WORK/$1.rej" \
		"$WORK/zeek.log" >/dev/null 2>"$WORK/$1.err"
	echo $? >"$WORK/$1.rc"
}
zrun zseq 1
zrun zpar 3
check "zeek: bad lines planted" test "$(wc -l <"$WORK/zbad")" -ge 20
for m in zseq zpar; do
	check_eq "zeek $m: exit status 1 (some rejected)" "$(cat "$WORK/$m.rc")" 1
	check_eq "zeek $m: rejects, in input order" \
		"$(python3 -c 'import json,sys; print(",".join(str(json.loads(l)["line"]) for l in open(sys.argv[1])))' "$WORK/$m.rej")" \
		"$(paste -sd, "$WORK/zbad")"
done
check_eq "zeek: same counts with helpers" "$(counts "$WORK/zpar.err")" "$(counts "$WORK/zseq.err")"
check_grep "zeek: client sightings counted" "ingest: 1[0-9]* client sightings" "$WORK/zseq.err"
# the same counts (the rate at the end of the line differs from run to run)
check_eq "zeek: same client sightings line" "$(grep 'client sightings' "$WORK/zpar.err" | sed 's/, [0-9]*\/s$//')" \
	"$(grep 'client sightings' "$WORK/zseq.err" | sed 's/, [0-9]*\/s$//')"
check_grep "zeek: client sightings rate" 'client pairs\), [0-9]+/s$' "$WORK/zpar.err"
for q in "domain *.zone3.example" "ip 192.0.2.0/24" "ip 198.51.100.7 --clients" \
	"domain h12.zone3.example --clients"; do
	at zseq
	# shellcheck disable=SC2086
	"$IP" lookup --limit 100000 --db "$S" $q >"$WORK/a" 2>/dev/null
	at zpar
	# shellcheck disable=SC2086
	"$IP" lookup --limit 100000 --db "$S" $q >"$WORK/b" 2>/dev/null
	check "zeek lookup $q: not empty" test -s "$WORK/a"
	check "zeek lookup $q: same with helper parsers" cmp -s "$WORK/a" "$WORK/b"
done
at zseq
"$IP" beacons --now 1773000000 --min-score 0 --limit 1000 --db "$S" >"$WORK/a" 2>/dev/null
at zpar
"$IP" beacons --now 1773000000 --min-score 0 --limit 1000 --db "$S" >"$WORK/b" 2>/dev/null
check "zeek: beacons not empty" grep -q destination "$WORK/a"
check "zeek: same beacons (gap histograms) with helper parsers" cmp -s "$WORK/a" "$WORK/b"
finish
