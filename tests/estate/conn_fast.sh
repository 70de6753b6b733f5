#!/bin/bash
# conn_fast.sh - Zeek conn.log TSV lines are read by a fast path
# (ingest/zeek_conn.c) that takes only the usual line and leaves every
# other to the general row reader.  Both must record the same: the same
# database (every table, mdb_dump), the same summary and the same reject
# reports, line for line, with the reading thread alone and with helper
# parsers.  INFRAPIVOT_ZEEK_GENERAL=1 turns the fast path off.
. "$(dirname "$0")/../lib.sh"
command -v mdb_dump >/dev/null || { echo "mdb_dump (lmdb-utils) is needed" >&2; exit 1; }

# 15,000 lines in five header blocks (standard columns; reordered
# columns with the byte counts before the addresses; custom unset and
# empty strings; no byte columns at all; unset and empty strings that
# would parse as a time or an address), each line drawn from good
# forms and from the bad and unusual ones, seeded.  The generator prints
# how many lines of each form it wrote to fd 3.
python3 - "$WORK/conn.log" 3>"$WORK/forms" <<'EOF'
import collections, random, sys
rng = random.Random(13)
forms = collections.Counter()
STD = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service',
       'duration', 'orig_bytes', 'resp_bytes', 'conn_state', 'local_orig', 'history']
REORD = ['uid', 'orig_bytes', 'resp_bytes', 'conn_state', 'ts', 'id.resp_h', 'id.orig_h']
NOBYTES = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'conn_state']

def header(cols, unset='-', empty='(empty)'):
    return ['#separator \\x09', '#set_separator\t,', '#empty_field\t' + empty,
            '#unset_field\t' + unset, '#path\tconn', '#fields\t' + '\t'.join(cols),
            '#types\t' + '\t'.join('string' for _ in cols)]

def v4():
    return '%d.%d.%d.%d' % tuple(rng.choice([0, 1, 9, 10, 99, 100, 192, 255]) if rng.random() < .2
                                 else rng.randrange(256) for _ in range(4))

def good(col, unset, empty):
    t = 1700000000 + rng.randrange(10 ** 6)
    return {'ts': '%d.%06d' % (t, rng.randrange(10 ** 6)), 'uid': 'C%06x' % rng.randrange(10 ** 6),
            'id.orig_h': '10.%d.%d.%d' % (rng.randrange(3), rng.randrange(4), rng.randrange(20)),
            'id.orig_p': str(rng.randrange(65536)), 'id.resp_h': v4(),
            'id.resp_p': str(rng.choice([53, 80, 123, 443])), 'proto': 'tcp', 'service': unset,
            'duration': '%.6f' % rng.random(), 'orig_bytes': str(rng.randrange(5000)),
            'resp_bytes': str(rng.randrange(10 ** 7)), 'conn_state': 'SF', 'local_orig': 'T',
            'history': 'ShADadFf'}[col]

# (form, column, value): what replaces one column of a good line
ODD = [('unset-bytes', 'orig_bytes', 'U'), ('empty-bytes', 'resp_bytes', 'E'),
       ('unset-ts', 'ts', 'U'), ('empty-orig', 'id.orig_h', 'E'), ('unset-resp', 'id.resp_h', 'U'),
       ('bad-bytes', 'orig_bytes', 'abc'), ('huge-bytes', 'resp_bytes', '99999999999999999999'),
       ('max-bytes', 'orig_bytes', '18446744073709551615'), ('neg-bytes', 'resp_bytes', '-5'),
       ('plus-bytes', 'orig_bytes', '+5'), ('zero-bytes', 'orig_bytes', '0'),
       ('bad-addr', 'id.resp_h', 'not-an-ip'), ('octet-256', 'id.resp_h', '1.2.3.256'),
       ('lead-zero', 'id.resp_h', '1.02.3.4'), ('v6', 'id.resp_h', '2001:db8::1'),
       ('v6-client', 'id.orig_h', 'fe80::1'), ('mapped', 'id.resp_h', '::ffff:192.0.2.1'),
       ('three-dots', 'id.resp_h', '1.2.3'), ('bad-ts', 'ts', '17000x0000.5'),
       ('int-ts', 'ts', '1700000000'), ('iso-ts', 'ts', '2023-11-14T22:13:20Z'),
       ('neg-ts', 'ts', '-1.5'), ('short-ts', 'ts', '1.5'), ('escape', 'uid', 'C\\x09x'),
       ('backslash', 'history', 'a\\\\b'), ('empty-field', 'uid', '')]

