# scripts/bench-lib.sh - the set-up of the ingest benchmarks (sourced from
# the repository root): WORK ($BENCH_DIR, else $TMPDIR/infrapivot-bench),
# IP (the binary, built when missing), MEASURE (scripts/measure.py) and
# OPTS (the shell words of INGEST_OPTS, passed to every ingest).
WORK=${BENCH_DIR:-${TMPDIR:-/tmp}/infrapivot-bench}
mkdir -p "$WORK"
[ -x build/service/infrapivot ] || scripts/setup.sh >/dev/null
IP=$PWD/build/service/infrapivot
MEASURE=$PWD/scripts/measure.py
read -r -a OPTS <<<"${INGEST_OPTS:-}"
