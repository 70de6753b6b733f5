#!/bin/bash
# kill -9 of a follow-mode ingest of many random keys (the shape of
# `gen-dataset --keys random`) at random moments chosen by conditions on
# its progress: after every kill the database opens and no count exceeds
# a clean run's; a restart ends identical to it (crash_keys.py says how).
# Short mode (ctest): 5 kills of a 300,000-line ingest; --long: 20 kills
# of 2,000,000 lines.  CRASH_LINES, CRASH_KILLS and CRASH_SEED (printed;
# random by default) override; INGEST_OPTS adds ingest options.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/rel_lib.sh"
LINES=300000 KILLS=5
[ "$LONG" = 1 ] && LINES=2000000 KILLS=20
LINES=${CRASH_LINES:-$LINES} KILLS=${CRASH_KILLS:-$KILLS}
SEED=${CRASH_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
python3 "$TESTS_DIR/../scripts/gen-dataset" --keys random --lines "$LINES" --seed 16 >"$WORK/in.json"
read -r -a OPTS <<<"${INGEST_OPTS:-}"
python3 "$TESTS_DIR/reliability/crash_keys.py" "$IP" "$WORK/in.json" "$WORK" "$KILLS" "$SEED" "${OPTS[@]}"
check_eq "crash_keys (seed $SEED; rerun with CRASH_SEED=$SEED)" "$?" 0
finish
