# tests/reliability/rel_lib.sh - shared by the reliability tests (after
# ../lib.sh).  LONG=1 with --long (tests/reliability/run.sh --long).
LONG=0
for a in "$@"; do [ "$a" = "--long" ] && LONG=1; done
IP=$(realpath "$INFRAPIVOT")
T0=1000000000
# cof_lines N SENSORS: N lines of the same resolution f.example.com, line i
# seen at T0+i, sensor s(i mod SENSORS): the store's count is the number of
# lines committed and time_last - T0 the last of them.
cof_lines() {
	awk -v n="$1" -v m="$2" -v t0=$T0 'BEGIN { for (i = 1; i <= n; i++)
		printf "{\"rrname\":\"f.example.com\",\"rrtype\":\"A\",\"rdata\":\"192.0.2.1\",\"time_first\":%d,\"time_last\":%d,\"count\":1,\"sensor_id\":\"s%d\"}\n", t0 + i, t0 + i, i % m }'
}
# state DB: "COUNT LAST" of f.example.com ("0 0" when absent)
state() {
	"$IP" lookup --db "$1" domain f.example.com 2>/dev/null |
		sed -nE 's/.*"time_last":([0-9]+).*"count":([0-9]+).*/\2 \1/p' |
		awk -v t0=$T0 '{ print $1, $2 - t0; f = 1 } END { if (!f) print "0 0" }'
}
# wait_for SECONDS COMMAND...: until COMMAND succeeds (polls every 20 ms)
wait_for() {
	local n=$(($1 * 50)); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.02; done
	return 1
}
# rand_s MAX: a random delay in seconds, 0 to MAX ms
rand_s() { awk -v r="$RANDOM" -v m="$1" 'BEGIN { printf "%.3f", (r % (m + 1)) / 1000 }'; }
