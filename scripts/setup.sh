#!/usr/bin/env bash
# scripts/setup.sh - install what infrapivot needs on Debian 12, then
# configure and build it in ./build.  Safe to run again: packages are
# installed only when missing (after one `apt-get update`).
#   BUILD_DIR=build  CMAKE_ARGS="..."  scripts/setup.sh
#   scripts/setup.sh --packages-only     # install, do not build
#   EXTRA_PACKAGES="stress-ng" scripts/setup.sh --packages-only
#   INFRAPIVOT_CLICKHOUSE=1 scripts/setup.sh   # also the ClickHouse cluster's packages
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
	build-essential cmake pkg-config git
	liblmdb-dev lmdb-utils libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev
	libssl-dev zlib1g-dev openssl ca-certificates
	libidn2-dev
	# tests: real clients and tools
	curl python3 python3-jsonschema graphviz procps
	# tests/ui: the analyst's page in headless Chromium
	chromium chromium-driver python3-selenium
	# tests/http/test_http_clients.sh: DNSDB and CIRCL clients
	dnsdbq python3-requests
	# fuzzing (libFuzzer) and benchmarks
	clang libclang-rt-14-dev wrk
	# scripts/check-format
	clang-format
)

# the ClickHouse store's cluster (scripts/cluster.sh, docs/scale-out.md):
# only when asked for, as its tests are
[ "${INFRAPIVOT_CLICKHOUSE:-}" != 1 ] || PACKAGES+=(clickhouse-server clickhouse-client zookeeper)

# shellcheck disable=SC2206
PACKAGES+=(${EXTRA_PACKAGES:-})

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
	echo "setup: installing ${missing[*]}" >&2
	SUDO=""
	[ "$(id -u)" -eq 0 ] || SUDO="sudo"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ "${1:-}" != "--packages-only" ] || exit 0

BUILD_DIR=${BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINFRAPIVOT_WERROR=ON ${CMAKE_ARGS:-} >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
echo "setup: built $BUILD_DIR/service/infrapivot" >&2
