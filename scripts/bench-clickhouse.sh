#!/usr/bin/env bash
# scripts/bench-clickhouse.sh - the ClickHouse store's benchmarks (issue 17,
# docs/scale-out.md "Benchmarks"), on the 2-shard x 2-replica cluster of
# scripts/cluster.sh, with same-run ratios (a script, not a timed test).
#
#   LINES=20000000 DATA=/path/gen-dataset.ndjson scripts/bench-clickhouse.sh
#
# 1. Ingest of LINES gen-dataset lines (default 20,000,000): `infrapivot
#    ingest --store clickhouse://…` against `clickhouse-client` inserting
#    the same RowBinary bodies into the same tables, and against `infrapivot
#    ingest` into LMDB; records/s (input lines / wall seconds), RUNS runs
#    (default 3) interleaved (the order rotates each run), medians and
#    ratios.  The bodies are captured once, outside the timing, by
#    tests/bench/ch_capture.py: a stand-in on the cluster's HTTP interface
#    that keeps every INSERT's body (and forwards the rest).  The client
#    replays the bodies table by table (the tables in the order infrapivot
#    first wrote them), each body as one `clickhouse-client
#    --insert_distributed_sync=1 --query "INSERT INTO T FORMAT RowBinary"`:
#    the INSERTs, statement and setting infrapivot sent.
#    Every ClickHouse run gets a fresh database (CLUSTER_DB=… cluster.sh
#    start); each is dropped after its run but the last infrapivot one.
# 2. Lookup p50/p99 over HTTP (LOOKUPS requests each, default 1,000, one
#    client, keep-alive) through `infrapivot serve --store clickhouse://…`
#    for a domain and an address, against the SQL that lookup sends, posted
#    straight to ClickHouse's HTTP port: its first query (the resolutions:
#    the same rows) and all of its queries in sequence; the same lookups
#    through `serve --db` on the LMDB copy for reference.
# 3. Pivot depth-2 and depth-3 p50/p99 (tests/bench/pivot_bench, affinity
#    on) from PIVOT_SEEDS seeds (default 100) on the ClickHouse store and
#    on LMDB; and the SELECTs one pivot of each depth sends (counted by
#    the capture stand-in) for three planted and three popular seeds.
# 4. The bytes and rows of the kept database on each node, and the LMDB
#    copy's size (the cost per shard).
# Every figure is printed with the load average (1, 5, 15 min) before it.
#
# Environment: LINES, RUNS, LOOKUPS, PIVOT_SEEDS; DATA (a gen-dataset
# file: its first LINES lines are the input; seeds are its 50 planted
# domains c2-N-3.duckdns.org (gen-dataset's own --seeds-out names
# c2-N-0, which only --cotenants writes: the planted DNS lines fall on
# line numbers = 19 mod 20, so they carry c2-N-3) and the names of its
# first lines, the most popular; without DATA, scripts/gen-dataset --lines LINES writes the input
# and its --seeds-out); BUILD (default build; configure with
# -DINFRAPIVOT_CLICKHOUSE=ON); BENCH_DIR (default /tmp/infrapivot-bench-ch);
# CLUSTER_DIR (default $BENCH_DIR/cluster) and CLUSTER_PORT_BASE, passed to
# scripts/cluster.sh, which is started here (idempotent) and stopped at the
# end unless KEEP_CLUSTER=1.  SKIP=ingest,lookup,pivot leaves parts out
# (lookup and pivot then use the database DB_KEEP, default the last run's).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
LINES=${LINES:-20000000}
RUNS=${RUNS:-3}
LOOKUPS=${LOOKUPS:-1000}
PIVOT_SEEDS=${PIVOT_SEEDS:-100}
BUILD=${BUILD:-build}
WORK=${BENCH_DIR:-/tmp/infrapivot-bench-ch}
CLDIR=${CLUSTER_DIR:-$WORK/cluster}
SKIP=${SKIP:-}
# the ingest kinds, interleaved (the order rotates each run); "curl" and
# "http" (the captured bodies over ClickHouse's HTTP interface) on demand; the
# bodies are captured only for "client", "curl" and "http"
KINDS=${KINDS:-ip client lmdb}
export CLUSTER_PORT_BASE=${CLUSTER_PORT_BASE:-29100}
IP=$ROOT/$BUILD/service/infrapivot
PB=$ROOT/$BUILD/tests/bench/bench_pivot
for x in "$IP" "$PB"; do
	[ -x "$x" ] || { echo "bench-clickhouse: $x missing (cmake -DINFRAPIVOT_CLICKHOUSE=ON, build)" >&2; exit 2; }
