#!/bin/bash
# The writer's merge table (docs/write-path.md): plain ingest merges
# repeats in memory and commits in large transactions.  The database must
# be the same as with a commit every 1,000 observations (--batch, no merge
# table) and with a tiny --memory (many flushes): times, counts, sensors,
# bailiwicks, indexes, certificates.  --memory values are checked.
. "$(dirname "$0")/../lib.sh"
IP=$(realpath "$INFRAPIVOT")

# 200,000 lines over two files: ~80,000 records of 16,000 names (each seen
# several times, by up to 6 sensors, out of time order), CNAME and MX
# records (target index), bailiwicks on some repeats only, certificate
# sightings.
python3 - "$WORK/a.ndjson" "$WORK/b.ndjson" <<'EOF'
import json, random, sys
rng = random.Random(16)
outs = [open(sys.argv[1], 'w'), open(sys.argv[2], 'w')]
for n in range(200000):
    f = outs[n * 2 // 200000]
    k = int(16000 * rng.random() ** 2)
    t = 1600000000 + rng.randrange(10 ** 7)
    base = {"time_first": t, "time_last": t + rng.randrange(10 ** 5), "count": 1 + rng.randrange(9),
            "sensor_id": "sensor-%d" % rng.randrange(6)}
    r = rng.random()
    if r < 0.05:
        base.update({"ip": "198.51.100.%d" % (k % 250 + 1), "port": 443, "cert_sha1": "%040x" % (k % 97),
                     "sni": "s%d.certs.example" % (k % 13)})
    elif r < 0.15:
        base.update({"rrname": "c%d.zone%d.example" % (k, k % 7), "rrtype": "CNAME",
                     "rdata": "t%d.target.example" % (k % 500)})
    elif r < 0.2:
        base.update({"rrname": "zone%d.example" % (k % 300), "rrtype": "MX", "rdata": "10 mx%d.example" % (k % 40)})
    else:
        base.update({"rrname": "h%d.zone%d.example" % (k, k % 7), "rrtype": "A",
                     "rdata": "10.%d.%d.%d" % (k % 250, (k * 7 + rng.randrange(5)) % 250, k % 3)})
    if rng.random() < 0.1:
        base["bailiwick"] = "zone%d.example" % (k % 7)
    f.write(json.dumps(base) + "\n")
EOF

run() { # NAME ARGS... -> $WORK/NAME.db, NAME.err, NAME.rc
	local name=$1; shift
	"$IP" ingest --no-progress --db "$WORK/$name.db" "$@" "$WORK/a.ndjson" "$WORK/b.ndjson" \
		>/dev/null 2>"$WORK/$name.err"
	echo $? >"$WORK/$name.rc"
	grep -qE 'Sanitizer|runtime error' "$WORK/$name.err" && { bad "sanitizer report in $name"; cat "$WORK/$name.err" >&2; }
	return 0
}
summary() { sed -nE 's/^ingest: .*; ([0-9]+) records \(([0-9]+) new, ([0-9]+) merged\).*/\1 \2 \3/p' "$1"; }
commits() { sed -nE 's/^ingest: .* ([0-9]+) commits?(;.*)?$/\1/p' "$1"; }

run batch --batch 1000
run tiny --memory 16M
run big --memory 1G
for m in batch tiny big; do
	check_eq "$m: exit status 0" "$(cat "$WORK/$m.rc")" 0
done
check "--batch 1000 commits at least 190 times" test "$(commits "$WORK/batch.err")" -ge 190
# a quarter of 16 MiB holds far fewer than the ~80,000 distinct records
check "--memory 16M flushes the merge table several times" test "$(commits "$WORK/tiny.err")" -ge 3
check "--memory 1G commits once" test "$(commits "$WORK/big.err")" -eq 1
# the summary counts every observation, repeats merged in memory included
check_eq "same summary (records, new, merged): tiny" "$(summary "$WORK/tiny.err")" "$(summary "$WORK/batch.err")"
check_eq "same summary (records, new, merged): big" "$(summary "$WORK/big.err")" "$(summary "$WORK/batch.err")"

# the same answers: every A/CNAME record of a sample of names, addresses,
# targets, certificates; and the counts of every table
for q in "domain *.zone3.example" "domain *.zone0.example" "domain h1.zone1.example" \
	"domain zone5.example" "ip 10.0.0.0/8" "ip 198.51.100.7" "cert $(printf '%040x' 5)"; do
	# shellcheck disable=SC2086
	"$IP" lookup --limit 1000000 --db "$WORK/batch.db" $q 2>/dev/null | sort >"$WORK/want"
	check "lookup $q: not empty" test -s "$WORK/want"
	for m in tiny big; do
		# shellcheck disable=SC2086
		"$IP" lookup --limit 1000000 --db "$WORK/$m.db" $q 2>/dev/null | sort >"$WORK/got"
		check "lookup $q: $m same as --batch" cmp -s "$WORK/want" "$WORK/got"
	done
done
"$IP" stats --json --db "$WORK/batch.db" >"$WORK/s.batch" 2>/dev/null
for m in tiny big; do
	"$IP" stats --json --db "$WORK/$m.db" >"$WORK/s.$m" 2>/dev/null
	check "stats: $m same counts as --batch" same_stats "$WORK/s.batch" "$WORK/s.$m" 20000
done
# the target index: who points at a name
"$IP" lookup --db "$WORK/batch.db" domain t7.target.example 2>/dev/null | sort >"$WORK/want"
"$IP" lookup --db "$WORK/tiny.db" domain t7.target.example 2>/dev/null | sort >"$WORK/got"
check "target lookup: same" cmp -s "$WORK/want" "$WORK/got"

# a second ingest into an existing database merges into its records
run batch --batch 1000
run tiny --memory 16M
"$IP" lookup --limit 1000000 --db "$WORK/batch.db" domain '*.zone2.example' 2>/dev/null | sort >"$WORK/want"
"$IP" lookup --limit 1000000 --db "$WORK/tiny.db" domain '*.zone2.example' 2>/dev/null | sort >"$WORK/got"
check "twice: counts doubled the same way" cmp -s "$WORK/want" "$WORK/got"
check_grep "twice: nothing new the second time" "records \([0-9]+ new" "$WORK/tiny.err"
check_eq "twice: no new record" "$(summary "$WORK/tiny.err" | cut -d' ' -f2)" 0

# --memory: bad values are refused with a clear error, nothing is created
for v in 0 15M 65G abc 12X "" -1 1.5G; do
	"$IP" ingest --db "$WORK/none.db" --memory "$v" "$WORK/a.ndjson" >/dev/null 2>"$WORK/m.err"
	check_eq "--memory '$v': exit status 2" "$?" 2
	check_grep "--memory '$v': says what it takes" "--memory must be 16M-64G" "$WORK/m.err"
done
check "--memory: no database made by bad values" test ! -e "$WORK/none.db"
for v in 16777216 16m 1g 512M; do
	check_rc "--memory $v accepted" 0 "$IP" ingest --db "$WORK/ok.db" --memory "$v" "$WORK/a.ndjson"
done
finish
