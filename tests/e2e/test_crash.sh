#!/usr/bin/env bash
# test_crash: kill -9 under load, with the mount helper bringing the daemon
# back over the dead mount it left:
#   1. a registered daemon with 4 readers looping on peers/self/register and
#      heartbeats going is killed with -9; the helper clears the stale mount
#      and mounts again; the state comes back from the chain (registered, same
#      token); no registerPeer transaction is sent, not even on a register
#      write
#   2. a daemon killed with -9 while its registration transaction is in
#      the node's pool (a block every 8 s meanwhile); after the restart a
#      register write leads to exactly one registerPeer transaction from the
#      instance's address in all, and the state is registered
#   3. a crash loop (three kills in a row, each leaving a dead mount) still
#      ends mounted and registered with the same token and no transaction
# Transactions are counted from the chain: every mined transaction from the
# instance's address whose input starts with registerPeer's selector.
set -uo pipefail
. "$(dirname "$0")/lib.sh"
E2E_QUIET=1
E2E_BLOCK_TIME=2
e2e_init
helper=$E2E_TOP/mount-helpers/mount.dstackp2pfs
REGISTER_SEL=0xbddc9318	# cast sig 'registerPeer(bytes20,string,uint8,bytes32,bytes20,bytes,bytes,bytes,bytes)'

daemon_pid() { pgrep -f "^$E2E_BUILD/dstackp2pfs (dstackp2pfs )?$1 " | head -1; }
wait_gone() {
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	fail "pid $1 still running"
}
helper_mount() {	# helper_mount NAME: mount (over a stale mount) with the helper
	local d=$E2E_DIR/$1 p
	DSTACKP2PFS=$E2E_BUILD/dstackp2pfs "$helper" none "$d/p2p" \
		-o "contract=$E2E_CONTRACT,mode=tls,rpc=$E2E_RPC,agent=$d/agent.sock,poll=500ms,confirmations=0,allow_other,heartbeat=2s" \
		2>>"$d/helper.err" || fail "helper mount of $1 failed: $(cat "$d/helper.err")"
	mountpoint -q "$d/p2p" || fail "$1 not mounted after the helper"
	p=$(daemon_pid "$d/p2p")
	[ -n "$p" ] || fail "no daemon for $1"
	E2E_PIDS+=("$p"); E2E_MOUNTS+=("$d/p2p")
	for _ in $(seq 100); do grep -q '^address=' "$d/p2p/self" 2>/dev/null && return 0; sleep 0.1; done
	fail "$1: self not served"
}
crash() {	# crash NAME: kill -9 its daemon, check the dead mount is left
	local d=$E2E_DIR/$1 p
	p=$(daemon_pid "$d/p2p")
	[ -n "$p" ] || fail "no daemon to kill for $1"
	kill -9 "$p"; wait_gone "$p"
	ls "$d/p2p" >/dev/null 2>&1 && fail "$1: no dead mount after kill -9"
	return 0
}
field() { sed -n "s/^$2=//p" "$E2E_DIR/$1/p2p/$3"; }
wait_state() {	# wait_state NAME STATE SECONDS
	for _ in $(seq $(($3 * 10))); do
		[ "$(field "$1" state register)" = "$2" ] && return 0
		sleep 0.1
	done
	fail "$1: state '$(field "$1" state register)', want '$2'"
}
# register_txs ADDR: mined transactions from ADDR calling registerPeer
register_txs() {
	python3 - "$E2E_RPC" "$1" "$REGISTER_SEL" <<'PY'
import json, sys, urllib.request
url, addr, sel = sys.argv[1], sys.argv[2].lower(), sys.argv[3]
def call(m, p):
    q = json.dumps({"jsonrpc": "2.0", "id": 1, "method": m, "params": p}).encode()
    r = urllib.request.urlopen(urllib.request.Request(url, q, {"Content-Type": "application/json"}))
    return json.load(r)["result"]
n = 0
for b in range(int(call("eth_blockNumber", []), 16) + 1):
    for t in call("eth_getBlockByNumber", [hex(b), True])["transactions"]:
        if (t["from"] or "").lower() == addr and t["input"].startswith(sel):
            n += 1
print(n)
PY
}
readers() {	# readers NAME: 4 background readers, pids in READERS
	local d=$E2E_DIR/$1 i
	READERS=()
	for i in 1 2 3 4; do
		(while :; do cat "$d/p2p/peers" "$d/p2p/self" "$d/p2p/register" >/dev/null 2>&1; done) &
		READERS+=($!); E2E_PIDS+=($!)
	done
}
stop_readers() { kill "${READERS[@]}" 2>/dev/null; wait "${READERS[@]}" 2>/dev/null; return 0; }

say "setup: anvil (a block every 2 s), registry, two simulated TEEs"
e2e_anvil
e2e_deploy 60
e2e_sim a 1
e2e_sim b 2

say "1. kill -9 under load: helper recovers, state from the chain, no transaction"
helper_mount a
e2e_fund a
addr_a=$(e2e_self a address)
e2e_register a
wait_state a registered 5
token=$(field a token_id register)
[ "$(register_txs "$addr_a")" = 1 ] || fail "a: $(register_txs "$addr_a") registerPeer transactions, want 1"
readers a
sleep 3	# heartbeats and readers running
crash a
stop_readers
helper_mount a
grep -q "clearing stale mount" "$E2E_DIR/a/helper.err" || fail "helper did not clear a's stale mount"
wait_state a registered 10
[ "$(field a token_id register)" = "$token" ] || fail "a: token $(field a token_id register), want $token"
e2e_wait_peers a 1
e2e_register a	# a write after the crash: already registered, nothing sent
sleep 5	# let anything sent be mined
[ "$(register_txs "$addr_a")" = 1 ] || fail "a: $(register_txs "$addr_a") registerPeer transactions after the crash, want 1"

say "2. kill -9 with the registration in flight"
helper_mount b
e2e_fund b
addr_b=$(e2e_self b address)
e2e_cast rpc evm_setIntervalMining 8 >/dev/null || fail "cannot slow mining"
echo register >"$E2E_DIR/b/p2p/register" 2>/dev/null &
writer=$!
# kill once the registration is in the node's pool, not yet mined
for _ in $(seq 200); do
	[ "$(e2e_cast nonce --block pending "$addr_b")" -gt "$(e2e_cast nonce "$addr_b")" ] && break
	sleep 0.05
done
[ "$(e2e_cast nonce --block pending "$addr_b")" -gt "$(e2e_cast nonce "$addr_b")" ] ||
	fail "b: no registration in the pool"
crash b
wait "$writer" 2>/dev/null
helper_mount b
sleep 1
echo register >"$E2E_DIR/b/p2p/register" || fail "b: register after the crash failed: $(cat "$E2E_DIR/b/p2p/register")"
wait_state b registered 10
e2e_cast rpc evm_setIntervalMining 2 >/dev/null
sleep 5
n=$(register_txs "$addr_b")
[ "$n" = 1 ] || fail "b: $n registerPeer transactions after a crash in flight, want 1"
e2e_wait_peers b 2
e2e_wait_peers a 2

say "3. crash loop: three kills in a row, the helper mounts each time"
for i in 1 2 3; do
	crash a
	helper_mount a
done
wait_state a registered 10
[ "$(field a token_id register)" = "$token" ] || fail "a: token changed in the crash loop"
e2e_wait_peers a 2
sleep 3
[ "$(register_txs "$addr_a")" = 1 ] || fail "a: registerPeer transactions after the crash loop"
[ "$(e2e_registrations)" = 2 ] || fail "$(e2e_registrations) registrations on chain, want 2"

say "PASS test_crash"