done
mkdir -p "$WORK"
HTTP0=$((CLUSTER_PORT_BASE + 10))
TCP0=$((CLUSTER_PORT_BASE + 11))
CAPPORT=$((CLUSTER_PORT_BASE + 90))
load() { cut -d' ' -f1-3 /proc/loadavg; }
skip() { [[ ",$SKIP," == *",$1,"* ]]; }
now() { date +%s.%N; }

# start (or find running) the cluster with database $1; its address.  A
# failed start is tried once more (a cold start failed once here), then its
# message shown.
cl_start() {
	local out err=$WORK/cluster-start.err
	out=$(CLUSTER_DB=$1 scripts/cluster.sh start "$CLDIR" 2>"$err") ||
		out=$(CLUSTER_DB=$1 scripts/cluster.sh start "$CLDIR" 2>"$err") ||
		{ grep -v 'Connection refused' "$err" | tail -n 5 >&2; return 1; }
	tail -n 1 <<<"$out"
}
cl_drop() { # drop database $1 on every node
	local i
	for i in 0 1 2 3; do
		curl -sf -u "$(cat "$CLDIR/credentials")" --data-binary "DROP DATABASE IF EXISTS $1" \
			"http://127.0.0.1:$((HTTP0 + 10 * i))/" >/dev/null || true
	done
}
if [ "${KEEP_CLUSTER:-0}" != 1 ]; then
	trap 'scripts/cluster.sh stop "$CLDIR" >/dev/null 2>&1 || true' EXIT
fi
cl_start benchinit >/dev/null
export INFRAPIVOT_CH_CREDENTIALS=$CLDIR/credentials
# clickhouse-client reads the password from a config file, not argv
CCONF=$WORK/client.xml
(umask 077 && printf '<config><user>default</user><password>%s</password></config>\n' \
	"$(cut -d: -f2- "$CLDIR/credentials")" >"$CCONF")
CLIENT=(clickhouse-client --config-file "$CCONF" --host 127.0.0.1 --port "$TCP0")

# ---- the input and the seeds ------------------------------------------------
IN=$WORK/in-$LINES.ndjson
SEEDS=$WORK/seeds-$LINES.txt
if [ ! -s "$IN" ] || [ ! -s "$SEEDS" ]; then
	if [ -n "${DATA:-}" ]; then
		head -n "$LINES" "$DATA" >"$IN"
		{
			for c in $(seq 0 49); do echo "c2-$c-3.duckdns.org"; done
			head -n 5000 "$IN" | grep -o '"rrname":"[^"]*"' | cut -d'"' -f4 | awk '!s[$0]++ && n++ < 950'
		} >"$SEEDS"
	else
		scripts/gen-dataset --lines "$LINES" --seeds-out "$SEEDS" >"$IN"
	fi
fi
echo "input: $IN ($LINES lines, $(du -h "$IN" | cut -f1)); build $BUILD; $(nproc) cores"

# ---- capture infrapivot's INSERT bodies once -----------------------------------
CAP=$WORK/capture-$LINES
capture_start() { # capture_start OUTDIR: the stand-in on CAPPORT
	python3 tests/bench/ch_capture.py "$CAPPORT" "$HTTP0" "$1" &
	CAPPID=$!
	until curl -s -o /dev/null "http://127.0.0.1:$CAPPORT/ping"; do sleep 0.1; done
}
capture_stop() { kill "$CAPPID" && wait "$CAPPID" 2>/dev/null || true; }
# infrapivot through the stand-in (a control directory of its own: one is
# bound to one store address)
via_capture() {
	rm -rf "$WORK/ctl-cap"
	INFRAPIVOT_CONTROL=$WORK/ctl-cap "$IP" "$@"
}
if ! skip ingest && [[ " $KINDS " =~ \ (client|curl|http)\  ]] && [ ! -s "$CAP/order" ]; then
	rm -rf "$CAP" && mkdir -p "$CAP"
	cl_start benchcap >/dev/null
	capture_start "$CAP"
	via_capture ingest --no-progress -q --store "clickhouse://127.0.0.1:$CAPPORT/benchcap" "$IN"
	capture_stop
	echo "captured: $(tr '\n' ' ' <"$CAP/order")($(du -sh "$CAP" | cut -f1))"
