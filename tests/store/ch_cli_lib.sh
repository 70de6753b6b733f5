# tests/store/ch_cli_lib.sh - the CLI parity helpers of the cluster tests
# (test_ch_cluster_cli.sh, test_ch_cluster_scenarios.sh): a store per name
# on both sides, the queries, running them on a store, comparing.
# Needs IP (the binary), CL (the cluster directory), WORK and ROOT.
fail() { echo "FAIL: $*" >&2; exit 1; }
. "$ROOT/tests/store/ch_stats_lib.sh"

# a new database of the cluster for each (the process id keeps a second
# run on the same cluster from finding the first one's rows)
db_url() { CLUSTER_DB=${1}_$$ "$ROOT/scripts/cluster.sh" start "$CL" | tail -n 1; }

# ingest FILES into an LMDB directory and a new cluster database; both
# must accept the same lines (exit 0, or 1 for rejects or, on the cluster,
# the client sightings of TLS logs)
ingest_both() { # NAME FILES...
	local name=$1
	shift
	local url
	url=$(db_url "$name")
	local rc=0
	INFRAPIVOT_CONTROL=$WORK/ctl-$name "$IP" ingest -q --no-progress --store "$url" "$@" \
		2>"$WORK/$name.ch.err" || rc=$?
	[ "$rc" -le 1 ] || { cat "$WORK/$name.ch.err" >&2; fail "ingest into $url: exit $rc"; }
	rc=0
	"$IP" ingest -q --no-progress --store "lmdb:$WORK/$name" "$@" 2>"$WORK/$name.lm.err" || rc=$?
	[ "$rc" -le 1 ] || { cat "$WORK/$name.lm.err" >&2; fail "ingest into LMDB: exit $rc"; }
	# the same lines read, accepted and rejected
	[ "$(grep -o '[0-9]* lines read, [0-9]* accepted, [0-9]* rejected' "$WORK/$name.ch.err")" = \
		"$(grep -o '[0-9]* lines read, [0-9]* accepted, [0-9]* rejected' "$WORK/$name.lm.err")" ] ||
		fail "$name: the two ingests read differently"
	echo "$url"
}