def line(cols, unset, empty):
    f = {c: good(c, unset, empty) for c in cols}
    r = rng.random()
    form = 'good'
    if r < .3:
        form, col, val = rng.choice(ODD)
        if col not in f:
            form = 'good'
        else:
            f[col] = unset if val == 'U' else empty if val == 'E' else val
    vals = [f[c] for c in cols]
    if r > .97:
        form = 'fewer-fields'
        vals = vals[:-1]
    elif r > .94:
        form = 'more-fields'
        vals = vals + ['x']
    forms[form] += 1
    return '\t'.join(vals)

out = []
for cols, unset, empty in [(STD, '-', '(empty)'), (REORD, '-', '(empty)'), (STD, 'NIL', 'EMPTY'),
                           (NOBYTES, '-', '(empty)'), (STD, '0', '10.9.9.9')]:
    out += header(cols, unset, empty)
    out += [line(cols, unset, empty) for _ in range(3000)]
open(sys.argv[1], 'w').write('\n'.join(out) + '\n')
for k, v in sorted(forms.items()):
    print(k, v, file=open(3, 'w', closefd=False))
EOF
check_eq "the generator wrote every form" "$(wc -l <"$WORK/forms")" 29

run() { # NAME PARSERS [ENV...]: ingest into $WORK/NAME.db, dump it
	local name=$1 n=$2; shift 2
	env "$@" "$INFRAPIVOT" ingest --no-progress --parsers "$n" --sensor s1 \
		--db "$WORK/$name.db" --rejects "$WORK/$name.rej" "$WORK/conn.log" >"$WORK/$name.out" 2>"$WORK/$name.err"
	echo $? >"$WORK/$name.rc"
	mdb_dump -a "$WORK/$name.db" >"$WORK/$name.dump"
	# the summary's rates and times differ from run to run
	sed -E 's/ in [0-9.]+ s, [0-9]+ records\/s//; s/, [0-9]+\/s$//' "$WORK/$name.err" >"$WORK/$name.msgs"
}
run general0 1 INFRAPIVOT_ZEEK_GENERAL=1
run fast0 1
run fast2 2
run general2 2 INFRAPIVOT_ZEEK_GENERAL=1
check_eq "exit status (some lines are bad)" "$(cat "$WORK/general0.rc")" 1
nrej=$(grep -c '' "$WORK/general0.rej")
check "the general path rejected lines ($nrej)" test "$nrej" -gt 300
check_grep "client sightings recorded" ' [1-9][0-9]* client sightings' "$WORK/general0.err"
for name in fast0 fast2 general2; do
	check_eq "$name: exit status" "$(cat "$WORK/$name.rc")" "$(cat "$WORK/general0.rc")"
	if cmp -s "$WORK/general0.dump" "$WORK/$name.dump"; then ok; else
		bad "$name: database differs from the general path's"
		diff "$WORK/general0.dump" "$WORK/$name.dump" | head -20 >&2
	fi
	if cmp -s "$WORK/general0.rej" "$WORK/$name.rej"; then ok; else
		bad "$name: rejected lines differ from the general path's"
		diff "$WORK/general0.rej" "$WORK/$name.rej" | head -20 >&2
	fi
	if cmp -s "$WORK/general0.msgs" "$WORK/$name.msgs"; then ok; else
		bad "$name: reports differ from the general path's"
		diff "$WORK/general0.msgs" "$WORK/$name.msgs" | head -20 >&2
	fi
done
# the comparison means something only if the database holds the sightings
check "the dump holds client pairs" test "$(wc -l <"$WORK/fast0.dump")" -gt 3000
finish