fi

# ---- 1. ingest ------------------------------------------------------------------
ingest_ip() { # ingest_ip DB: seconds
	local url t0 t1
	cl_drop "$1" # a database left by an earlier invocation would double the counts
	url=$(cl_start "$1")
	rm -rf "$WORK/ctl-$1"
	t0=$(now)
	INFRAPIVOT_CONTROL=$WORK/ctl-$1 "$IP" ingest --no-progress -q --store "$url" "$IN"
	t1=$(now)
	echo "$t1 - $t0" | bc
}
ingest_client() { # ingest_client DB: seconds
	local t0 t1 tab
	cl_drop "$1"
	cl_start "$1" >/dev/null
	t0=$(now)
	# one INSERT per body infrapivot sent (TABLE.lens): a table's bodies
	# as one INSERT pass 18.16's per-query memory limit at 20 M lines
	while read -r tab; do
		local off=0 n
		while read -r n; do
			tail -c +$((off + 1)) "$CAP/$tab.bin" | head -c "$n" |
				"${CLIENT[@]}" --database "$1" --insert_distributed_sync=1 \
					--query "INSERT INTO $tab FORMAT RowBinary"
			off=$((off + n))
		done <"$CAP/$tab.lens"
	done <"$CAP/order"
	t1=$(now)
	echo "$t1 - $t0" | bc
}
# the same bodies over the HTTP interface, without infrapivot: "curl", one
# `curl --data-binary @TABLE.bin` a table (one INSERT, as the client's);
# "http", one POST per INSERT infrapivot sent (tests/bench/ch_replay.py)
ingest_curl() { # ingest_curl DB: seconds
	local t0 t1 tab sql set
	cl_drop "$1"
	cl_start "$1" >/dev/null
	t0=$(now)
	while read -r tab; do
		{ read -r sql; read -r set; } <"$CAP/$tab.sql"
		curl -sSf -u "$(cat "$CLDIR/credentials")" --data-binary "@$CAP/$tab.bin" \
			"http://127.0.0.1:$HTTP0/?database=$1&${set:+$set&}query=$(printf %s "$sql" | sed 's/ /%20/g')" >/dev/null
	done <"$CAP/order"
	t1=$(now)
	echo "$t1 - $t0" | bc
}
ingest_http() { # ingest_http DB: seconds
	local t0 t1
	cl_drop "$1"
	cl_start "$1" >/dev/null
	t0=$(now)
	python3 tests/bench/ch_replay.py "$CLDIR/credentials" "$HTTP0" "$1" "$CAP"
	t1=$(now)
	echo "$t1 - $t0" | bc
}
ingest_lmdb() { # ingest_lmdb DIR: seconds
	local t0 t1
	rm -rf "$1"
	t0=$(now)
	"$IP" ingest --no-progress -q --db "$1" "$IN"
	t1=$(now)
	echo "$t1 - $t0" | bc
}
DB_KEEP=${DB_KEEP:-benchip$RUNS}
LMDB_KEEP=$WORK/lmdb$RUNS
if ! skip ingest; then
	declare -A secs
	for r in $(seq 1 "$RUNS"); do
		read -ra order <<<"$KINDS"
		for _ in $(seq 2 "$r"); do order=("${order[@]:1}" "${order[0]}"); done
		for k in "${order[@]}"; do
			l=$(load)
			case $k in
			ip) s=$(ingest_ip "benchip$r") ;;
			client) s=$(ingest_client "benchcl$r") ;;
			lmdb) s=$(ingest_lmdb "$WORK/lmdb$r") ;;
			curl) s=$(ingest_curl "benchcu$r") ;;
			http) s=$(ingest_http "benchht$r") ;;
			esac
			secs[$k,$r]=$s
			printf 'run %d %-7s %8.1f s %10.0f records/s  (load %s)\n' "$r" "$k" "$s" \
				"$(echo "$LINES / $s" | bc -l)" "$l"
			[ "$k" = client ] && cl_drop "benchcl$r"
			[ "$k" = curl ] && cl_drop "benchcu$r"
			[ "$k" = http ] && cl_drop "benchht$r"
			[ "$k" = ip ] && [ "$r" != "$RUNS" ] && cl_drop "benchip$r"
			[ "$k" = lmdb ] && [ "$r" != "$RUNS" ] && rm -rf "$WORK/lmdb$r"
		done
	done
	med() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {print v[int((NR+1)/2)]}'; }
	mi=$(med $(for r in $(seq 1 "$RUNS"); do echo "$LINES / ${secs[ip,$r]}" | bc -l; done))
	# a kind left out of KINDS is left out of the medians too (not "0 rec/s")
	med_line="infrapivot->clickhouse $(printf %.0f "$mi") rec/s" ratio_line=""
	if [[ " $KINDS " == *" client "* ]]; then
		mc=$(med $(for r in $(seq 1 "$RUNS"); do echo "$LINES / ${secs[client,$r]}" | bc -l; done))
		rc=$(med $(for r in $(seq 1 "$RUNS"); do echo "${secs[client,$r]} / ${secs[ip,$r]}" | bc -l; done))
		med_line+=", clickhouse-client $(printf %.0f "$mc") rec/s"
		ratio_line+="infrapivot / clickhouse-client $(printf %.2f "$rc") (target >= 0.8)"
	fi
	if [[ " $KINDS " == *" lmdb "* ]]; then
		ml=$(med $(for r in $(seq 1 "$RUNS"); do echo "$LINES / ${secs[lmdb,$r]}" | bc -l; done))
		rl=$(med $(for r in $(seq 1 "$RUNS"); do echo "${secs[lmdb,$r]} / ${secs[ip,$r]}" | bc -l; done))
		med_line+=", infrapivot->lmdb $(printf %.0f "$ml") rec/s"
		ratio_line+="${ratio_line:+, }clickhouse / lmdb $(printf %.2f "$rl")"
	fi
	echo "ingest medians of $RUNS: $med_line"
	echo "ingest ratios (median of same-run ratios): ${ratio_line:-none (KINDS has neither client nor lmdb)}"
	for k in curl http; do
		[[ " $KINDS " == *" $k "* ]] || continue
		m=$(med $(for r in $(seq 1 "$RUNS"); do echo "$LINES / ${secs[$k,$r]}" | bc -l; done))
		rk=$(med $(for r in $(seq 1 "$RUNS"); do echo "${secs[client,$r]} / ${secs[$k,$r]}" | bc -l; done))
		ri=$(med $(for r in $(seq 1 "$RUNS"); do echo "${secs[$k,$r]} / ${secs[ip,$r]}" | bc -l; done))
		printf 'ingest %s (the bodies over HTTP): %.0f rec/s; %s / clickhouse-client %.2f; infrapivot / %s %.2f\n' \
			"$k" "$m" "$k" "$rk" "$k" "$ri"
	done
