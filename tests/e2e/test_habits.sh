#!/usr/bin/env bash
# End-to-end: analysts' habits (issue 12) - times that are never guessed,
# global options before the command, error messages, CSV, IDN, completion
# and the man page.
. "$(dirname "$0")/../lib.sh"
export INFRAPIVOT_DB="$WORK/db"
IP=$INFRAPIVOT

cat >"$WORK/obs.ndjson" <<EOT
{"rrname":"old.example","rrtype":"A","rdata":"192.0.2.1","time_first":1600000000,"time_last":1600000100,"count":2}
{"rrname":"new.example","rrtype":"A","rdata":"192.0.2.2","time_first":1795651200,"time_last":1795737600,"count":5}
EOT
"$IP" ingest "$WORK/obs.ndjson" 2>/dev/null
check_eq "fixture ingests" "$?" 0

# --- times: never guessed
"$IP" lookup ip 192.0.2.0/24 --last-after 20261126 >"$WORK/out" 2>"$WORK/err"
check_eq "an all-digit date-like time is refused" "$?" 2
check_grep "... saying how to write it" \
	"infrapivot lookup: --last-after '20261126' could be a date or epoch seconds: write 2026-11-26 for the date, @20261126 for epoch seconds" \
	"$WORK/err"
check_eq "... and nothing on stdout" "$(cat "$WORK/out")" ""
"$IP" lookup ip 192.0.2.0/24 --last-after 2026-11-26 >"$WORK/out" 2>/dev/null
check_eq "the ISO date selects the new record only" "$(grep -c new.example "$WORK/out"),$(grep -c old.example "$WORK/out")" "1,0"
"$IP" lookup ip 192.0.2.0/24 --last-after @20261126 >"$WORK/out" 2>/dev/null
check_eq "@epoch selects both" "$(wc -l <"$WORK/out")" 2
"$IP" lookup ip 192.0.2.0/24 --first-before -1y6M >"$WORK/out" 2>/dev/null
check_eq "compound relative time with y and M" "$(grep -c old.example "$WORK/out"),$(grep -c new.example "$WORK/out")" "1,0"
"$IP" lookup ip 192.0.2.0/24 --until now >"$WORK/out" 2>/dev/null
check_eq "now" "$(grep -c old.example "$WORK/out")" 1
"$IP" lookup ip 192.0.2.0/24 --since -7x 2>"$WORK/err" >/dev/null
check_grep "a bad unit is named" "--since '-7x' is not a relative time: units y \(years\) M \(months\)" "$WORK/err"
"$IP" pivot new.example --since 20261126 2>"$WORK/err" >/dev/null
check_grep "pivot refuses the ambiguous time too" "infrapivot pivot: --since: '20261126' could be a date" "$WORK/err"
"$IP" pivot new.example --since 2026-11-26 >/dev/null 2>&1
check_eq "pivot takes the ISO date" "$?" 0

finish
