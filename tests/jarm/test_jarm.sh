#!/bin/bash
# test_jarm.sh - `infrapivot probe --jarm` against `openssl s_server` on
# loopback in five configurations, each compared with the independent
# standard-library Python implementation jarm_ref.py (the expected values
# come from it, computed here against the same server), plus a fixed
# ServerHello whose fingerprint is derived by hand, and the failures:
# closed port, alerts, garbage, a silent listener.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
IP=$INFRAPIVOT
PIDS=""
CLEANUP_EXTRA='for p in $PIDS; do kill $p 2>/dev/null; done'
cd "$WORK" || exit 2
ZEROS=00000000000000000000000000000000000000000000000000000000000000

wait_file() {
	for _ in $(seq 200); do
		[ -s "$1" ] && return 0
		sleep 0.05
	done
	return 1
}
# answer RAW N: the N-th (1-based) of the ten answers of a raw JARM
answer() { echo "$1" | cut -d, -f"$2"; }

openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 2 \
	-subj "/CN=jarm.test" >/dev/null 2>&1
check "certificate made" test -s cert.pem

# name -> s_server options
declare -A CONF=(
	[tls13]=""
	[no13]="-no_tls1_3"
	[ciphers]="-no_tls1_3 -cipher ECDHE-RSA-AES256-SHA:AES128-SHA"
	[suites13]="-ciphersuites TLS_CHACHA20_POLY1305_SHA256"
	[alpn]="-alpn h2,http/1.1"
)
declare -A PORT
for c in "${!CONF[@]}"; do
	PORT[$c]=$(free_port)
	# shellcheck disable=SC2086
	openssl s_server -accept "127.0.0.1:${PORT[$c]}" -cert cert.pem -key key.pem -quiet \
		${CONF[$c]} < /dev/null > "sserver-$c.log" 2>&1 &
	PIDS="$PIDS $!"
done
for c in "${!CONF[@]}"; do
	check "s_server $c up" wait_port "${PORT[$c]}"
done

check_rc "probe --help" 0 "$IP" probe --help
"$IP" probe --help > help.txt
check_grep "help: --jarm" "--jarm" help.txt
check_grep "help: --format" "--format json.table" help.txt
check_rc "bad --format" 2 "$IP" probe --no-record --format xml 127.0.0.1:1

# --- each configuration: same raw JARM and fingerprint as jarm_ref.py
declare -A FP RAW
for c in "${!CONF[@]}"; do
	p=${PORT[$c]}
	"$IP" probe --no-record --jarm "127.0.0.1:$p" > "out-$c.json" 2> "err-$c"
	check_eq "$c: exit 0" $? 0
	python3 "$HERE/jarm_ref.py" 127.0.0.1 "$p" > "ref-$c.txt"
	check_eq "$c: jarm_ref.py ran" $? 0
	RAW[$c]=$(field "out-$c.json" jarm_raw)
	FP[$c]=$(field "out-$c.json" jarm)
	check_eq "$c: raw JARM as jarm_ref.py" "${RAW[$c]}" "$(sed -n 1p "ref-$c.txt")"
	check_eq "$c: fingerprint as jarm_ref.py" "${FP[$c]}" "$(sed -n 2p "ref-$c.txt")"
	check "$c: 62 hex characters" grep -qE '"jarm":"[0-9a-f]{62}"' "out-$c.json"
	check "$c: not the empty fingerprint" test "${FP[$c]}" != "$ZEROS"
	check_eq "$c: no jarm_error" "$(field "out-$c.json" jarm_error)" null
	check_eq "$c: certificate probed too" "$(field "out-$c.json" subject)" "CN=jarm.test"
done
distinct=$(printf '%s\n' "${FP[@]}" | sort -u | wc -l)
check_eq "five configurations, five fingerprints" "$distinct" 5

