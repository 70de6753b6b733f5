# tests/http/http_lib.sh - start and stop a real server for the HTTP tests.
#   . "$(dirname "$0")/http_lib.sh"   (after ../lib.sh)
# start_server [serve options...]: a fresh port, waits for /healthz; sets
# SRV_PID, PORT, U (base URL).  DB is the database directory ($WORK/db).
DB=${DB:-$WORK/db}
SRV_PID=
start_server() {
	PORT=$(free_port)
	U="http://127.0.0.1:$PORT"
	"$INFRAPIVOT" serve --db "$DB" --listen "127.0.0.1:$PORT" --threads 2 "$@" \
		2>>"$WORK/server.log" &
	SRV_PID=$!
	CLEANUP_EXTRA='[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null'
	for _ in $(seq 1 100); do
		if curl -s -o /dev/null "$U/healthz"; then return 0; fi
		if ! kill -0 "$SRV_PID" 2>/dev/null; then break; fi
		sleep 0.05
	done
	echo "server did not start:" >&2
	cat "$WORK/server.log" >&2
	return 1
}
# stop_server: SIGTERM, wait; the exit status must be 0.
stop_server() {
	kill -TERM "$SRV_PID"
	wait "$SRV_PID"
	local rc=$?
	SRV_PID=
	check_eq "server exit status after SIGTERM" "$rc" 0
}
# status METHOD URL [curl args...]: prints the HTTP status code only.
status() { local m=$1 u=$2; shift 2; curl -s -o "$WORK/body" -w '%{http_code}' -X "$m" "$@" "$u"; }
# jget FILE EXPR: python expression over the JSON document j.
jget() { python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }
