#!/usr/bin/env bash
# scripts/cluster.sh - a ClickHouse cluster on loopback for infrapivot's
# second store (issue 17, docs/scale-out.md): one ZooKeeper and four
# clickhouse-server processes, two shards of two replicas each, each with its
# own ports, data directory and config.
#
#   scripts/cluster.sh start [DIR]   start (or find running), create the schema,
#                                    print clickhouse://127.0.0.1:PORT/DB last
#   scripts/cluster.sh stop [DIR]    stop what start started (pid files in DIR)
#   CLUSTER_DB=NAME scripts/cluster.sh drop [DIR]
#                                    drop database NAME on every node (the
#                                    tests' databases, tests/lib.sh)
#   CLUSTER_DB=NAME scripts/cluster.sh optimize [DIR]
#                                    merge the parts of NAME's tables (after a
#                                    bulk load: migrate, a first ingest)
#
# DIR defaults to ./cluster-data.  Environment:
#   CLUSTER_PORT_BASE  first port (default 29100): ZooKeeper on BASE, node i
#                      (0-3) HTTP on BASE+10+10i, TCP +1, interserver +2
#   CLUSTER_DB         database name (default infrapivot)
#   CLUSTER_TIMEOUT    seconds start waits for readiness in total (default 180)
# The password of the `default` user is made once and kept in
# DIR/credentials ("user:password", mode 600); clients read it from there
# (INFRAPIVOT_CH_CREDENTIALS) or from INFRAPIVOT_CH_USER/_PASSWORD.
# Packages: clickhouse-server clickhouse-client zookeeper (Debian 12), installed
# by `INFRAPIVOT_CLICKHOUSE=1 scripts/setup.sh --packages-only`.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
SCHEMA=${CLUSTER_SCHEMA:-$HERE/../store/clickhouse/schema.sql}
BASE=${CLUSTER_PORT_BASE:-29100}
DB=${CLUSTER_DB:-infrapivot}
TIMEOUT=${CLUSTER_TIMEOUT:-180}
NODES=4
PACKAGES="clickhouse-server clickhouse-client zookeeper"

die() {
	echo "cluster: $*" >&2
	exit 1
}

http_port() { echo $((BASE + 10 + 10 * $1)); }
tcp_port() { echo $((BASE + 11 + 10 * $1)); }
inter_port() { echo $((BASE + 12 + 10 * $1)); }

# A process from a pid file that is still alive.
alive() {
	local f=$1
	[ -s "$f" ] && kill -0 "$(cat "$f")" 2>/dev/null
}

