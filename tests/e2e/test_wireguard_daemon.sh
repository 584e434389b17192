#!/usr/bin/env bash
# test_wireguard_daemon: the daemon in WireGuard mode (daemon -> registrar ->
# watcher -> wgapply runner -> wireguard-go), two instances registered on a
# real anvil chain:
#   - each daemon brings up its userspace WireGuard interface with its mesh
#     address once registered; status shows wg_backend and wg_interface
#   - each device holds the other instance as its only peer: its key, its
#     mesh /32, its registered endpoint
#   - a peer altered by hand with `wg set` is put back by the reconcile
#   - an interface deleted by hand is set up again
#   - peers.json shows the other peer's handshake (time and age) and
#     transfer counters, refreshed by the reconcile; those figures changing
#     raise no inotify event on peers.json, a membership change (leave) does
#   - an instance that leaves is removed from the other's device
# Everything runs in a network namespace of its own (entered with nsenter,
# so the FUSE mounts stay visible); the chain and both interfaces live
# there.  Pings between namespaces: test_wireguard_netns.sh.
set -uo pipefail
if [ "${DPWG_INNER:-0}" != 1 ]; then
	ns=dpwgd$$
	ip netns add "$ns" || { echo "test_wireguard_daemon: cannot make a netns" >&2; exit 1; }
	outer_cleanup() {
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		sleep 0.5
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
		rm -f /var/run/wireguard/wgd$$?.sock
	}
	trap outer_cleanup EXIT INT TERM
	DPWG_INNER=1 DPWG_ID=$$ nsenter --net=/run/netns/"$ns" bash "$0"
	exit $?
fi

. "$(dirname "$0")/lib.sh"
id=$DPWG_ID
ip link set lo up
e2e_init
e2e_anvil
e2e_deploy
ifn() { echo "wgd$id$1"; }
for n in 1 2; do
	e2e_sim "w$n" "$n"
	e2e_mount "w$n" "mode=wireguard,endpoint=127.0.0.1:$((51910 + n)),wg_if=$(ifn "$n"),wg_port=$((51910 + n)),wg_backend=userspace"
	e2e_fund "w$n"
	e2e_register "w$n"
done
e2e_wait_peers w1 2
e2e_wait_peers w2 2
say "registered: w1 $(e2e_self w1 mesh_ip), w2 $(e2e_self w2 mesh_ip)"

wait_for() {	# wait_for SECONDS CMD...
	local end=$((SECONDS + $1)); shift
	while [ $SECONDS -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}
key_of() { e2e_self "$1" wg_public_key; }
peer_ok() {	# peer_ok N M: N's device holds exactly M, with M's /32 and endpoint
	local i=$(ifn "$1") k ip
	k=$(key_of "w$2"); ip=$(e2e_self "w$2" mesh_ip)
	[ "$(wg show "$i" peers)" = "$k" ] &&
	[ "$(wg show "$i" allowed-ips)" = "$k	$ip/32" ] &&
	[ "$(wg show "$i" endpoints)" = "$k	127.0.0.1:$((51910 + $2))" ]
}
for n in 1 2; do
	m=$((3 - n))
	wait_for 20 peer_ok "$n" "$m" || fail "w$n: device not configured: $(wg show "$(ifn "$n")" 2>&1)"
	ip -4 addr show dev "$(ifn "$n")" | grep -q "$(e2e_self "w$n" mesh_ip)/" ||
		fail "w$n: no mesh address on $(ifn "$n")"
done
info "each device holds the other instance (key, mesh /32, endpoint)"
# status is re-rendered once the device is up (no new block needed)
wait_for 10 grep -qx "wg_backend=userspace" "$E2E_DIR/w1/p2p/status" ||
	fail "status has no wg_backend: $(cat "$E2E_DIR/w1/p2p/status")"
grep -qx "wg_interface=$(ifn 1)" "$E2E_DIR/w1/p2p/status" || fail "status has no wg_interface"
info "status shows wg_backend=userspace, wg_interface=$(ifn 1)"

# peers.json: w2's record on w1 carries the device's figures once the
# keepalive has made a handshake and moved bytes
pj=$E2E_DIR/w1/p2p/peers.json
w2_wg() { jq -e --arg k "$(key_of w2)" '.[] | select(.wg_public_key == $k) | .wg' "$pj"; }
wg_live() { w2_wg | jq -e '.latest_handshake > 0 and (.handshake_age | type) == "number"
	and .rx_bytes > 0 and .tx_bytes > 0'; }
wait_for 30 wg_live || fail "w1 peers.json has no handshake/transfer figures for w2: $(cat "$pj")"
jq -e --arg k "$(key_of w1)" 'all(.[]; .wg_public_key != $k or .wg == null)' "$pj" >/dev/null ||
	fail "w1 peers.json shows figures for itself: $(cat "$pj")"
info "peers.json shows w2's handshake and transfer: $(w2_wg | jq -c .)"

# no membership change for 12 s (heartbeats, reconciles, figures moving):
# no IN_MODIFY on peers.json, while its bytes do change
inotifywait -m -q -e modify,close_write --format '%e' "$pj" >"$E2E_DIR/json.events" 2>/dev/null &
inw=$!
E2E_PIDS+=("$inw")
sleep 1	# inotifywait is watching
before=$(cat "$pj")
sleep 12
after=$(cat "$pj")
modifies=$(grep -c MODIFY "$E2E_DIR/json.events" || true)
[ "$modifies" -eq 0 ] || fail "peers.json raised $modifies IN_MODIFY without a membership change"
[ "$before" != "$after" ] || fail "peers.json figures did not move in 12 s: $after"
info "12 s without membership change: figures refreshed, no IN_MODIFY on peers.json"

# a peer changed by hand is put back by the periodic reconcile (5 s)
wg set "$(ifn 1)" peer "$(key_of w2)" allowed-ips 10.0.1.0/24,10.9.9.9/32 endpoint 127.0.0.1:9
wait_for 15 peer_ok 1 2 || fail "w1: hand change not restored: $(wg show "$(ifn 1)" allowed-ips)"
info "a hand-made change was put back"

# an interface deleted by hand is set up again (wireguard-go exits with it)
ip link del "$(ifn 1)"
wait_for 30 peer_ok 1 2 || fail "w1: interface not set up again: $(wg show "$(ifn 1)" 2>&1)"
ip -4 addr show dev "$(ifn 1)" | grep -q "$(e2e_self w1 mesh_ip)/" || fail "w1: no mesh address after re-creation"
info "a deleted interface was set up again with its peer"

# leaving removes the peer from the other device
echo leave >"$E2E_DIR/w2/p2p/register" || fail "leave failed"
no_peers() { [ -z "$(wg show "$(ifn 1)" peers)" ]; }
wait_for 20 no_peers || fail "w1 still has w2 after it left"
info "the instance that left is gone from the other device"
# the membership change raised events on peers.json (the watch still runs)
mod_left() { grep -q MODIFY "$E2E_DIR/json.events"; }
wait_for 10 mod_left || fail "w2 leaving raised no IN_MODIFY on w1's peers.json"
info "w2 leaving raised IN_MODIFY on w1's peers.json"
echo "test_wireguard_daemon: all passed"
