#!/bin/bash
# test_probe.sh - `infrapivot probe` against `openssl s_server` on loopback
# with certificates made here, SNI selection, chains, and non-TLS ports.
. "$(dirname "$0")/../lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
IP=$INFRAPIVOT
PIDS=""
CLEANUP_EXTRA='for p in $PIDS; do kill $p 2>/dev/null; done'
cd "$WORK" || exit 2

# sha1 of a PEM certificate as lower-case hex, as `openssl x509` prints it
fp() { openssl x509 -in "$1" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g' | tr A-F a-f; }
count_stat() { "$IP" stats --db "$1" 2>/dev/null | awk -v k="$2" '$1==k{print $2}'; }

mkcert() { # NAME CN SAN [CA-NAME]
	if [ -n "${4:-}" ]; then
		openssl req -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.csr" -subj "/CN=$2" \
			>/dev/null 2>&1
		printf 'subjectAltName=%s\n' "$3" > "$1.ext"
		openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial \
			-days 2 -extfile "$1.ext" -out "$1.pem" >/dev/null 2>&1
	else
		openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1.key" -out "$1.pem" -days 2 \
			-subj "/CN=$2" -addext "subjectAltName=$3" >/dev/null 2>&1
	fi
}
mkcert one one.test DNS:one.test,DNS:www.one.test,IP:127.0.0.1
mkcert two two.test DNS:two.test
mkcert ca "Test Root CA" DNS:ca.invalid
mkcert leaf leaf.test DNS:leaf.test ca
check "certificates made" test -s one.pem -a -s two.pem -a -s leaf.pem

P=$(free_port)
openssl s_server -accept "127.0.0.1:$P" -cert one.pem -key one.key \
	-cert2 two.pem -key2 two.key -servername two.test -quiet < /dev/null > sserver.log 2>&1 &
PIDS="$PIDS $!"
PC=$(free_port)
openssl s_server -accept "127.0.0.1:$PC" -cert leaf.pem -key leaf.key -cert_chain ca.pem \
	-quiet < /dev/null > sserver2.log 2>&1 &
PIDS="$PIDS $!"
check "s_server up" wait_port "$P"
check "s_server with chain up" wait_port "$PC"
FP1=$(fp one.pem)
FP2=$(fp two.pem)
FPCA=$(fp ca.pem)

check_rc "probe --help" 0 "$IP" probe --help
"$IP" probe --help > help.txt
check_grep "help: --no-record" "--no-record" help.txt
check_grep "help: --parallel" "--parallel" help.txt
check_rc "probe without target" 2 "$IP" probe --no-record
check_rc "bad port" 2 "$IP" probe --no-record 127.0.0.1:99999

# --- no SNI: the default certificate
"$IP" probe --db db "127.0.0.1:$P" > out1.json 2> err1
check_eq "probe without SNI: exit 0" $? 0
check_eq "SHA-1 exactly as openssl x509 computes it" "$(field out1.json sha1)" "$FP1"
check_eq "no SNI sent for an address" "$(field out1.json sni)" null
check_eq "subject" "$(field out1.json subject)" "CN=one.test"
check_grep "SANs printed" '"san_dns":\["one.test","www.one.test"\]' out1.json
check_grep "SAN IP printed" '"san_ip":\["127.0.0.1"\]' out1.json
check_grep "validity printed" '"not_after":"20[0-9-]+T' out1.json
check_grep "sha256 printed" '"sha256":"[0-9a-f]{64}"' out1.json
"$IP" lookup --db db ip 127.0.0.1 > look1.json
check_grep "sighting recorded with sensor probe" "\"cert_sha1\":\"$FP1\".*\"port\":$P|\"port\":$P.*\"cert_sha1\":\"$FP1\".*\"probe\"" look1.json
"$IP" lookup --db db cert "$FP1" > cert1.json
check_grep "metadata recorded" 'one.test' cert1.json

# --- SNI selects the other certificate
"$IP" probe --db db --sni two.test "127.0.0.1:$P" > out2.json 2> err2
check_eq "probe with SNI: exit 0" $? 0
check_eq "SNI certificate SHA-1" "$(field out2.json sha1)" "$FP2"
check_eq "SNI echoed" "$(field out2.json sni)" two.test
"$IP" lookup --db db ip 127.0.0.1 > look2.json
check_grep "SNI recorded with the sighting" "\"cert_sha1\":\"$FP2\".*\"sni\":\\[\"two.test\"\\]" look2.json

# --- a name: resolved, SNI = the name, resolution recorded
"$IP" probe --db db "localhost:$P" > out3.json 2> err3
rc=$?
check "probe by name: exit 0 or 1 (::1 may refuse)" test "$rc" -le 1
check_grep "name sent as SNI" '"ip":"127.0.0.1","port":[0-9]+,"sni":"localhost"' out3.json
"$IP" lookup --db db domain localhost > look3.json
check_grep "resolution recorded" '"rrname":"localhost","rrtype":"A","rdata":"127.0.0.1"' look3.json
check_grep "resolution by sensor probe" '"probe"' look3.json
check_eq "--no-sni: default certificate" "$("$IP" probe --no-record --no-sni "localhost:$P" 2>/dev/null | grep '"127.0.0.1"' | python3 -c 'import sys,json; print(json.loads(sys.stdin.readline())["sha1"])')" "$FP1"

# --- chain
"$IP" probe --db db "127.0.0.1:$PC" > out4.json 2> err4
check_eq "probe with chain: exit 0" $? 0
check_eq "leaf" "$(field out4.json subject)" "CN=leaf.test"
check_eq "issuer" "$(field out4.json issuer)" "CN=Test Root CA"
check_grep "chain lists the CA" "\"chain\":\\[\\{[^]]*\"sha1\":\"$FPCA\"" out4.json
"$IP" lookup --db db cert "$FPCA" > cert4.json
check_grep "chain certificate metadata recorded" 'Test Root CA' cert4.json

# --- IPv6 loopback, [addr]:port syntax (when ::1 exists)
P6=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1",0)); print(s.getsockname()[1])' 2>/dev/null)
if [ -n "$P6" ]; then
	openssl s_server -accept "[::1]:$P6" -cert two.pem -key two.key -quiet \
		< /dev/null > sserver6.log 2>&1 &
	PIDS="$PIDS $!"
	for _ in $(seq 100); do (exec 3<>"/dev/tcp/::1/$P6") 2>/dev/null && break; sleep 0.05; done
	"$IP" probe --db db "[::1]:$P6" > out6v.json 2> err6v
	check_eq "IPv6 probe: exit 0" $? 0
	check_eq "IPv6 probe: address" "$(field out6v.json ip)" "::1"
	check_eq "IPv6 probe: SHA-1" "$(field out6v.json sha1)" "$FP2"
	"$IP" lookup --db db ip ::1 > look6.json
	check_grep "IPv6 sighting recorded" "\"cert_sha1\":\"$FP2\"" look6.json
fi

# --- --no-record
before=$(count_stat db cert_sightings)
check_rc "--no-record" 0 "$IP" probe --db db --no-record --sni one.test "127.0.0.1:$P"
check_eq "--no-record records nothing" "$(count_stat db cert_sightings)" "$before"
"$IP" probe --db fresh --no-record "127.0.0.1:$P" > /dev/null 2>&1
check "--no-record does not even create a database" test ! -e fresh

# --- not TLS
python3 "$HERE/plain_server.py" --banner plain.port > /dev/null 2>&1 &
PIDS="$PIDS $!"
python3 "$HERE/plain_server.py" --silent silent.port > /dev/null 2>&1 &
PIDS="$PIDS $!"
for _ in $(seq 100); do [ -s plain.port ] && [ -s silent.port ] && break; sleep 0.05; done
PP=$(cat plain.port)
PS=$(cat silent.port)
"$IP" probe --db db "127.0.0.1:$PP" > out5.json 2> err5
check_eq "plain TCP port: exit 2" $? 2
check_grep "plain TCP: clear error" "127.0.0.1:$PP.*no TLS on this port" err5
check_grep "plain TCP: error in JSON" '"error":"no TLS on this port' out5.json
"$IP" probe --db db --timeout 1 "127.0.0.1:$PS" > out6.json 2> err6
check_eq "silent port: exit 2" $? 2
check_grep "silent port: timeout named" "no TLS handshake answer within 1000 ms" err6
PR=$(free_port)
"$IP" probe --db db "127.0.0.1:$PR" > /dev/null 2> err7
check_eq "refused: exit 2" $? 2
check_grep "refused: message" "Connection refused" err7
check_eq "failed probes record no sightings" "$(count_stat db cert_sightings)" "$before"

# --- many targets, bounded concurrency, file and stdin
cat > targets.txt <<T
# a comment
127.0.0.1:$P
127.0.0.1:$P two.test

127.0.0.1:$PC
127.0.0.1:$PP
T
"$IP" probe --db db --parallel 3 --targets targets.txt > out8.json 2> err8
check_eq "targets file, one failure: exit 1" $? 1
check_eq "four results" "$(wc -l < out8.json)" 4
check_eq "per-target SNI" "$(grep -c "\"sni\":\"two.test\",.*\"sha1\":\"$FP2\"" out8.json)" 1
check_eq "one error" "$(grep -c '"error"' out8.json)" 1
printf '127.0.0.1:%s\n127.0.0.1:%s\n' "$P" "$PC" | "$IP" probe --no-record --targets - > out9.json 2>&1
check_eq "targets from stdin" "$?:$(grep -c '"sha1"' out9.json)" "0:2"

finish