# Wait until the command succeeds or the deadline passes; polls, no fixed
# waits beyond the poll interval.
wait_for() {
	local what=$1
	shift
	while ! "$@"; do
		[ "$(date +%s)" -lt "$DEADLINE" ] || die "timed out waiting for $what (see $DIR/*/log)"
		sleep 0.2
	done
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# ZooKeeper serving sessions: 'srvr' names its mode only once its database
# is loaded ('ruok' answers imok as soon as the port is bound, and a
# server started then exits: 18.16 cannot create its replicated tables
# without a session; a large snapshot takes seconds to load).
zk_ok() {
	local r
	# braces: exec with only redirections keeps them, and a 2>/dev/null kept
	# would hide every later message of the script (die's too)
	{ exec 3<>"/dev/tcp/127.0.0.1/$BASE"; } 2>/dev/null || return 1
	printf 'srvr' >&3
	r=$(timeout 5 cat <&3 || true)
	exec 3>&-
	[[ "$r" == *$'\nMode: '* ]]
}

start_zk() {
	local d=$DIR/zk
	alive "$d/pid" && return 0
	port_free "$BASE" || die "port $BASE is in use (set CLUSTER_PORT_BASE)"
	mkdir -p "$d/data" "$d/log"
	cat >"$d/zoo.cfg" <<EOF
tickTime=2000
dataDir=$d/data
clientPort=$BASE
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=srvr
EOF
	cat >"$d/log4j.properties" <<EOF
log4j.rootLogger=WARN, F
log4j.appender.F=org.apache.log4j.FileAppender
log4j.appender.F.File=$d/log/zookeeper.log
log4j.appender.F.layout=org.apache.log4j.PatternLayout
log4j.appender.F.layout.ConversionPattern=%d %p %c: %m%n
EOF
	setsid java -Xmx256m -Dlog4j.configuration="file:$d/log4j.properties" \
		-Dzookeeper.4lw.commands.whitelist=srvr \
		-cp /usr/share/java/zookeeper.jar org.apache.zookeeper.server.ZooKeeperServerMain \
		"$d/zoo.cfg" </dev/null >"$d/log/stdout.log" 2>&1 &
	echo $! >"$d/pid"
}

# remote_servers: shard s has nodes 2s and 2s+1.
remote_servers() {
	local s r n
	echo "<remote_servers><infrapivot>"
	for s in 0 1; do
		echo "<shard><internal_replication>true</internal_replication>"
		for r in 0 1; do
			n=$((2 * s + r))
			echo "<replica><host>127.0.0.1</host><port>$(tcp_port $n)</port>"
			echo "<user>default</user><password>$PASSWORD</password></replica>"
		done
		echo "</shard>"
	done
	echo "</infrapivot></remote_servers>"
}

node_config() {
	local i=$1
	local d=$DIR/node$i
	cat >"$d/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>$d/log/server.log</log>
    <errorlog>$d/log/error.log</errorlog><size>10M</size><count>2</count></logger>
  <listen_host>127.0.0.1</listen_host>
  <http_port>$(http_port "$i")</http_port>
  <tcp_port>$(tcp_port "$i")</tcp_port>
  <interserver_http_port>$(inter_port "$i")</interserver_http_port>
  <interserver_http_host>127.0.0.1</interserver_http_host>
  <path>$d/data/</path>
  <tmp_path>$d/data/tmp/</tmp_path>
  <user_files_path>$d/data/user_files/</user_files_path>
  <format_schema_path>$d/data/format_schemas/</format_schema_path>
  <users_config>$d/users.xml</users_config>
  <default_profile>default</default_profile>
  <default_database>default</default_database>
  <timezone>UTC</timezone>
  <max_concurrent_queries>50</max_concurrent_queries>
  <uncompressed_cache_size>67108864</uncompressed_cache_size>
  <mark_cache_size>67108864</mark_cache_size>
  <builtin_dictionaries_reload_interval>0</builtin_dictionaries_reload_interval>
  $(remote_servers)
  <zookeeper><node><host>127.0.0.1</host><port>$BASE</port></node>
    <session_timeout_ms>30000</session_timeout_ms></zookeeper>
  <macros><shard>$((i / 2 + 1))</shard><replica>r$((i % 2 + 1))</replica></macros>
  <distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
</yandex>
EOF
	cat >"$d/users.xml" <<EOF
<?xml version="1.0"?>
<yandex>
  <profiles><default><max_memory_usage>2000000000</max_memory_usage>
    <load_balancing>in_order</load_balancing></default>
    <readonly><readonly>1</readonly></readonly></profiles>
  <users><default><password>$PASSWORD</password>
    <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
    <profile>default</profile><quota>default</quota></default></users>
  <quotas><default><interval><duration>3600</duration><queries>0</queries><errors>0</errors>
    <result_rows>0</result_rows><read_rows>0</read_rows><execution_time>0</execution_time>
  </interval></default></quotas>
</yandex>
EOF
}

start_node() {
	local i=$1 p
	local d=$DIR/node$i
	alive "$d/pid" && return 0
	for p in $(http_port "$i") $(tcp_port "$i") $(inter_port "$i"); do
		port_free "$p" || die "port $p is in use (set CLUSTER_PORT_BASE)"
	done
	mkdir -p "$d/data" "$d/log"
	node_config "$i"
	# Debian's package runs the server as user clickhouse; as root we do the
	# same, so the data directory belongs to that user.
	local run=()
	if [ "$(id -u)" -eq 0 ] && id clickhouse >/dev/null 2>&1; then
		run=(setpriv --reuid=clickhouse --regid=clickhouse --init-groups)
		chown -R clickhouse: "$d"
		# a directory under a private one (mktemp -d) is out of its reach:
		# then root runs it, which 18.16 allows
		"${run[@]}" test -r "$d/config.xml" || run=()
	fi
	# the server itself is the background job, so $! is its pid
	cd "$d"
	setsid "${run[@]}" clickhouse-server --config-file="$d/config.xml" \
		</dev/null >"$d/log/stdout.log" 2>&1 &
	echo $! >"$d/pid"
	cd - >/dev/null
}

# One SQL statement to node i; the body on stdout, the server's message
# on failure.
sql() {
	local i=$1 q=$2
	curl -sS --fail-with-body -u "default:$PASSWORD" --data-binary "$q" \
		"http://127.0.0.1:$(http_port "$i")/"
}

node_ready() {
	[ "$(curl -s "http://127.0.0.1:$(http_port "$1")/ping")" = "Ok." ]
}

# Ready, or dead: a server that exited is reported at once, not after the
# deadline.
node_up() {
	local d=$DIR/node$1
	if ! alive "$d/pid"; then
		echo "cluster: node$1 exited:" >&2
		tail -n 5 "$d/log/stdout.log" "$d/log/error.log" >&2 2>/dev/null || true
		exit 1
	fi
	node_ready "$1"
}

# ZooKeeper seen from node i (replicated tables need it).
node_zk() {
	sql "$1" "SELECT count() FROM system.zookeeper WHERE path = '/'" 2>/dev/null | grep -q '^[1-9]'
}

# Statements of the schema file (split at a ';' ending a line), with the
# database substituted, run on node i.
schema() {
	local i=$1 stmt="" line
	sql "$i" "CREATE DATABASE IF NOT EXISTS $DB" >/dev/null
	while IFS= read -r line || [ -n "$line" ]; do
		case "$line" in --*) continue ;; esac
		stmt+="${line//\$\{DB\}/$DB}"$'\n'
		if [[ "$line" =~ \;[[:space:]]*$ ]]; then
			sql "$i" "${stmt%;*}" >/dev/null || die "schema failed on node$i: ${stmt:0:200}"
			stmt=""
		fi
	done <"$SCHEMA"
}

# cert_alias and cert_key (schema.sql) are filled by views, which see only
# the rows inserted after them: a database whose source table is older than
# the view's target gets the rows already there once, when the schema
# creates the target (docs/scale-out.md, "The SHA-256 -> SHA-1 join" and
# "A certificate's keys"), the rows written before start returns (a
# synchronous insert into the Distributed table).  One line a target:
# table, source table, SELECT.
FILLS="cert_alias cert SELECT toFixedString(concat(unhex('02'), sha256), 33) AS alias, min(cert) AS cert FROM cert WHERE length(sha256) = 32 AND length(sha1) = 20 GROUP BY alias
cert_key cert_attr SELECT cert, value AS key FROM cert_attr WHERE attr = 1"
# the targets to fill: those whose source exists and which do not
fills_missing() {
	local table src sel
	while read -r table src sel; do
		[ "$(sql 0 "EXISTS TABLE $DB.${src}_local")" = 1 ] &&
			[ "$(sql 0 "EXISTS TABLE $DB.${table}_local")" = 0 ] && echo "$table"
	done <<<"$FILLS"
	return 0
}
fill() { # TABLE
	local table src sel
	while read -r table src sel; do
		[ "$table" = "$1" ] || continue
		curl -sS --fail-with-body -u "default:$PASSWORD" --data-binary "INSERT INTO $table $sel" \
			"http://127.0.0.1:$(http_port 0)/?database=$DB&insert_distributed_sync=1" >/dev/null ||
			die "filling $table failed: run 'INSERT INTO $table $sel' on $DB"
		echo "cluster: $table filled from the existing $src rows of $DB" >&2
	done <<<"$FILLS"
}

cmd_start() {
	command -v clickhouse-server >/dev/null || die "clickhouse-server missing: apt-get install $PACKAGES"
	[ -r /usr/share/java/zookeeper.jar ] || die "zookeeper missing: apt-get install $PACKAGES"
	[ -r "$SCHEMA" ] || die "no schema at $SCHEMA"
	mkdir -p "$DIR"
	DIR=$(cd "$DIR" && pwd)
	if [ ! -s "$DIR/credentials" ]; then
		(umask 077 && echo "default:$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')" >"$DIR/credentials")
	fi
	PASSWORD=$(cut -d: -f2- "$DIR/credentials")
	DEADLINE=$(($(date +%s) + TIMEOUT))
	start_zk
	wait_for "ZooKeeper on port $BASE" zk_ok
	local i
	for i in $(seq 0 $((NODES - 1))); do start_node "$i"; done
	for i in $(seq 0 $((NODES - 1))); do
		wait_for "node$i" node_up "$i"
		wait_for "node$i's ZooKeeper session" node_zk "$i"
	done
	local fills t
	fills=$(fills_missing)
	for i in $(seq 0 $((NODES - 1))); do schema "$i"; done
	for t in $fills; do fill "$t"; done
	echo "cluster: 2 shards x 2 replicas up in $DIR; credentials in $DIR/credentials" >&2
	local all=""
	for i in $(seq 0 $((NODES - 1))); do all+="${all:+,}127.0.0.1:$(http_port "$i")"; done
	echo "cluster: every node as an entry point: clickhouse://$all/$DB" >&2
	echo "clickhouse://127.0.0.1:$(http_port 0)/$DB"
}

stop_pid() {
	local f=$1 p n=0
	[ -s "$f" ] || return 0
	p=$(cat "$f")
	if kill -0 "$p" 2>/dev/null; then
		kill "$p" 2>/dev/null || true
		while kill -0 "$p" 2>/dev/null; do
			n=$((n + 1))
			if [ "$n" -eq 300 ]; then kill -9 "$p" 2>/dev/null || true; fi
			sleep 0.1
		done
	fi
	rm -f "$f"
}

cmd_stop() {
	[ -d "$DIR" ] || return 0
	local i
	for i in $(seq 0 $((NODES - 1))); do stop_pid "$DIR/node$i/pid"; done
	stop_pid "$DIR/zk/pid"
	echo "cluster: stopped ($DIR)" >&2
}

# A database dropped on every node (each has its own replicas' tables; ON
# CLUSTER needs the distributed DDL queue and fails on 18.16 with a
# password when a replica forwards to its leader): named explicitly, never
# the default's.
cmd_drop() {
	[ -n "${CLUSTER_DB:-}" ] || die "drop: name the database in CLUSTER_DB"
	[[ $DB =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "drop: not a database name: $DB"
	[ -s "$DIR/credentials" ] || die "drop: no credentials in $DIR"
	PASSWORD=$(cut -d: -f2- "$DIR/credentials")
	local i
	for i in $(seq 0 $((NODES - 1))); do
		sql "$i" "DROP DATABASE IF EXISTS $DB" >/dev/null || die "drop: $DB on node$i failed"
	done
	echo "cluster: $DB dropped on every node" >&2
}

# A load leaves each table a shard several parts, which ClickHouse's merge
# selector may keep, and a read by key costs a granule in each part
# (docs/scale-out.md, "Parts after a bulk load").  OPTIMIZE ... FINAL on
# the leader replica of each table of each shard (a replica forwards it to
# the leader without the cluster's credentials in 18.16), waiting until
# every replica has the merged parts (replication_alter_partitions_sync=2).
cmd_optimize() {
	[ -n "${CLUSTER_DB:-}" ] || die "optimize: name the database in CLUSTER_DB"
	[[ $DB =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]] || die "optimize: not a database name: $DB"
	[ -s "$DIR/credentials" ] || die "optimize: no credentials in $DIR"
	PASSWORD=$(cut -d: -f2- "$DIR/credentials")
	local i t p parts n=0
	[ "$(sql 0 "SELECT count() FROM system.databases WHERE name = '$DB'")" = 1 ] ||
		die "optimize: no database $DB"
	for i in $(seq 0 $((NODES - 1))); do
		# the partitions of several parts of the tables this node leads, each
		# named (a FINAL without one may merge a single partition; 18.16 fails a
		# waited OPTIMIZE that has nothing to merge: "Unknown log entry type:
		# 0"); partitions are tuple() or a day (schema.sql)
		parts=$(sql "$i" "SELECT table, partition FROM system.parts WHERE database = '$DB'
			AND active AND table IN (SELECT table FROM system.replicas WHERE database = '$DB'
			AND is_leader) GROUP BY table, partition HAVING count() > 1") ||
			die "optimize: cannot ask node$i for its parts"
		while IFS=$'\t' read -r t p; do
			[ -n "$t" ] || continue
			[[ $p =~ ^(tuple\(\)|[0-9]+)$ ]] || die "optimize: $DB.$t: unexpected partition $p"
			curl -sS --fail-with-body -u "default:$PASSWORD" --data-binary \
				"OPTIMIZE TABLE $DB.$t PARTITION $p FINAL" \
				"http://127.0.0.1:$(http_port "$i")/?replication_alter_partitions_sync=2" >/dev/null ||
				die "optimize: $DB.$t partition $p on node$i failed"
			n=$((n + 1))
		done <<<"$parts"
	done
	echo "cluster: $DB's parts merged ($n partitions of several parts, on their leaders)" >&2
}

DIR=${2:-cluster-data}
case "${1:-}" in
start) cmd_start ;;
stop) cmd_stop ;;
drop) cmd_drop ;;
optimize) cmd_optimize ;;
packages) echo "$PACKAGES" ;;
*)
	echo "usage: $0 start|stop|drop|optimize [DIR] | packages" >&2
	exit 2
	;;
esac