# The queries: every name (A/AAAA owners and everything under each TLD and
# zone seen), each zone as *.zone, right-hand wildcards (a name's first one
# or two labels, then .*), each address alone and its /24 or /48, /16, the
# whole of both families; some with each of the six fences or a type.  One
# query a line: KIND VALUE [OPTIONS].
queries() { # LMDB_DIR MAX_NAMES
	"$IP" lookup ip 0.0.0.0/0 --db "$1" --limit 0 2>/dev/null >"$WORK/q.all" || true
	"$IP" lookup ip ::/0 --db "$1" --limit 0 2>/dev/null >>"$WORK/q.all" || true
	python3 - "$WORK/q.all" "$2" "$IP" "$1" <<'EOF'
import json, subprocess, sys
path, maxn, ip, db = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
rows = [json.loads(l) for l in open(path) if l.strip()]
rows = [r for r in rows if "rrname" in r]
tlds = sorted({r["rrname"].rsplit(".", 1)[-1] for r in rows} | {"com", "net", "org", "lu", "edu"})
names, zones = set(), set()
for t in tlds:
    out = subprocess.run([ip, "lookup", "domain", "*." + t, "--db", db, "--limit", "0"],
                         capture_output=True, text=True).stdout
    for l in out.splitlines():
        n = json.loads(l)["rrname"]
        names.add(n)
        labels = n.split(".")
        for i in range(1, len(labels) - 1):
            zones.add(".".join(labels[i:]))
names, zones = sorted(names), sorted(zones)
step = max(1, len(names) // maxn)
times = sorted(r["time_first"] for r in rows) or [0]
mid = times[len(times) // 2]
q = []
heads = set()
for i, n in enumerate(names[::step]):
    q.append("domain %s" % n)
    if i % 5 == 0:
        q.append("domain %s --since @%d" % (n, mid))
        q.append("domain %s --rrtype A" % n)
    if i % 5 == 1:
        q.append("domain %s --first-before @%d" % (n, mid))
        q.append("domain %s --last-after @%d" % (n, mid))
    labels = n.split(".")
    heads.add(labels[0])
    if len(labels) > 2:
        heads.add(".".join(labels[:2]))
# right-hand wildcards: a name's first label or two, then anything
for i, h in enumerate(sorted(heads)[:: max(1, len(heads) // maxn)]):
    q.append("domain %s.*" % h)
    if i % 4 == 0:
        q.append("domain %s.* --since @%d --rrtype A" % (h, mid))
for i, z in enumerate(zones[:: max(1, len(zones) // maxn)]):
    q.append("domain *.%s" % z)
    if i % 4 == 0:
        q.append("domain *.%s --until @%d --rrtype CNAME" % (z, mid))
for t in tlds:
    q.append("domain *.%s" % t)
addrs = sorted({r["rdata"] for r in rows})
for i, a in enumerate(addrs[:: max(1, len(addrs) // maxn)]):
    q.append("ip %s" % a)
    if ":" in a:
        q.append("ip %s/48" % a)
    else:
        q.append("ip %s/24" % a)
        if i % 3 == 0:
            q.append("ip %s/16 --first-after @%d" % (a, mid))
        if i % 3 == 1:
            q.append("ip %s/16 --last-after @%d --until @%d" % (a, mid, mid))
q += ["ip 0.0.0.0/0", "ip ::/0", "ip 0.0.0.0/0 --last-before @%d" % mid]
print("\n".join(q))
EOF
}

# The SHA-1s and SHA-256s input files name (Zeek's hex, Suricata's
# colon-separated), one a line.
hashes_in() { # FILES...
	grep -ohE '\b[0-9a-f]{40}\b|\b[0-9a-f]{64}\b|\b([0-9a-f]{2}:){19}[0-9a-f]{2}\b' "$@" |
		tr -d : | sort -u
}

# The certificate queries: each hash of HASHES, and again with a fence
# when it has sightings; the subject and key of each certificate the LMDB
# store knows.  Fields separated by tabs (a subject has spaces).
cert_queries() { # LMDB_DIR HASHES
	python3 - "$2" "$IP" "$1" <<'EOF'
import json, subprocess, sys
path, ip, db = sys.argv[1:]
q, subjects, keys = [], set(), set()
for h in open(path).read().split():
    q.append("cert\t%s" % h)
    out = subprocess.run([ip, "lookup", "cert", h, "--db", db, "--limit", "0"],
                         capture_output=True, text=True).stdout
    last = []
    for l in out.splitlines():
        o = json.loads(l)
        if o.get("type") == "certificate":
            if o.get("subject"):
                subjects.add(o["subject"])
            if o.get("key_sha256"):
                keys.add(o["key_sha256"])
        if o.get("type") == "cert_sighting":
            last.append(o["time_last"])
    if last:
        q.append("cert\t%s\t--since\t@%d" % (h, max(last)))
q += ["subject\t%s" % s for s in sorted(subjects)]
q += ["key\t%s" % k for k in sorted(keys)]
print("\n".join(q))
EOF
}

# Run the queries (fields split at tabs when a line has one, else at
# spaces) on a store; their stdout one after another, each preceded by the
# query, into OUT.  With resolutions_only, certificate lines are left out.
run_queries() { # STORE CONTROL QUERIES OUT [resolutions_only]
	local line q keep='^'
	[ "${5:-}" != resolutions_only ] || keep='^{"rrname"'
	: >"$4"
	while IFS= read -r line; do
		if [[ $line == *$'\t'* ]]; then
			IFS=$'\t' read -r -a q <<<"$line"
		else
			read -r -a q <<<"$line"
		fi
		echo "## ${q[*]}" >>"$4"
		INFRAPIVOT_CONTROL=$2 "$IP" lookup "${q[@]}" --limit 0 --store "$1" \
			>"$WORK/one" 2>/dev/null || fail "lookup ${q[*]} on $1 failed"
		grep "$keep" "$WORK/one" >>"$4" || true
	done <"$3"
}

sorted_sensors() { # FILE: "sensors" sorted, "sensor_id" its first
	python3 -c '
import json, sys
for l in open(sys.argv[1]):
    if l.startswith("## "):
        print(l, end=""); continue
    o = json.loads(l)
    if "sensors" in o:
        o["sensors"] = sorted(o["sensors"])
    if "sensor_id" in o:
        o["sensor_id"] = o["sensors"][0]
    print(json.dumps(o))' "$1"
}

compare() { # WHAT A B [sorted]
	local a=$2 b=$3
	if [ "${4:-}" = sorted ]; then
		sorted_sensors "$2" >"$2.s"
		sorted_sensors "$3" >"$3.s"
		a=$2.s b=$3.s
	fi
	if ! cmp -s "$a" "$b"; then
		diff "$a" "$b" | head -20 >&2
		fail "$1: lookups differ"
	fi
	local nq nr nc
	nq=$(grep -c '^## ' "$a")
	nr=$(grep -vc '^## ' "$a")
	nc=$(grep -c '"type": *"cert' "$a" || true)
	[ "$nr" -gt 0 ] || fail "$1: no results at all"
	echo "$(basename "$0" .sh): $1: $nq lookups, $nr result lines identical ($nc of certificates)"
}

# run_pivots STORE CONTROL SEEDS OUT: each seed line (a seed, then pivot
# options if any) in JSON, the first three in every other format too; the
# clock pinned at PIVOT_NOW (default 1700000000)
run_pivots() { # STORE CONTROL SEEDS OUT
	local seed fmt n=0
	: >"$4"
	while read -r -a seed; do
		for fmt in json dot stix table csv misp; do
			[ "$fmt" = json ] || [ "$n" -lt 3 ] || continue
			echo "## pivot ${seed[*]} --format $fmt" >>"$4"
			INFRAPIVOT_CONTROL=$2 "$IP" pivot "${seed[@]}" --store "$1" --format "$fmt" \
				--max-ms 600000 --now "@${PIVOT_NOW:-1700000000}" >>"$4" 2>/dev/null ||
				fail "pivot ${seed[*]} on $1 failed"
		done
		n=$((n + 1))
	done <"$3"
}
