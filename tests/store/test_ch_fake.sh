#!/usr/bin/env bash
# test_ch_fake.sh TEST_CH - the ClickHouse client against a stand-in server
# on loopback (ch_fake_server.py), and failover between entry points with a
# second one that breaks connections: part of the default suite.
set -euo pipefail
TEST_CH=$1
HERE=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/infrapivot-chfake-XXXXXX")
exec 4< <(python3 "$HERE/ch_fake_server.py" "default:s3cret" "$WORK")
SRV=$!
mkdir "$WORK/drop"
exec 5< <(python3 "$HERE/ch_fake_server.py" "default:s3cret" "$WORK/drop" drop)
DROP=$!
trap 'kill $SRV $DROP 2>/dev/null || true; rm -rf "$WORK"' EXIT
read -r -t 60 PORT <&4
read -r -t 60 DROP_PORT <&5
INFRAPIVOT_CH_USER=default INFRAPIVOT_CH_PASSWORD=s3cret \
	"$TEST_CH" --fake "clickhouse://127.0.0.1:$PORT/t" "$WORK" "$DROP_PORT" "$WORK/drop"
