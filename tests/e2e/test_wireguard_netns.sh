#!/usr/bin/env bash
# test_wireguard_netns: the WireGuard applier (src/wgapply.c) with the
# userspace backend (wireguard-go over UAPI) in network namespaces, driven by
# tests/tools/wg-apply (the peer-set feeder; the daemon is not involved).
#   - three namespaces on a bridged veth underlay (10.77.0.x), one
#     WireGuard interface each with unique names (the UAPI socket directory
#     is shared): wireguard-go forced on node 1, auto-detected on nodes 2
#     and 3; each configured by a wg-apply loop that re-reads a peer file
#     and reconciles every 300 ms
#   - every node pings every other over the mesh (10.0.1.x)
#   - a peer leaves: it is removed from every other device
#   - a peer joins while pings to an unchanged peer keep flowing: no ping is
#     lost and the change sent is exactly one added peer
#   - a peer altered by hand with `wg set` is put back by the reconcile
#   - hostile records (short key, endpoint with a shell metacharacter) never
#     reach the device; the interface name taken by a non-WireGuard link is a
#     clear error and leaves nothing behind
# Needs root, wireguard-go, wg, ip, ping.  Environment: DP_BINARY_DIR.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=${DP_BINARY_DIR:-$top/build}/wg-apply
[ -x "$bin" ] || { echo "test_wireguard_netns: no '$bin' (build first)" >&2; exit 1; }
for t in wireguard-go wg ip ping; do
	command -v "$t" >/dev/null || { echo "test_wireguard_netns: '$t' missing" >&2; exit 1; }
done

id=$$
tmp=$(mktemp -d /tmp/test_wg_netns.XXXXXX)
ns0=dpwg$id-br
pids=()
fails=0

