#!/usr/bin/env bash
# Chain watcher benchmarks (issue #6): idle polling cost (RPC calls and bytes
# per poll) at 10 and 1,000 peers, and cold-sync time and resident memory at
# 1,000 peers.  Each run starts its own anvil on 127.0.0.1 (a free port),
# deploys the real registry with contracts/script/deploy.sh, registers the
# peers with valid key chains, and stops anvil at the end (watcher-bench does
# it; anvil also dies with watcher-bench through PR_SET_PDEATHSIG).
# Prints numbers, not pass/fail.
#
#   tests/bench/bench_idle_poll.sh [N...]     (default: 10 1000)
# Environment: DP_BUILD (build dir, default build).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${DP_BUILD:-$top/build}
cd "$top"

if [ ! -x "$build/watcher-bench" ]; then
	cmake -S . -B "$build" -DDP_WERROR=ON >/dev/null
	cmake --build "$build" -j2 --target watcher-bench >/dev/null
fi
[ -f contracts/out/DstackP2PMembership.sol/DstackP2PMembership.json ] ||
	(cd contracts && bin/forge build >/dev/null)

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10 1000)
for n in "${sizes[@]}"; do
	DP_SOURCE_DIR=$top "$build/watcher-bench" "$n" 2>/dev/null
	echo
done