fi
URL=clickhouse://127.0.0.1:$HTTP0/$DB_KEEP

# ---- 2. lookups over HTTP -------------------------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
serve() { # serve STORE-ARGS...: the server's pid in SRV, its port in SPORT
	SPORT=$(free_port)
	INFRAPIVOT_CONTROL=$WORK/ctl-serve "$IP" serve "$@" --listen "127.0.0.1:$SPORT" 2>/dev/null &
	SRV=$!
	until curl -s -o /dev/null "http://127.0.0.1:$SPORT/healthz"; do
		kill -0 "$SRV" 2>/dev/null || { echo "bench-clickhouse: serve $* exited" >&2; exit 1; }
		sleep 0.1
	done
}
if ! skip lookup; then
	DOMAIN=$(sed -n 1001p "$IN" | grep -o '"rrname":"[^"]*"' | cut -d'"' -f4)
	ADDR=$(sed -n 1001p "$IN" | grep -o '"rdata":"[^"]*"' | cut -d'"' -f4)
	# the SQL of each lookup, from the stand-in
	SQLD=$WORK/sql-lookup
	rm -rf "$SQLD" && mkdir -p "$SQLD"
	capture_start "$SQLD/domain"
	via_capture lookup --store "clickhouse://127.0.0.1:$CAPPORT/$DB_KEEP" domain "$DOMAIN" >/dev/null
	capture_stop
	capture_start "$SQLD/ip"
	via_capture lookup --store "clickhouse://127.0.0.1:$CAPPORT/$DB_KEEP" ip "$ADDR" >/dev/null
	capture_stop
	rm -rf "$WORK/ctl-serve"
	serve --store "$URL"
	CHS=$SRV CHP=$SPORT
	LMS="" LMP=""
	if [ -d "$LMDB_KEEP" ]; then serve --db "$LMDB_KEEP"; LMS=$SRV LMP=$SPORT; fi
	echo "lookups: domain $DOMAIN, ip $ADDR; $LOOKUPS requests each, one client (load $(load))"
	python3 tests/bench/ch_lookups.py "$LOOKUPS" "$CLDIR/credentials" "$HTTP0" "$DB_KEEP" \
		"$CHP" "${LMP:-0}" "$DOMAIN" "$ADDR" "$SQLD"
	kill "$CHS" ${LMS:+"$LMS"}
	wait "$CHS" ${LMS:+"$LMS"} 2>/dev/null || true
	echo "(load after: $(load))"
