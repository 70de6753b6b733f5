#!/usr/bin/env bash
# test_ch_cluster_scenarios.sh INFRAPIVOT MKSCENARIO CLUSTER_DIR WORK - parity
# on the pivot scenarios and the benchmark generator's shapes (run by
# test_ch_cluster.sh once the cluster is up; alone on a running cluster with
# CLUSTER_PORT_BASE as it was started):
#   - the hunt scenario and the co-tenant scenario (tests/pivot/mkscenario,
#     written through store_write on each store: DNS, CNAMEs, certificates
#     with metadata and SNI) that test_pivot_cli.sh and
#     test_pivot_affinity_cli.sh pivot on;
#   - gen-dataset's default shape with --cotenants and its --keys random
#     shape (scripts/bench-*.sh), with their --seeds-out pivot seeds;
# each on lmdb:DIR and on a new cluster database: lookups (names, *.zone,
# head.*, addresses and prefixes, the six fences, types), pivots in every
# format (JSON, DOT, STIX, table, CSV, MISP) and a watchlist filled by
# `watchlist pivot` exported in every format, byte for byte (the generated
# data has several sensors a record: its lookups compare with "sensors"
# sorted, docs/scale-out.md).
set -euo pipefail
IP=$1
MK=$2
CL=$3
WORK=$4
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
export INFRAPIVOT_CH_CREDENTIALS=$CL/credentials
unset INFRAPIVOT_DB INFRAPIVOT_CH_USER INFRAPIVOT_CH_PASSWORD
. "$ROOT/tests/store/ch_cli_lib.sh"

# a scenario written into an LMDB directory and a new cluster database
scenario_both() { # NAME [--cotenant]
	local name=$1 url
	shift
	url=$(db_url "$name")
	INFRAPIVOT_CONTROL=$WORK/ctl-$name "$MK" "$@" "$url" >/dev/null || fail "mkscenario $* $url"
	"$MK" "$@" "$WORK/$name" >/dev/null || fail "mkscenario $* $WORK/$name"
	echo "$url"
}

# a watchlist filled by pivots (their defaults) from the seeds of SEEDS
# (each line's first word), exported in every format, into OUT
run_watch() { # STORE CONTROL SEEDS OUT
	local seed fmt
	export INFRAPIVOT_CONTROL=$2
	"$IP" watchlist create hunt --store "$1" --now "@$PIVOT_NOW" >/dev/null 2>&1 ||
		fail "watchlist create on $1"
	awk '{print $1}' "$3" | sort -u | while read -r seed; do
		"$IP" watchlist pivot hunt "$seed" --store "$1" --now "@$PIVOT_NOW" --max-ms 600000 \
			>/dev/null 2>&1 || fail "watchlist pivot $seed on $1"
	done
	: >"$4"
	for fmt in json text zeek stix csv misp "suricata --type ip" "suricata --type domain" \
		"suricata --type cert"; do
		echo "## export --format $fmt" >>"$4"
		# shellcheck disable=SC2086
		"$IP" watchlist export hunt --store "$1" --now "@$PIVOT_NOW" --format $fmt >>"$4" \
			2>/dev/null || fail "watchlist export --format $fmt on $1"
	done
	unset INFRAPIVOT_CONTROL
}

# lookups, pivots and the watchlist on both stores, compared
parity() { # NAME URL SEEDS MAX_NAMES [sorted]
	local n=$1 url=$2
	queries "$WORK/$n" "$4" >"$WORK/q.$n"
	run_queries "lmdb:$WORK/$n" "" "$WORK/q.$n" "$WORK/r.$n.lm"
	run_queries "$url" "$WORK/ctl-$n" "$WORK/q.$n" "$WORK/r.$n.ch"
	compare "$n, lookups" "$WORK/r.$n.lm" "$WORK/r.$n.ch" "${5:-}"
	run_pivots "lmdb:$WORK/$n" "" "$3" "$WORK/p.$n.lm"
	run_pivots "$url" "$WORK/ctl-$n" "$3" "$WORK/p.$n.ch"
	cmp -s "$WORK/p.$n.lm" "$WORK/p.$n.ch" || { diff "$WORK/p.$n.lm" "$WORK/p.$n.ch" | head -20 >&2; fail "$n: pivots differ"; }
	local np nn
	np=$(grep -c '^## ' "$WORK/p.$n.lm")
	nn=$(grep -c '^      "depth": [1-9]' "$WORK/p.$n.lm" || true)
	[ "$nn" -gt 0 ] || fail "$n: the pivots found nothing beyond their seeds"
	echo "test_ch_cluster_scenarios: $n, pivots: $np pivots (JSON, DOT, STIX, table, CSV, MISP), $(wc -c <"$WORK/p.$n.lm") bytes identical, $nn JSON nodes beyond the seeds"
	run_watch "lmdb:$WORK/$n" "" "$3" "$WORK/w.$n.lm"
	run_watch "$url" "$WORK/ctl-$n" "$3" "$WORK/w.$n.ch"
	cmp -s "$WORK/w.$n.lm" "$WORK/w.$n.ch" || { diff "$WORK/w.$n.lm" "$WORK/w.$n.ch" | head -20 >&2; fail "$n: watchlist exports differ"; }
	local ne
	ne=$(grep -c '^## ' "$WORK/w.$n.lm")
	[ "$(grep -vc '^## ' "$WORK/w.$n.lm")" -gt "$ne" ] || fail "$n: the watchlist exports are empty"
	echo "test_ch_cluster_scenarios: $n, watchlist: $ne exports, $(wc -c <"$WORK/w.$n.lm") bytes identical"
}

# --- the hunt scenario and the co-tenant one (their clock: 2026-11-01)
PIVOT_NOW=1793491200
url=$(scenario_both scnhunt)
printf '%s\n' "login-verify.duckdns.org --depth 4" login-verify.duckdns.org >"$WORK/s.hunt"
parity scnhunt "$url" "$WORK/s.hunt" 200
url=$(scenario_both scncot --cotenant)
printf '%s\n' a0-0.actor.test "a0-0.actor.test --no-affinity" "a0-1.actor.test --edges resolves" \
	"a0-1.actor.test --edges resolves --max-cotenant-days 2" >"$WORK/s.cot"
parity scncot "$url" "$WORK/s.cot" 200

# --- gen-dataset's shapes, with their pivot seeds
PIVOT_NOW=1700000000
python3 "$ROOT/scripts/gen-dataset" --lines 3000 --seed 5 --cotenants --seeds-out "$WORK/seeds.cot" \
	>"$WORK/gencot.cof"
url=$(ingest_both gencot "$WORK/gencot.cof")
head -n 8 "$WORK/seeds.cot" >"$WORK/s.gencot"
parity gencot "$url" "$WORK/s.gencot" 60 sorted
python3 "$ROOT/scripts/gen-dataset" --lines 2000 --seed 3 --keys random --seeds-out "$WORK/seeds.rnd" \
	>"$WORK/genrnd.cof"
url=$(ingest_both genrnd "$WORK/genrnd.cof")
head -n 5 "$WORK/seeds.rnd" >"$WORK/s.genrnd"
parity genrnd "$url" "$WORK/s.genrnd" 60 sorted
echo "test_ch_cluster_scenarios: ok"