# what the configurations must show, read off the answers by hand
# (answer 7 is the TLS 1.3 hello with the 1.3 suites first)
check "tls13: answer 7 picks a TLS 1.3 suite" grep -qE '^13' <<< "$(answer "${RAW[tls13]}" 7)"
check "tls13: answer 7 carries supported_versions" grep -q '002b' <<< "$(answer "${RAW[tls13]}" 7)"
check "no13: no TLS 1.3 suite" test -z "$(tr , '\n' <<< "${RAW[no13]}" | grep -E '^13')"
check "no13: no supported_versions" test -z "$(tr , '\n' <<< "${RAW[no13]}" | grep 002b)"
check "ciphers: only the two suites allowed" test -z "$(tr , '\n' <<< "${RAW[ciphers]}" |
	grep -vE '^(c014|002f)\||^\|\|\|$')"
check_eq "suites13: answer 7 is ChaCha20" "$(answer "${RAW[suites13]}" 7 | cut -c1-4)" 1303
check_eq "alpn: answer 1 selects h2" "$(answer "${RAW[alpn]}" 1 | cut -d'|' -f3)" h2
check "alpn: ALPN in the extension list" grep -q '0010' <<< "$(answer "${RAW[alpn]}" 1)"

# --- SNI: --sni is sent as server_name; --no-sni sends none
"$IP" probe --no-record --jarm --sni jarm.test "127.0.0.1:${PORT[tls13]}" > sni.json 2>&1
check_eq "--sni: same as jarm_ref.py with that name" "$(field sni.json jarm)" \
	"$(python3 "$HERE/jarm_ref.py" 127.0.0.1 "${PORT[tls13]}" jarm.test | sed -n 2p)"
"$IP" probe --no-record --jarm --no-sni "127.0.0.1:${PORT[alpn]}" > nosni.json 2>&1
check_eq "--no-sni: same as jarm_ref.py without a name" "$(field nosni.json jarm)" \
	"$(python3 "$HERE/jarm_ref.py" 127.0.0.1 "${PORT[alpn]}" - | sed -n 2p)"

# --- a fixed ServerHello: c02f (position 41 = 0x29), 0303 (d), "h2",
# extensions ff01-0010-000b, ten times; the hash part by sha256sum
python3 "$HERE/../feeds/plain_server.py" --hello hello.port > /dev/null 2>&1 &
PIDS="$PIDS $!"
python3 "$HERE/../feeds/plain_server.py" --alert alert.port > /dev/null 2>&1 &
PIDS="$PIDS $!"
python3 "$HERE/../feeds/plain_server.py" --garbage garbage.port > /dev/null 2>&1 &
PIDS="$PIDS $!"
python3 "$HERE/../feeds/plain_server.py" --silent silent.port > /dev/null 2>&1 &
PIDS="$PIDS $!"
for m in hello alert garbage silent; do
	check "answer server $m up" wait_file "$m.port"
done
tail=$(for _ in $(seq 10); do printf 'h2ff01-0010-000b'; done | sha256sum | cut -c1-32)
"$IP" probe --no-record --jarm "127.0.0.1:$(cat hello.port)" > hello.json 2> hello.err
check_eq "fixed ServerHello: exit 1 (the certificate probe fails)" $? 1
check_eq "fixed ServerHello: answer text" "$(answer "$(field hello.json jarm_raw)" 10)" \
	'c02f|0303|h2|ff01-0010-000b'
check_eq "fixed ServerHello: fingerprint by hand" "$(field hello.json jarm)" \
	"29d29d29d29d29d29d29d29d29d29d$tail"

# --- failures: a clear jarm_error, the fingerprint of zeros
CLOSED=$(free_port)
"$IP" probe --no-record --jarm "127.0.0.1:$CLOSED" > closed.json 2> closed.err
check_eq "closed port: exit 2" $? 2
check_eq "closed port: jarm_error" "$(field closed.json jarm_error)" \
	"connect: Connection refused"