fi

# ---- 3. pivots --------------------------------------------------------------------
if ! skip pivot; then
	echo "pivots: $PIVOT_SEEDS seeds of $SEEDS, affinity on, default limits"
	echo "clickhouse (load $(load)):"
	rm -rf "$WORK/ctl-serve"
	INFRAPIVOT_CONTROL=$WORK/ctl-serve "$PB" "$URL" "$SEEDS" "$PIVOT_SEEDS" on | sed 's/^/  /'
	if [ -d "$LMDB_KEEP" ]; then
		echo "lmdb (load $(load)):"
		"$PB" "$LMDB_KEEP" "$SEEDS" "$PIVOT_SEEDS" on | sed 's/^/  /'
	fi
	echo "(targets: depth 2 p99 <= 100 ms, depth 3 p99 <= 300 ms)"
	echo "SELECTs per pivot (the capture stand-in):"
	for seed in $(head -n 3 "$SEEDS") $(sed -n 51,53p "$SEEDS"); do
		for d in 2 3; do
			rm -rf "$WORK/sql-pivot" && capture_start "$WORK/sql-pivot"
			t0=$(now)
			via_capture pivot --store "clickhouse://127.0.0.1:$CAPPORT/$DB_KEEP" \
				--depth "$d" "$seed" >"$WORK/pivot.json" || true
			t1=$(now)
			capture_stop
			printf '  %-40s depth %d: %4d SELECTs in %d round trips, %5.0f ms via the stand-in, %s nodes; by table: %s\n' "$seed" "$d" \
				"$(wc -l <"$WORK/sql-pivot/selects.log")" "$(python3 tests/bench/ch_capture.py --rounds "$WORK/sql-pivot")" \
				"$(echo "($t1 - $t0) * 1000" | bc)" \
				"$(grep -o '"id"' "$WORK/pivot.json" | wc -l)" \
				"$(grep -oE 'FROM [a-z_]+' "$WORK/sql-pivot/selects.log" | sort | uniq -c | sort -rn |
					awk '{printf "%s %s, ", $3, $1}')"
		done
	done
fi

# ---- the cost per shard: bytes and rows of the kept database on each node ----------
echo "storage of $DB_KEEP (each node: bytes on disk, rows of its active parts):"
for i in 0 1 2 3; do
	printf '  node%d (shard %d): %s\n' "$i" $((i / 2 + 1)) "$(curl -s -u "$(cat "$CLDIR/credentials")" \
		--data-binary "SELECT formatReadableSize(sum(bytes_on_disk)), sum(rows) FROM system.parts
		WHERE database = '$DB_KEEP' AND active FORMAT TSV" "http://127.0.0.1:$((HTTP0 + 10 * i))/" || true)"
done
[ -d "$LMDB_KEEP" ] && echo "  lmdb: $(du -sh "$LMDB_KEEP" | cut -f1)"
exit 0
