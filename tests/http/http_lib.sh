# tests/http/http_lib.sh - start and stop a real server for the HTTP tests.
#   . "$(dirname "$0")/http_lib.sh"   (after ../lib.sh)
# start_server [serve options...]: a fresh port, waits for /healthz; sets
# SRV_PID, PORT, U (base URL).  DB is the store: the directory $WORK/db, or a
# new database of the cluster INFRAPIVOT_TEST_STORE names (tests/lib.sh).
[ -n "${DB:-}" ] || test_store DB db
SRV_PID=
start_server() {
	PORT=$(free_port)
	U="http://127.0.0.1:$PORT"
	"$INFRAPIVOT" serve --db "$DB" --listen "127.0.0.1:$PORT" --threads 2 "$@" \
		2>>"$WORK/server.log" &
	SRV_PID=$!
	CLEANUP_EXTRA='[ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null'
	# wait for the server by condition: it answers, or it is gone (60 s at
	# most: a sanitizer build on a busy machine starts slowly)
	for _ in $(seq 1 1200); do
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

# --- every response checked against the OpenAPI description -----------------
# curl is wrapped: each response it receives (status, Content-Type, body) is
# recorded under $WORK/oa, and finish() checks them all against
# docs/openapi.json with tests/tools/openapi-check (one python run): a
# status or a body the description does not give fails the test.  The
# caller's options are kept; -o /dev/null and standard output are captured
# on the way.  OPENAPI_CHECK=0 turns the check off (never in CI).
OA_DIR=$WORK/oa
OA_N=0
mkdir -p "$OA_DIR"
curl() {
	OA_N=$((OA_N + 1))
	# BASHPID: curls run in the background (subshells) get names of their own
	local n=${BASHPID}_$OA_N args=() urls=() outs=() hdr="" method="" to_stdout=1 a i
	while [ $# -gt 0 ]; do
		a=$1
		shift
		case $a in
		-o | --output)
			if [ "$1" = /dev/null ]; then
				outs+=("$OA_DIR/$n.null${#outs[@]}")
				args+=(-o "$OA_DIR/$n.null$((${#outs[@]} - 1))")
			else
				outs+=("$1")
				args+=(-o "$1")
			fi
			to_stdout=0
			shift
			;;
		-D | --dump-header) hdr=$1 args+=(-D "$1"); shift ;;
		-X | --request) method=$1 args+=(-X "$1"); shift ;;
		-I | --head) method=HEAD args+=(-I) ;;
		-d | --data | --data-binary | --data-raw)
			[ -z "$method" ] && method=POST
			args+=("$a" "$1")
			shift
			;;
		-w | --write-out | -H | --header | -u | --user | --limit-rate | --max-time | -m | \
			--connect-timeout | -T | --upload-file | -A | -e | -b | -c)
			args+=("$a" "$1")
			shift
			;;
		http://* | https://*) urls+=("$a") args+=("$a") ;;
		*) args+=("$a") ;;
		esac
	done
	[ -z "$method" ] && method=GET
	[ -z "$hdr" ] && hdr=$OA_DIR/$n.hdr && args+=(-D "$hdr")
	local rc
	if [ "$to_stdout" = 1 ] && [ ${#urls[@]} -eq 1 ]; then
		outs=("$OA_DIR/$n.out")
		command curl -o "$OA_DIR/$n.out" "${args[@]}" >"$OA_DIR/$n.w"
		rc=$?
		cat "$OA_DIR/$n.out" 2>/dev/null
		cat "$OA_DIR/$n.w"
	else
		command curl "${args[@]}"
		rc=$?
	fi
	# keep what this call received: the caller may overwrite its files next
	cp "$hdr" "$OA_DIR/$n.h" 2>/dev/null || : >"$OA_DIR/$n.h"
	for i in "${!urls[@]}"; do
		if [ -n "${outs[$i]:-}" ] && [ -f "${outs[$i]}" ]; then
			cp "${outs[$i]}" "$OA_DIR/$n.b$i"
		else
			: >"$OA_DIR/$n.b$i"
		fi
		printf '%s\t%s\t%s\t%s\t%s\n' "$method" "${urls[$i]}" "$OA_DIR/$n.h" "$i" \
			"$OA_DIR/$n.b$i" >>"$OA_DIR/log"
	done
	return $rc
}
# finish (replacing lib.sh's): check the recorded responses, then report.
finish() {
	# OPENAPI_KEEP=DIR keeps the recorded responses for a look
	[ -n "${OPENAPI_KEEP:-}" ] && cp -r "$OA_DIR" "$OPENAPI_KEEP/$(basename "$0" .sh)"
	if [ "${OPENAPI_CHECK:-1}" != 0 ] && [ -s "$OA_DIR/log" ]; then
		if /usr/bin/python3 "$TESTS_DIR/tools/openapi-check" "$TESTS_DIR/../docs/openapi.json" \
			"$OA_DIR/log" >"$OA_DIR/report" 2>&1; then
			ok
		else
			bad "responses the OpenAPI description does not describe:"
			sed 's/^/  | /' "$OA_DIR/report" | head -40 >&2
		fi
	fi
	finish_status
}
