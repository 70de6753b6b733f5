# tests/store/ch_stats_lib.sh - `stats` on both stores (sourced by the
# cluster's CLI tests; needs IP, WORK and fail): every count equal, in the
# same members and order; the sizes of the LMDB file null on the cluster.
compare_stats() { # WHAT LMDB_DIR URL CONTROL
	"$IP" stats --json --store "lmdb:$2" >"$WORK/stats.lm" || fail "$1: stats on LMDB"
	INFRAPIVOT_CONTROL=$4 "$IP" stats --json --store "$3" >"$WORK/stats.ch" ||
		fail "$1: stats on $3"
	python3 - "$WORK/stats.lm" "$WORK/stats.ch" "$1" <<'EOF' || fail "$1: stats differ"
import json, sys
lm, ch = (json.load(open(p)) for p in sys.argv[1:3])
sizes = ("db_bytes", "used_bytes", "map_bytes")
counts = [k for k in lm if k not in sizes]
bad = [k for k in counts if ch.get(k) != lm[k]] + [k for k in sizes if ch.get(k, 0) is not None]
if list(lm) != list(ch) or bad:
    sys.exit("stats: %s\n  lmdb %s\n  clickhouse %s" % (bad or "members", lm, ch))
print("%s: stats identical: %s" % (sys.argv[3], " ".join("%s %d" % (k, lm[k]) for k in counts)))
EOF
}