check_eq "closed port: zeros" "$(field closed.json jarm)" "$ZEROS"
check_grep "closed port: on stderr" "JARM: connect: Connection refused" closed.err
for m in alert garbage; do
	"$IP" probe --no-record --jarm "127.0.0.1:$(cat $m.port)" > $m.json 2> $m.err
	check_eq "$m: exit 2" $? 2
	check_grep "$m: no ServerHello named" '"jarm_error":"no ServerHello to any of the 10' $m.json
	check_eq "$m: zeros" "$(field $m.json jarm)" "$ZEROS"
	check_eq "$m: ten empty answers" "$(field $m.json jarm_raw)" \
		'|||,|||,|||,|||,|||,|||,|||,|||,|||,|||'
	check_eq "$m: jarm_ref.py agrees" "$(python3 "$HERE/jarm_ref.py" 127.0.0.1 \
		"$(cat $m.port)" | sed -n 2p)" "$ZEROS"
done
# a listener that never answers: the first JARM probe times out and ends
# the run (not ten timeouts); the certificate probe waits its 1 s too
t0=$(date +%s%N)
timeout 60 "$IP" probe --no-record --jarm --timeout 1 "127.0.0.1:$(cat silent.port)" \
	> silent.json 2> silent.err
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check_eq "silent: exit 2" $rc 2
check_eq "silent: timeout named" "$(field silent.json jarm_error)" \
	"no answer within 1000 ms to JARM probe 1 of 10"
check_eq "silent: zeros" "$(field silent.json jarm)" "$ZEROS"
check "silent: over within the two timeouts, not ten ($ms ms)" test "$ms" -lt 9000

# --- many targets in parallel, and the table
for c in "${!CONF[@]}"; do echo "127.0.0.1:${PORT[$c]}"; done > targets.txt
echo "127.0.0.1:$CLOSED" >> targets.txt
"$IP" probe --no-record --jarm --parallel 3 --targets targets.txt > many.json 2> many.err
check_eq "targets: exit 1 (one closed)" $? 1
check_eq "targets: six lines" "$(wc -l < many.json)" 6
for c in "${!CONF[@]}"; do
	check_eq "targets: $c as alone" "$(grep -c "\"port\":${PORT[$c]},.*\"jarm\":\"${FP[$c]}\"" many.json)" 1
done
"$IP" probe --no-record --jarm --format table "127.0.0.1:${PORT[no13]}" \
	"127.0.0.1:$CLOSED" > table.txt 2> /dev/null
check_eq "table: header and two lines" "$(wc -l < table.txt)" 3
check_grep "table: header" '^TARGET +IP +PORT +TLS +SHA1 +JARM +ERROR$' table.txt
check_grep "table: fingerprint on its line" "^127.0.0.1:${PORT[no13]} .* ${FP[no13]} -$" table.txt
check_grep "table: error on its line" "^127.0.0.1:$CLOSED .*$ZEROS connect: Connection refused; JARM: connect: Connection refused$" table.txt

# --- recorded: the JARM is a sighting of ip:port (sensor "probe"), found
# by lookup jarm and walked by a pivot with the fingerprint edge
"$IP" probe --db "$PWD/db" --jarm "127.0.0.1:${PORT[ciphers]}" > rec.json 2> rec.err
check_eq "recorded probe: exit 0" $? 0
"$IP" lookup jarm "${FP[ciphers]}" --db "$PWD/db" > rec-lookup.json 2> rec-lookup.err
check_grep "lookup jarm: the probed ip:port" "\"ip\": ?\"127.0.0.1\".*\"port\": ?${PORT[ciphers]}" rec-lookup.json
check_grep "lookup jarm: its type and hash" "\"type\": ?\"jarm\".*\"hash\": ?\"${FP[ciphers]}\"" rec-lookup.json
"$IP" lookup jarm "${FP[no13]}" --db "$PWD/db" > rec-none.json 2>/dev/null
check "lookup jarm: a fingerprint never recorded has no sighting" test ! -s rec-none.json
"$IP" pivot --db "$PWD/db" --edges fingerprint --format json "${FP[ciphers]}" > rec-pivot.json 2> rec-pivot.err
check_grep "pivot from the JARM reaches the probed IP" '"value": ?"127.0.0.1"' rec-pivot.json

finish
