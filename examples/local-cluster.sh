#!/usr/bin/env bash
# examples/local-cluster.sh: the whole thing on one machine, one command.
#
#   1. installs what is missing (tests/setup.sh) and builds (build/)
#   2. starts an anvil dev chain on 127.0.0.1 and deploys the peer registry
#      (trusting the dstack simulator's KMS root and app, open enrollment)
#   3. starts three simulated TEEs (dstack-sim guest agents) and mounts a
#      dstackp2pfs daemon for each; funds each instance's derived key, and
#      registers each one by writing to its /p2p/register
#   4. shows `cat peers` on every mount
#   5. watches one peers file with inotifywait while a fourth instance joins
#      and then one instance leaves
# Everything it started is stopped and removed on exit (also on Ctrl-C).
# Needs root (FUSE).  Environment: DP_SKIP_SETUP=1 skips step 1's installs.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "${DP_SKIP_SETUP:-0}" != 1 ]; then
	echo "== installing what is missing (tests/setup.sh)"
	bash tests/setup.sh || { echo "setup failed" >&2; exit 1; }
fi
echo "== building (build/)"
cmake -S . -B "${DP_BUILD_DIR:-build}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
	cmake --build "${DP_BUILD_DIR:-build}" -j2 --target dstackp2pfs dstack-sim >/dev/null ||
	{ echo "build failed" >&2; exit 1; }
if [ ! -f contracts/out/DstackP2PMembership.sol/DstackP2PMembership.json ]; then
	echo "== compiling the contracts (forge build)"
	(cd contracts && ./node_modules/.bin/forge build >/dev/null) || exit 1
fi

E2E_BUILD=$top/${DP_BUILD_DIR:-build}
E2E_POLL=500ms
. "$top/tests/e2e/lib.sh"
e2e_init

seen=0
new_events() {	# print the inotify events not shown yet
	local n
	n=$(wc -l <"$E2E_DIR/events")
	tail -n +"$((seen + 1))" "$E2E_DIR/events"
	seen=$n
}

show_peers() {
	local n
	for n in "$@"; do
		echo "-- cat $E2E_DIR/$n/p2p/peers"
		sed 's/^/   /' "$E2E_DIR/$n/p2p/peers"
	done
}

say "starting anvil (a local dev chain, one block per second)"
e2e_anvil
info "rpc: $E2E_RPC"
say "deploying the peer registry (heartbeat TTL 30 s)"
e2e_deploy 30
info "contract: $E2E_CONTRACT"

for i in 1 2 3; do
	say "node$i: simulated TEE, daemon mounted at $E2E_DIR/node$i/p2p"
	e2e_sim "node$i" "$i"
	e2e_mount "node$i"
	info "instance $(e2e_self "node$i" instance_id), key $(e2e_self "node$i" address)"
	info "funding the key with 1 ETH from an anvil dev account (gas for registration and heartbeats)"
	e2e_fund "node$i"
	say "node$i: echo register > register   (everything else comes from the TEE)"
	e2e_register "node$i"
	sed 's/^/   /' "$E2E_DIR/node$i/p2p/register"
done

say "waiting until every daemon sees all three peers"
for i in 1 2 3; do e2e_wait_peers "node$i" 3; done
show_peers node1 node2 node3
echo "-- cat $E2E_DIR/node1/p2p/self"
sed 's/^/   /' "$E2E_DIR/node1/p2p/self"
echo "-- cat $E2E_DIR/node1/p2p/status"
sed 's/^/   /' "$E2E_DIR/node1/p2p/status"

say "inotifywait -m on node1's peers file"
inotifywait -m -q -e close_write --format '   inotify: %w %e' "$E2E_DIR/node1/p2p/peers" \
	>"$E2E_DIR/events" 2>/dev/null &
E2E_PIDS+=($!)
sleep 1

say "node4 joins"
e2e_sim node4 4
e2e_mount node4
e2e_fund node4
e2e_register node4
e2e_wait_peers node1 4
sleep 1
new_events
show_peers node1

say "node2 leaves: echo leave > register"
echo leave >"$E2E_DIR/node2/p2p/register" || fail "leave failed"
sed 's/^/   /' "$E2E_DIR/node2/p2p/register"
e2e_wait_peers node1 3
sleep 1
new_events
show_peers node1 node4

say "done: stopping the daemons, the simulators and anvil"