cleanup() {
	local p i
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for i in 0 1 2 3; do
		ip netns pids "dpwg$id-$i" 2>/dev/null | xargs -r kill 2>/dev/null || true
	done
	sleep 0.3
	for i in 0 1 2 3; do
		ip netns pids "dpwg$id-$i" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "dpwg$id-$i" 2>/dev/null || true
	done
	ip netns del "$ns0" 2>/dev/null || true
	rm -f /var/run/wireguard/wg"$id"?.sock
	if [ "$fails" -ne 0 ] || [ "${1:-0}" != ok ]; then
		for f in "$tmp"/*.log; do
			[ -f "$f" ] || continue
			echo "--- tail of $f" >&2; tail -5 "$f" >&2
		done
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

pass() { echo "ok: $*"; }
bad() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
ns() { local i=$1; shift; ip netns exec "dpwg$id-$i" "$@"; }
ifn() { echo "wg$id$1"; }
# wait_for SECONDS CMD...: poll until CMD succeeds
wait_for() {
	local t=$1; shift
	local end=$((SECONDS + t))
	while [ $SECONDS -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# --- underlay: a bridge namespace and one veth per node
ip netns add "$ns0"
ip -n "$ns0" link add br0 type bridge
ip -n "$ns0" link set br0 up
for i in 1 2 3; do
	ip netns add "dpwg$id-$i"
	ip link add "v$id$i" netns "dpwg$id-$i" type veth peer name "b$id$i" netns "$ns0"
	ip -n "$ns0" link set "b$id$i" master br0 up
	ns "$i" ip link set lo up
	ns "$i" ip link set "v$id$i" up
	ns "$i" ip addr add "10.77.0.$i/24" dev "v$id$i"
done

declare -A seed pub b64
for i in 1 2 3; do
	seed[$i]=$(printf '%062x%02x' "$id" "$i")
	read -r pub[$i] b64[$i] < <("$bin" pub "${seed[$i]}")
done
write_peers() {	# write_peers N...: the peer set holds these nodes
	local f=$tmp/peers.new i
	: >"$f"
	for i in "$@"; do echo "$i ${pub[$i]} 10.77.0.$i:51820" >>"$f"; done
	# hostile records: a key one byte short, an endpoint with a metacharacter
	echo "7 ${pub[1]:0:62} 10.77.0.7:51820" >>"$f"
	echo "8 $(printf '%064x' 8) 10.77.0.8:51820;reboot" >>"$f"
	mv "$f" "$tmp/peers"
}
# node 1 forces the userspace backend; the others detect it (auto: kernel
# WireGuard when the kernel has it, else wireguard-go)
backend_of() { [ "$1" = 1 ] && echo userspace || echo auto; }
start_node() {
	local i=$1
	ns "$i" "$bin" apply -i "$(ifn "$i")" -s "${seed[$i]}" -t "$i" -f "$tmp/peers" \
		-b "$(backend_of "$i")" -k 5 -l 300 -n 0 >>"$tmp/node$i.log" 2>&1 &
	pids+=($!)
	eval "node_pid_$i=$!"
}
peers_of() { ns "$1" wg show "$(ifn "$1")" peers; }

# --- 1. three nodes, full mesh
write_peers 1 2 3
for i in 1 2 3; do start_node "$i"; done
for i in 1 2 3; do
	wait_for 10 grep -q '^apply ' "$tmp/node$i.log" || bad "node $i never applied"
done
for i in 1 2 3; do
	ns "$i" ip -4 addr show dev "$(ifn "$i")" | grep -q "10.0.1.$i/24" ||
		bad "node $i has no mesh address"
	[ "$(peers_of "$i" | wc -l)" -eq 2 ] || bad "node $i: $(peers_of "$i" | wc -l) peers, want 2"
done
for i in 1 2 3; do
	for j in 1 2 3; do
		[ "$i" = "$j" ] && continue
		if ns "$i" ping -c 1 -w 10 -q "10.0.1.$j" >/dev/null; then :
		else bad "node $i cannot ping 10.0.1.$j"; fi
	done
done
[ "$fails" -eq 0 ] && pass "three nodes ping each other over 10.0.1.x"
# allowed IPs are exactly each peer's /32
if ns 1 wg show "$(ifn 1)" allowed-ips | grep -qF "${b64[2]}	10.0.1.2/32" &&
   [ "$(ns 1 wg show "$(ifn 1)" allowed-ips | awk '{print NF}' | sort -u)" = 2 ]; then
	pass "allowed-ips are exactly the peer's /32"
else bad "allowed-ips: $(ns 1 wg show "$(ifn 1)" allowed-ips)"; fi
grep -q 'skipped=[1-9]' "$tmp/node1.log" && ! ns 1 wg show "$(ifn 1)" dump | grep -q '10.77.0.[78]' &&
	pass "hostile records skipped, never on the device" || bad "hostile records reached the device"

# --- 2. node 3 leaves: removed from every device
kill "$node_pid_3"; wait "$node_pid_3" 2>/dev/null || true
write_peers 1 2
left() { ! peers_of "$1" | grep -qF "${b64[3]}"; }
for i in 1 2; do
	wait_for 5 left "$i" && pass "node $i removed the peer that left" || bad "node $i still has node 3"
done

# --- 3. node 3 joins while node 1 pings node 2
mark1=$(wc -l <"$tmp/node1.log")
ns 1 ping -i 0.1 -c 40 -q 10.0.1.2 >"$tmp/ping.out" 2>&1 &
ping_pid=$!
sleep 0.5
write_peers 1 2 3
start_node 3
wait "$ping_pid" || true
if grep -q ' 0% packet loss' "$tmp/ping.out"; then pass "no ping lost to an unchanged peer during the join"
else bad "pings lost during the join: $(grep loss "$tmp/ping.out")"; fi
if tail -n +"$((mark1 + 1))" "$tmp/node1.log" | grep -q 'added=1 updated=0 removed=0'; then
	pass "the join sent exactly one added peer"
else bad "join change on node 1: $(tail -n +"$((mark1 + 1))" "$tmp/node1.log" | grep -v 'added=0 updated=0 removed=0' | head -3)"; fi
ns 1 ping -c 1 -w 10 -q 10.0.1.3 >/dev/null && pass "node 1 reaches the joined node" ||
	bad "node 1 cannot reach the joined node"

# --- 4. a peer altered by hand is restored by the periodic reconcile
mark1=$(wc -l <"$tmp/node1.log")
ns 1 wg set "$(ifn 1)" peer "${b64[2]}" allowed-ips 10.0.1.0/24 endpoint 10.77.0.99:1 persistent-keepalive 0
restored() {
	ns 1 wg show "$(ifn 1)" allowed-ips | grep -qxF "${b64[2]}	10.0.1.2/32" &&
	ns 1 wg show "$(ifn 1)" endpoints | grep -qxF "${b64[2]}	10.77.0.2:51820"
}
if wait_for 5 restored; then pass "a peer changed by hand is put back"
else bad "not restored: $(ns 1 wg show "$(ifn 1)" allowed-ips)"; fi
tail -n +"$((mark1 + 1))" "$tmp/node1.log" | grep -q 'added=0 updated=1 removed=0' &&
	pass "the restore touched only that peer" || bad "restore change: $(tail -3 "$tmp/node1.log")"
ns 1 ping -c 1 -w 10 -q 10.0.1.2 >/dev/null && pass "mesh works after the restore" || bad "no ping after restore"

# --- 5. name taken by a non-WireGuard link: clear error, nothing left behind
ns 2 ip link add "wg${id}9" type veth peer name "x${id}9"
if out=$(ns 2 "$bin" apply -i "wg${id}9" -s "${seed[2]}" -t 2 -f "$tmp/peers" -b auto 2>&1); then
	bad "apply on a taken name succeeded"
elif echo "$out" | grep -q "is taken by a 'veth' link"; then
	pass "taken name: $out"
else bad "taken name: unexpected error '$out'"; fi
ns 2 ip -4 addr show dev "wg${id}9" | grep -q 10.0.1 && bad "address left on the taken link"
# --- 6. no backend: kernel forced where the kernel has no WireGuard
if ! ip link add "wgprobe$id" type wireguard 2>/dev/null; then
	if out=$(ns 2 "$bin" apply -i "wg${id}8" -s "${seed[2]}" -t 2 -f "$tmp/peers" -b kernel 2>&1); then
		bad "kernel backend without kernel WireGuard succeeded"
	else
		echo "$out" | grep -q "no WireGuard" && pass "missing kernel backend: $out" ||
			bad "missing backend: '$out'"
		ns 2 ip link show "wg${id}8" >/dev/null 2>&1 && bad "half-made link left behind"
	fi
else
	ip link del "wgprobe$id"
	echo "skip: this kernel has WireGuard (missing-backend case not tested here)"
fi

if [ "$fails" -eq 0 ]; then
	echo "test_wireguard_netns: all passed"
	cleanup ok
	exit 0
fi
echo "test_wireguard_netns: $fails failed" >&2
exit 1
