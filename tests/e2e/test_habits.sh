#!/usr/bin/env bash
# End-to-end: analysts' habits (issue 12) - times that are never guessed,
# global options before the command, error messages, CSV, IDN, completion
# and the man page.
. "$(dirname "$0")/../lib.sh"
test_store DB db # a directory, or a cluster database (tests/lib.sh)
export INFRAPIVOT_DB="$DB"
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
"$IP" watchlist create tw >/dev/null 2>&1
"$IP" watchlist add tw t.example --expires 20261126 >/dev/null 2>"$WORK/err"
check_eq "watchlist --expires: the same rule" "$(cat "$WORK/err")" \
	"infrapivot watchlist add: --expires '20261126' could be a date or epoch seconds: write 2026-11-26 for the date, @20261126 for epoch seconds"
"$IP" watchlist add tw t.example --now 2026-01-01 --expires +1M >/dev/null 2>&1
"$IP" watchlist show tw --now 2026-01-01 --json >"$WORK/out" 2>/dev/null
check_grep "watchlist --expires +1M from --now" "2026-02-01T00:00:00Z" "$WORK/out"
"$IP" serve --now 2026x >/dev/null 2>"$WORK/err"
check_grep "serve --now says what is wrong" "^infrapivot serve: --now '2026x' is not a time: write 2024-01-31" "$WORK/err"
"$IP" beacons --since -3q >/dev/null 2>"$WORK/err"
check_eq "beacons: one line on a bad time" "$(cat "$WORK/err")" \
	"infrapivot beacons: --since '-3q' is not a relative time: units y (years) M (months) w d h m (minutes) s, each at most once"

# --- global options before the command work as after it
"$IP" stats --db "$DB" >"$WORK/after" 2>&1
check_eq "stats --db DIR" "$?" 0
"$IP" --db "$DB" stats >"$WORK/before" 2>&1
check_eq "--db DIR stats" "$?" 0
check "... prints the same" cmp -s "$WORK/before" "$WORK/after"
"$IP" --db="$DB" lookup domain new.example >"$WORK/out" 2>&1
check_grep "--db=DIR lookup" '"rrname":"new.example"' "$WORK/out"
INFRAPIVOT_DB=/nonexistent "$IP" --db "$DB" lookup domain x -- >/dev/null 2>"$WORK/err"
check_grep "--db before the command is honoured (not \$INFRAPIVOT_DB)" "no results" "$WORK/err"
"$IP" --db "$DB" >/dev/null 2>"$WORK/err"
check_grep "--db with no command" "infrapivot: no command after --db" "$WORK/err"
"$IP" --colour stats >/dev/null 2>"$WORK/err"
check_grep "an unknown global option" "infrapivot: unknown option --colour before the command" "$WORK/err"

# --- errors name the program and command, once
"$IP" lookup --frist-after 1 domain x >/dev/null 2>"$WORK/err"
check_eq "unknown option status" "$?" 2
check_eq "unknown option: one line naming the nearest" "$(cat "$WORK/err")" \
	"infrapivot lookup: unknown option --frist-after; did you mean --first-after?"
"$IP" stats --jsn >/dev/null 2>"$WORK/err"
check_eq "stats: the nearest option" "$(cat "$WORK/err")" "infrapivot stats: unknown option --jsn; did you mean --json?"
"$IP" ingest --quite x >/dev/null 2>"$WORK/err"
check_grep "ingest: the nearest option" "^infrapivot ingest: unknown option --quite; did you mean --quiet\?$" "$WORK/err"
"$IP" watchlist add --tl 3 w x >/dev/null 2>"$WORK/err"
check_grep "watchlist names its subcommand" "^infrapivot watchlist add: unknown option --tl" "$WORK/err"
"$IP" lookup domain x --db >/dev/null 2>"$WORK/err"
check_eq "a missing value" "$(cat "$WORK/err")" "infrapivot lookup: --db needs a value (see --help)"
"$IP" stats --json=yes >/dev/null 2>"$WORK/err"
check_eq "an unwanted value" "$(cat "$WORK/err")" "infrapivot stats: --json takes no value"
"$IP" pivot x --zzzzzz >/dev/null 2>"$WORK/err"
check_eq "nothing near" "$(cat "$WORK/err")" "infrapivot pivot: unknown option --zzzzzz (see --help)"
touch "$WORK/f"
"$IP" stats --db "$WORK/f" >/dev/null 2>"$WORK/err"
check_eq "a database that cannot be opened: one message, said once" "$(cat "$WORK/err")" \
	"infrapivot stats: cannot open database $WORK/f: Not a directory"
