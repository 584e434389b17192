#!/usr/bin/env bash
# test_wireguard_mesh: issue #7 end to end.  Three network namespaces on a
# bridged veth underlay (10.79.0.x), one real dstackp2pfs daemon in
# WireGuard mode in each (its own dstack-sim, FUSE mount and userspace
# WireGuard started by the daemon's applier), the chain (anvil) in the
# bridge's namespace at 10.79.0.254:
#   - after `echo register > register` on each, every node pings every other
#     over the mesh IPs that the peers files list
#   - each namespace's peers file lists the three mesh IPs
#   - a daemon that leaves is removed from every other device
#   - while it joins again, pings between two unchanged peers lose nothing
# Daemons run under `nsenter --net` (not `ip netns exec`, whose private mount
# namespace would hide the FUSE mounts).  Interface names are unique per
# namespace (the UAPI socket directory is shared).  Needs root, wireguard-go,
# wg, ip, ping, nsenter.  Environment: E2E_BUILD (see lib.sh).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
for t in wireguard-go wg ip ping nsenter; do
	command -v "$t" >/dev/null || fail "'$t' missing"
done
e2e_init
# the native foundry binaries (the npm .bin wrappers exit 0 on failure)
E2E_BIN=$E2E_TOP/contracts/bin

id=$$
brns=dpm$id-br
nsname() { echo "dpm$id-$1"; }
ns() { local i=$1; shift; ip netns exec "$(nsname "$i")" "$@"; }
ifn() { echo "wgm$id$1"; }
ul() { echo "10.79.0.$1"; }	# underlay address of node N
ANVIL_IP=10.79.0.254

mesh_cleanup() {
	local rc=$? i m
	trap - EXIT INT TERM
	# as lib's cleanup: unmount, daemons and sims, then anvil; then what is
	# left in the namespaces (wireguard-go) and the namespaces; lib's
	# cleanup last (daemon logs on failure, the temp dir, the exit status)
	for m in "${E2E_MOUNTS[@]}"; do
		fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || true
	done
	e2e_stop_pids "${E2E_PIDS[@]}"
	e2e_stop_pids "${E2E_ANVILS[@]}"
	for i in br 1 2 3; do
		ip netns pids "dpm$id-$i" 2>/dev/null | xargs -r kill 2>/dev/null || true
	done
	sleep 0.3
	for i in br 1 2 3; do
		ip netns pids "dpm$id-$i" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
		ip netns del "dpm$id-$i" 2>/dev/null || true
	done
	rm -f /var/run/wireguard/wgm"$id"?.sock
	set_rc() { return "$1"; }
	set_rc "$rc"
	e2e_cleanup
}
trap mesh_cleanup EXIT

