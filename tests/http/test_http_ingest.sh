#!/bin/bash
# Observations pushed over HTTP: the response summary, lookups answering
# while pushes run, and SIGTERM with a push in flight (it is finished and
# committed, the server exits 0).
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/http_lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
"$INFRAPIVOT" ingest -q --db "$DB" "$HERE/data.ndjson" >/dev/null 2>&1
B=$WORK/body
start_server || exit 1

gen() { # gen PREFIX N FILE: N valid COF lines under PREFIX.example
	python3 - "$1" "$2" "$3" <<'PY'
import json,sys
p,n,out=sys.argv[1],int(sys.argv[2]),sys.argv[3]
with open(out,"w") as f:
    for i in range(n):
        f.write(json.dumps({"rrname":"h%d.%s.example"%(i,p),"rrtype":"A",
            "rdata":"10.%d.%d.%d"%(i>>16&255,i>>8&255,i&255),
            "time_first":1700000000+i,"time_last":1700000100+i,"count":1})+"\n")
PY
}

# summary with errors: line numbers and reasons, first 100 kept
gen mixed 3 "$WORK/m"
{ cat "$WORK/m"; echo 'not json'; echo '{"rrname":"a.example","rrtype":"A","rdata":"999.1.1.1","time_first":1,"time_last":2}'; } >"$WORK/m2"
check_eq "push" "$(status POST "$U/api/v1/observations" -H 'Content-Type: application/x-ndjson' --data-binary @"$WORK/m2")" 200
check_eq "summary" "$(jget "$B" "(j['accepted'], j['rejected'], [e['line'] for e in j['errors']])")" "(3, 2, [4, 5])"
check_grep "reason given" '"reason":"' "$B"
python3 -c 'print("junk\n"*150, end="")' >"$WORK/junk"
check_eq "many rejects" "$(status POST "$U/api/v1/observations" --data-binary @"$WORK/junk")" 200
check_eq "first 100 errors" "$(jget "$B" "(j['rejected'], len(j['errors']), j.get('errors_truncated'))")" "(150, 100, True)"
check_eq "format parameter" "$(status POST "$U/api/v1/observations?format=cof&sensor=web-1" --data-binary @"$WORK/m")" 200
check_eq "bad format" "$(status POST "$U/api/v1/observations?format=xml" --data-binary @"$WORK/m")" 400
check_grep "bad format named" '"message":"format:' "$B"
check_eq "empty body" "$(status POST "$U/api/v1/observations" --data-binary '')" 200
check_eq "empty summary" "$(jget "$B" "j['accepted']")" 0
check_eq "sensor recorded" "$(curl -s "$U/api/v1/lookup/domain/h0.mixed.example" | python3 -c 'import json,sys; print(json.load(sys.stdin)["results"][0]["sensors"])')" "['web-1']"

# pushes while lookups run: every lookup answers, every push lands
gen bulk 20000 "$WORK/bulk"
split -l 5000 "$WORK/bulk" "$WORK/part."
for f in "$WORK"/part.*; do
	curl -s -o "$f.out" -w '%{http_code}\n' --data-binary @"$f" "$U/api/v1/observations" >"$f.code" &
done
fails=0
n=0
while [ "$(jobs -rp | grep -vc "^$SRV_PID\$")" -gt 0 ] || [ $n -lt 20 ]; do
	c=$(curl -s -o /dev/null -w '%{http_code}' "$U/api/v1/lookup/domain/www.example.com")
	[ "$c" = 200 ] || fails=$((fails + 1))
	n=$((n + 1))
	[ $n -gt 2000 ] && break
done
for p in $(jobs -rp); do [ "$p" = "$SRV_PID" ] || wait "$p"; done
check_eq "lookups during pushes all 200 ($n of them)" "$fails" 0
check_eq "pushes all 200" "$(cat "$WORK"/part.*.code | sort -u)" 200
check_eq "all pushed lines accepted" "$(cat "$WORK"/part.*.out | python3 -c 'import json,sys; print(sum(json.loads(l)["accepted"] for l in sys.stdin))')" 20000
check_eq "all visible" "$(curl -s "$U/api/v1/lookup/domain/*.bulk.example?limit=0&first_after=0" | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')" 20000
curl -s "$U/metrics" >"$B"
check_grep "records ingested metric" '^infrapivot_ingest_records_total 2000[0-9]' "$B"

# SIGTERM with a push in flight: the slow body is read to its end and
# committed, the response is sent, the server exits 0
gen late 400 "$WORK/late"
curl -s -o "$WORK/late.out" -w '%{http_code}' --limit-rate 20K --data-binary @"$WORK/late" \
	"$U/api/v1/observations" >"$WORK/late.code" &
CURL=$!
sleep 1
kill -TERM "$SRV_PID"
wait "$CURL"
wait "$SRV_PID"
check_eq "server exits 0 after draining" "$?" 0
SRV_PID=
check_eq "in-flight push answered" "$(cat "$WORK/late.code")" 200
check_eq "in-flight push accepted" "$(jget "$WORK/late.out" "j['accepted']")" 400
check_eq "and committed" "$("$INFRAPIVOT" lookup --db "$DB" --limit 0 domain '*.late.example' 2>/dev/null | wc -l)" 400
check_eq "no new connections after SIGTERM" "$(curl -s -o /dev/null -w '%{http_code}' "$U/healthz")" 000
finish