"$IP" ingest --db "$WORK/newdb" "$WORK/missing.ndjson" >/dev/null 2>"$WORK/err"
check_eq "ingest of a missing file fails" "$?" 2
check_eq "... saying why, once" "$(cat "$WORK/err")" \
	"infrapivot ingest: cannot read $WORK/missing.ndjson: No such file or directory"
check "... and leaves no database directory behind" test ! -e "$WORK/newdb"

# --- CSV (RFC 4180) on the CLI
cat >"$WORK/csv.ndjson" <<'EOT'
{"rrname":"csv.example","rrtype":"TXT","rdata":"+1 \"x\", y","time_first":1700000000,"time_last":1700000000,"count":1}
{"rrname":"csv.example","rrtype":"A","rdata":"192.0.2.9","time_first":1700000000,"time_last":1700000500,"count":4}
EOT
"$IP" ingest "$WORK/csv.ndjson" 2>/dev/null
"$IP" lookup domain csv.example --format csv >"$WORK/out" 2>/dev/null
check_eq "lookup --format csv" "$?" 0
check_eq "header row first" "$(head -1 "$WORK/out" | tr -d '\r' | cut -d, -f1-7)" "kind,time_first,time_last,count,rrname,rrtype,rdata"
check_eq "every line ends CRLF" "$(grep -c $'\r$' "$WORK/out")" 3
check_grep "a comma and quotes are quoted, a formula neutralised" \
	"^resolution,2023-11-14T22:13:20Z,2023-11-14T22:13:20Z,1,csv.example,TXT,\"'\\+1 \"\"x\"\", y\"," "$WORK/out"
check_grep "plain fields stay bare" "^resolution,2023-11-14T22:13:20Z,2023-11-14T22:21:40Z,4,csv.example,A,192.0.2.9," "$WORK/out"
"$IP" lookup domain nothing.example --format csv >"$WORK/out" 2>/dev/null
check_eq "no results: the header alone" "$(tr -d '\r' <"$WORK/out" | cut -d, -f1)" kind
"$IP" pivot csv.example --format csv >"$WORK/out" 2>/dev/null
check_eq "pivot --format csv" "$?" 0
check_grep "pivot csv header" "^record,id,type,value,depth,degree,pruned,src,dst,src_value,dst_value,port,count,first_seen,last_seen" "$WORK/out"
check_grep "the seed node" "^node,0,domain,csv.example,0," "$WORK/out"
check_grep "an edge naming both ends" "^edge,0,resolves,,,,,0,1,csv.example,192.0.2.9,,4,2023-11-14T22:13:20Z,2023-11-14T22:21:40Z" "$WORK/out"
"$IP" watchlist create w >/dev/null 2>&1
"$IP" watchlist add w csv.example --reason '=cmd|x' >/dev/null 2>&1
"$IP" watchlist export w --format csv >"$WORK/out" 2>/dev/null
check_eq "watchlist export --format csv" "$?" 0
check_grep "watchlist csv header" "^indicator,type,added,expires,source,reason,provenance" "$WORK/out"
check_grep "watchlist csv row" "^csv.example,domain,.*,\"'=cmd\|x\"," "$WORK/out"
"$IP" lookup domain csv.example --format xml >/dev/null 2>"$WORK/err"
check_eq "a bad --format says what was expected" "$(cat "$WORK/err")" "infrapivot lookup: --format xml: expected json|table|csv"
"$IP" pivot csv.example --format xml >/dev/null 2>"$WORK/err"
check_eq "pivot: the same" "$(cat "$WORK/err")" "infrapivot pivot: --format xml: expected json|dot|stix|table|csv|misp"
"$IP" watchlist export w --format xml >/dev/null 2>"$WORK/err"
check_grep "watchlist: the same" "^infrapivot watchlist export: --format xml: expected json\|text\|zeek\|suricata\|stix\|csv" "$WORK/err"