wait_for() {	# wait_for SECONDS CMD...
	local end=$((SECONDS + $1)); shift
	while [ $SECONDS -lt "$end" ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# --- underlay: a bridge namespace (which also holds the chain) and one veth per node
t0=$SECONDS
ip netns add "$brns" || fail "cannot make a netns"
ip -n "$brns" link set lo up
ip -n "$brns" link add br0 type bridge
ip -n "$brns" link set br0 up
ip -n "$brns" addr add "$ANVIL_IP/24" dev br0
for i in 1 2 3; do
	ip netns add "$(nsname "$i")" || fail "cannot make netns $i"
	ip link add "v$id$i" netns "$(nsname "$i")" type veth peer name "b$id$i" netns "$brns" ||
		fail "cannot make veth $i"
	ip -n "$brns" link set "b$id$i" master br0 up
	ns "$i" ip link set lo up
	ns "$i" ip link set "v$id$i" up
	ns "$i" ip addr add "$(ul "$i")/24" dev "v$id$i"
done

# --- the chain inside the bridge namespace; cast reaches it from there
E2E_RPC=http://$ANVIL_IP:8545
e2e_cast() { local sub=$1; shift; nsenter --net=/run/netns/"$brns" "$E2E_BIN/cast" "$sub" --rpc-url "$E2E_RPC" "$@"; }
nsenter --net=/run/netns/"$brns" "$E2E_BIN/anvil" --host "$ANVIL_IP" --port 8545 $(e2e_mining) --silent \
	>"$E2E_DIR/anvil.log" 2>&1 &
E2E_ANVIL_PID=$!
E2E_ANVILS+=("$E2E_ANVIL_PID")
wait_for 20 e2e_cast chain-id || fail "anvil did not start in $brns (see $E2E_DIR/anvil.log)"
for i in 1 2 3; do
	ns "$i" bash -c "exec 3<>/dev/tcp/$ANVIL_IP/8545" 2>/dev/null || fail "node $i cannot reach the chain"
done
e2e_deploy

# mesh_mount N: daemon wN in namespace N (lib's e2e_mount, under nsenter)
mesh_mount() {
	local n=$1 name=w$1 d=$E2E_DIR/w$1
	nsenter --net=/run/netns/"$(nsname "$n")" "$E2E_BUILD/dstackp2pfs" "$d/p2p" -f -o \
		"contract=$E2E_CONTRACT,mode=wireguard,rpc=$E2E_RPC,agent=$d/agent.sock,poll=$E2E_POLL,confirmations=0,allow_other,wg_if=$(ifn "$n"),wg_port=51820,wg_backend=userspace,endpoint=$(ul "$n"):51820" \
		>>"$d/daemon.log" 2>&1 &
	E2E_PIDS+=($!)
	E2E_MOUNTS+=("$d/p2p")
	wait_for 20 grep -q '^address=' "$d/p2p/self" || fail "daemon $name did not mount (see $d/daemon.log)"
}
for n in 1 2 3; do
	e2e_sim "w$n" "$n"
	mesh_mount "$n"
	e2e_fund "w$n"
done
for n in 1 2 3; do e2e_register "w$n"; done
for n in 1 2 3; do e2e_wait_peers "w$n" 3; done
say "registered in $((SECONDS - t0)) s: $(for n in 1 2 3; do printf 'w%s=%s ' "$n" "$(e2e_self "w$n" mesh_ip)"; done)"

# --- peers lists the three mesh IPs in each namespace
mip() { e2e_self "w$1" mesh_ip; }
want=$(for n in 1 2 3; do mip "$n"; done | sort)
[ "$(echo "$want" | sort -u | grep -c '^10\.0\.1\.')" = 3 ] || fail "mesh IPs not three distinct 10.0.1.x: $want"
for n in 1 2 3; do
	got=$(grep -o '10\.0\.1\.[0-9]*' "$E2E_DIR/w$n/p2p/peers" | sort)
	[ "$got" = "$want" ] || fail "w$n peers: $(cat "$E2E_DIR/w$n/p2p/peers"), want $want"
done
info "each peers file lists the three mesh IPs"

# --- full mesh: every node pings every other over 10.0.1.x
key_of() { e2e_self "w$1" wg_public_key; }
npeers() { ns "$1" wg show "$(ifn "$1")" peers | grep -c .; }
has_n_peers() { [ "$(npeers "$1")" = "$2" ]; }
for n in 1 2 3; do
	wait_for 45 has_n_peers "$n" 2 || fail "w$n: device not configured: $(ns "$n" wg show "$(ifn "$n")" 2>&1)"
	ns "$n" ip -4 addr show dev "$(ifn "$n")" | grep -q "$(mip "$n")/" || fail "w$n: no mesh address on $(ifn "$n")"
done
for n in 1 2 3; do
	for m in 1 2 3; do
		[ "$n" = "$m" ] && continue
		ns "$n" wg show "$(ifn "$n")" endpoints | grep -qxF "$(key_of "$m")	$(ul "$m"):51820" ||
			fail "w$n: w$m's endpoint is not its underlay $(ul "$m"):51820: $(ns "$n" wg show "$(ifn "$n")" endpoints)"
		ns "$n" wg show "$(ifn "$n")" allowed-ips | grep -qxF "$(key_of "$m")	$(mip "$m")/32" ||
			fail "w$n: w$m's allowed IPs are not $(mip "$m")/32"
	done
done
info "each device holds the two other instances (key, underlay endpoint, mesh /32) ($((SECONDS - t0)) s)"
for n in 1 2 3; do
	for m in 1 2 3; do
		[ "$n" = "$m" ] && continue
		ns "$n" ping -c 1 -w 10 -q "$(mip "$m")" >/dev/null || fail "w$n cannot ping w$m at $(mip "$m")"
	done
done
info "every node pings every other over the mesh ($((SECONDS - t0)) s)"

# --- w3 leaves: removed from every other device
k3=$(key_of 3)
echo leave >"$E2E_DIR/w3/p2p/register" || fail "leave of w3 failed"
gone3() { ! ns "$1" wg show "$(ifn "$1")" peers | grep -qxF "$k3"; }
for n in 1 2; do
	wait_for 30 gone3 "$n" || fail "w$n still has w3 after it left: $(ns "$n" wg show "$(ifn "$n")" peers)"
	has_n_peers "$n" 1 || fail "w$n: $(npeers "$n") peers after w3 left, want 1"
done
e2e_wait_peers w1 2
info "the leaver is gone from every other device ($((SECONDS - t0)) s)"

# --- w3 joins again while w1 pings w2: no ping lost
ns 1 ping -i 0.2 -c 150 -q "$(mip 2)" >"$E2E_DIR/ping.out" 2>&1 &
ping_pid=$!
sleep 1
e2e_register w3
for n in 1 2; do
	wait_for 27 has_n_peers "$n" 2 || fail "w$n did not add the rejoined w3: $(ns "$n" wg show "$(ifn "$n")" peers)"
done
kill -0 "$ping_pid" 2>/dev/null || fail "the join took longer than the ping window: $(cat "$E2E_DIR/ping.out")"
wait "$ping_pid"
grep -q ' 0% packet loss' "$E2E_DIR/ping.out" || fail "pings lost during the join: $(grep loss "$E2E_DIR/ping.out")"
info "no ping lost from w1 to w2 while w3 joined: $(grep -o '[0-9]* packets transmitted, [0-9]* received' "$E2E_DIR/ping.out")"
ns 1 ping -c 1 -w 10 -q "$(mip 3)" >/dev/null || fail "w1 cannot reach the rejoined w3 at $(mip 3)"
ns 3 ping -c 1 -w 10 -q "$(mip 2)" >/dev/null || fail "the rejoined w3 cannot reach w2"
info "the rejoined node is reachable both ways"
echo "test_wireguard_mesh: all passed ($((SECONDS - t0)) s)"
