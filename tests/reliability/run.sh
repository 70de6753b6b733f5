#!/bin/bash
# tests/reliability/run.sh [--long] [BINARY]: every reliability test, in
# its short mode (what ctest runs) or, with --long, with many more
# trials, connections and lines.  BINARY defaults to build/service/infrapivot.
dir=$(cd "$(dirname "$0")" && pwd)
mode=
[ "${1:-}" = "--long" ] && mode=--long && shift
export INFRAPIVOT=${1:-${INFRAPIVOT:-$dir/../../build/service/infrapivot}}
rc=0
for t in crash crash_keys hostile diskfull; do
	echo "== $t $mode"
	bash "$dir/$t.sh" $mode
	r=$?
	if [ "$r" = 77 ]; then echo "($t skipped)"; elif [ "$r" != 0 ]; then rc=1; fi
done
exit $rc