# --- internationalised names: U-labels become A-labels wherever a person
# types a name; the table shows both forms
cat >"$WORK/idn.ndjson" <<'EOT'
{"rrname":"xn--bcher-kva.example","rrtype":"A","rdata":"192.0.2.77","time_first":1700000000,"time_last":1700000000,"count":1}
{"rrname":"www.xn--bcher-kva.example","rrtype":"CNAME","rdata":"xn--bcher-kva.example","time_first":1700000000,"time_last":1700000000,"count":1}
EOT
"$IP" ingest "$WORK/idn.ndjson" 2>/dev/null
"$IP" lookup domain bücher.example >"$WORK/out" 2>"$WORK/err"
check_eq "lookup domain bücher.example" "$?" 0
check_grep "... finds the A-label name" '"rrname":"xn--bcher-kva.example"' "$WORK/out"
"$IP" lookup domain BÜCHER.example >"$WORK/out2" 2>/dev/null
check "upper case U-labels are mapped (UTS #46)" cmp -s "$WORK/out" "$WORK/out2"
"$IP" lookup domain '*.bücher.example' >"$WORK/out" 2>/dev/null
check_grep "a wildcard over an IDN zone" '"rrname":"www.xn--bcher-kva.example"' "$WORK/out"
"$IP" lookup domain bücher.example --format table >"$WORK/out" 2>/dev/null
check_grep "the table shows both forms" "xn--bcher-kva.example \(bücher.example\)" "$WORK/out"
"$IP" lookup domain 'a☃b.example' >/dev/null 2>"$WORK/err"
check_eq "a name IDNA forbids is refused" "$?" 2
check_grep "... saying what was wrong" "^infrapivot lookup: 'a☃b.example' is not a valid internationalised domain name \(.+\)$" "$WORK/err"
"$IP" pivot bücher.example >"$WORK/out" 2>/dev/null
check_eq "pivot SEED with U-labels" "$?" 0
check_grep "... seeds the A-label name" '"value": "xn--bcher-kva.example"' "$WORK/out"
check_grep "... and reaches its address" '"value": "192.0.2.77"' "$WORK/out"
"$IP" pivot 'a☃b.example' >/dev/null 2>"$WORK/err"
check_grep "pivot: a bad IDN seed" "^infrapivot pivot: SEED 'a☃b.example' is not a valid internationalised" "$WORK/err"
"$IP" watchlist add w bücher.example >/dev/null 2>&1
check_eq "watchlist add with U-labels" "$?" 0
"$IP" watchlist export w --format text >"$WORK/out" 2>/dev/null
check_grep "... stores the A-label form" "^xn--bcher-kva.example" "$WORK/out"
"$IP" watchlist add w 'a☃b.example' >/dev/null 2>"$WORK/err"
check_grep "watchlist: a bad IDN entry" "'a☃b.example' is not a valid internationalised domain name" "$WORK/err"

# --- bash completion and the man page cover every option of --help
SRC=$(cd "$TESTS_DIR/.." && pwd)
COMPL="$SRC/scripts/infrapivot.bash-completion"
check "completion script parses" bash -n "$COMPL"
"$SRC/scripts/gen-man" "$IP" "$WORK/infrapivot.1"
check_eq "gen-man runs" "$?" 0
man_text() { if command -v man >/dev/null; then MANWIDTH=200 man -l "$WORK/infrapivot.1" 2>/dev/null; else sed 's/\\-/-/g' "$WORK/infrapivot.1"; fi; }
man_text >"$WORK/man.txt"
check_grep "the man page has a NAME section" "infrapivot - passive DNS" "$WORK/man.txt"
for cmd in ingest lookup pivot pull probe stats compact watchlist beacons sensor serve migrate; do
	opts=$(compgen -W "$(bash -c '. "$1"; _infrapivot_opts "$2"' _ "$COMPL" "$cmd")" -- -)
	missing_c="" missing_m=""
	for o in $("$IP" "$cmd" --help 2>&1 | grep -oE -- '(^|[ ,[])--[a-z][a-z0-9-]*' | sed 's/^[ ,[]//' | sort -u); do
		grep -qw -- "$o" <<<"$opts" || missing_c="$missing_c $o"
		grep -q -- "$o" "$WORK/man.txt" || missing_m="$missing_m $o"
	done
	check_eq "completion lists every option of $cmd --help" "$missing_c" ""
	check_eq "the man page has every option of $cmd --help" "$missing_m" ""
done
# the completion itself: commands, options, --format values
compl() { bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _infrapivot; echo "${COMPREPLY[*]}"' _ "$COMPL" "$@"; }
check_grep "completes commands" "lookup" <(compl infrapivot lo)
check_eq "completes after a global --db" "$(compl infrapivot --db x piv)" "pivot"
check_eq "completes a command's options" "$(compl infrapivot lookup --first-)" "--first-after --first-before"
check_eq "completes --format values" "$(compl infrapivot lookup --format '')" "json table csv"
check_eq "completes lookup kinds" "$(compl infrapivot lookup d)" "domain"

finish
