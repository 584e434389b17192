#!/usr/bin/env bash
# End to end, with the real parts: anvil, the deployed registry, dstack-sim
# guest agents, dstackp2pfs daemons on real FUSE mounts, inotifywait.
#
#  1. join: three daemons register; every peers file lists all three
#  2. a fourth joins: exactly one change event at each other daemon;
#     register again: idempotent, no transaction
#  3. restart: a daemon stopped and started again shows the same state, sends
#     no registration, and nobody sees an event (nor on its own peers file)
#  4. leave: one event each, the peer is gone everywhere
#  5. forged registration (replayed app key + KMS signature with a self-made
#     key): mined and reverted, never in any peers file
#  6. register errors: no funds (ENOSPC), no agent (ENODEV), garbage (EINVAL),
#     non-root writer refused; hostile options: exit 1 naming the option
#  7. RPC outage: status stale=1 while the peers stay served, then recovery,
#     no events
#  8. TTL expiry: a daemon killed with -9 stops heartbeating and drops out of
#     every peers file after the TTL, with exactly one event
set -uo pipefail
. "$(dirname "$0")/lib.sh"
E2E_QUIET=1
# Heartbeats every 2 s against a 20 s TTL: an RPC outage of a few seconds on
# a loaded machine stays well inside the TTL, and expiry takes 20 s.
TTL=20
HB=heartbeat=2s
e2e_init

ep() { e2e_endpoint "$1"; }
expect_events() {	# expect_events COUNT NAME...
	local want=$1 n got; shift
	for n in "$@"; do
		got=$(e2e_events "$n")
		[ "$got" = "$want" ] || fail "$n: $got change events, want $want"
	done
}
field() { sed -n "s/^$2=//p" "$E2E_DIR/$1/p2p/$3"; }

say "setup: anvil, registry (TTL ${TTL}s), three simulated TEEs and daemons"
e2e_anvil
e2e_deploy "$TTL"
for i in 1 2 3; do
	e2e_sim "n$i" "$i"
	e2e_mount "n$i" "$HB"
	e2e_fund "n$i"
done

say "1. join"
for i in 1 2 3; do
	e2e_register "n$i"
	[ "$(field "n$i" state register)" = registered ] || fail "n$i not registered"
	[ "$(field "n$i" token_id register)" = "$i" ] || fail "n$i token id"
done
for i in 1 2 3; do e2e_wait_peers "n$i" 3; done
want=$(printf '%s\n' "$(ep 1)" "$(ep 2)" "$(ep 3)")
for i in 1 2 3; do
	[ "$(cat "$E2E_DIR/n$i/p2p/peers")" = "$want" ] || fail "n$i peers: $(cat "$E2E_DIR/n$i/p2p/peers")"
	grep -q "^registration=registered$" "$E2E_DIR/n$i/p2p/self" || fail "n$i self"
	grep -qi "key" "$E2E_DIR/n$i/p2p/self" && fail "n$i self mentions a key"
done
for i in 1 2 3; do e2e_watch "n$i"; done
sleep 1

say "2. a fourth instance joins: one event at each daemon; register is idempotent"
e2e_sim n4 4
e2e_mount n4 "$HB"
e2e_fund n4
e2e_register n4
for i in 1 2 3 4; do e2e_wait_peers "n$i" 4; done
sleep 3
expect_events 1 n1 n2 n3
regs=$(e2e_registrations)
[ "$regs" = 4 ] || fail "$regs registrations on chain, want 4"
e2e_register n1
[ "$(e2e_registrations)" = 4 ] || fail "a repeated register sent a transaction"
grep -q "already registered" "$E2E_DIR/n1/daemon.log" || fail "n1 did not log the no-op"

say "3. restart: same state, no registration, no events"
before=$(grep -v '^$' "$E2E_DIR/n2/p2p/register")
e2e_umount n2
e2e_mount n2 "$HB"
for _ in $(seq 50); do
	[ "$(field n2 state register)" = registered ] && break
	sleep 0.1
done
after=$(cat "$E2E_DIR/n2/p2p/register")
[ "$before" = "$after" ] || fail "register after restart: '$after', before: '$before'"
grep -q "^token_id=2$" "$E2E_DIR/n2/p2p/self" || fail "n2 self after restart"
e2e_wait_peers n2 4
# the restarted daemon's own peers file: the set it found is its baseline
inotifywait -m -q -e modify,close_write --format '%e' "$E2E_DIR/n2/p2p/peers" \
	>"$E2E_DIR/n2/events.restart" 2>/dev/null &
E2E_PIDS+=($!)
sleep 3
[ "$(e2e_registrations)" = 4 ] || fail "the restarted daemon registered again"
expect_events 1 n1 n3
[ "$(grep -c . "$E2E_DIR/n2/events.restart")" = 0 ] || fail "events on the restarted daemon's peers"

say "4. leave"
[ "$(e2e_write "$E2E_DIR/n4/p2p/register" leave)" = OK ] || fail "leave failed"
[ "$(field n4 state register)" = unregistered ] || fail "n4 state after leave"
for i in 1 2 3 4; do e2e_wait_peers "n$i" 3; done
sleep 3
expect_events 2 n1 n3
[ "$(grep -c CLOSE_WRITE "$E2E_DIR/n2/events.restart")" = 1 ] || fail "restarted n2: not one event for the leave"
grep -q "$(ep 4)" "$E2E_DIR/n1/p2p/peers" && fail "n4 still listed"

say "5. forged registration never appears"
attacker=0x$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
fakeapp=0x$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
attacker_addr=$("$E2E_BIN/cast" wallet address --private-key "$attacker")
attacker_pub=$("$E2E_BIN/cast" wallet public-key --private-key "$attacker")
fakeapp_pub=$("$E2E_BIN/cast" wallet public-key --private-key "$fakeapp")
# the replayed pair: the real app key and the KMS signature S1 from a real
# agent reply (any GetKey reply carries S1 as signature_chain[1])
s1=$(curl -s --unix-socket "$E2E_DIR/n1/agent.sock" -H 'Content-Type: application/json' \
	-d '{"path":"x","purpose":"y","algorithm":"secp256k1"}' http://agent/GetKey |
	jq -r '.signature_chain[1]')
[ ${#s1} = 130 ] || fail "no S1 from the agent"
read -r real_app_pub attacker_c <<<"$(python3 - "$attacker_pub" <<'PY'
import sys
P = 2**256 - 2**32 - 977
def decompress(h):
    b = bytes.fromhex(h); x = int.from_bytes(b[1:], "big")
    y = pow((x**3 + 7) % P, (P + 1) // 4, P)
    if y % 2 != b[0] % 2: y = P - y
    return "0x%064x%064x" % (x, y)
def compress(h):
    b = bytes.fromhex(h[2:] if h.startswith("0x") else h)
    return "%02x" % (2 + b[63] % 2) + b[:32].hex()
# the app key of the dstack simulator (shared/fixtures/dstack-simulator/README.md)
print(decompress("02818494263695e8839122dbd88e281d7380622999df4e60a14befa0f2d096fc7c"), compress(sys.argv[1]))
PY
)"
digest=$("$E2E_BIN/cast" keccak "dstackp2pfs/v1/peer:$attacker_c")
s2=$("$E2E_BIN/cast" wallet sign --no-hash --private-key "$fakeapp" "$digest")
e2e_cast send --private-key "$E2E_OWNER_KEY" --value 1ether "$attacker_addr" >/dev/null
forged_ep=https://forged.example
fiid=0x00000000000000000000000000000000f0f0f0f0
for apppub in "$real_app_pub" "$fakeapp_pub"; do
	st=$(e2e_cast send --json --gas-limit 1000000 --private-key "$attacker" "$E2E_CONTRACT" \
		'registerPeer(bytes20,string,uint8,bytes32,bytes20,bytes,bytes,bytes,bytes)' \
		"$fiid" "$forged_ep" 0 0x0000000000000000000000000000000000000000000000000000000000000000 \
		"$E2E_APP_ID" "$attacker_pub" "$apppub" "$s2" "0x$s1" 2>/dev/null | jq -r .status)
	[ "$st" = 0x0 ] || fail "the forged registration was not reverted (status '$st')"
done
sleep 3
for i in 1 2 3 4; do
	grep -q forged "$E2E_DIR/n$i/p2p/peers" "$E2E_DIR/n$i/p2p/peers.json" && fail "forged peer at n$i"
done
expect_events 2 n1 n3

say "6. register errors and hostile input"
e2e_sim n5 5
e2e_mount n5
for _ in $(seq 50); do [ "$(field n5 low_balance status)" = 1 ] && break; sleep 0.1; done
[ "$(field n5 low_balance status)" = 1 ] || fail "unfunded n5: status has no low-balance warning"
[ "$(field n1 low_balance status)" = 0 ] || fail "funded n1: status warns of a low balance"
r=$(e2e_write "$E2E_DIR/n5/p2p/register" register)
[ "$r" = ENOSPC ] || fail "unfunded register: $r, want ENOSPC"
grep -q "^error=ENOSPC" "$E2E_DIR/n5/p2p/register" || fail "register does not show ENOSPC"
grep -q "no funds for gas" "$E2E_DIR/n5/p2p/register" || fail "no reason: $(cat "$E2E_DIR/n5/p2p/register")"
r=$(e2e_write "$E2E_DIR/n5/p2p/register" "please join")
[ "$r" = EINVAL ] || fail "garbage write: $r, want EINVAL"
r=$(setpriv --reuid=65534 --regid=65534 --clear-groups bash -c "echo register > '$E2E_DIR/n5/p2p/register'" 2>&1)
[ -n "$r" ] || fail "a non-root writer was not refused"
grep -q "^error=ENOSPC" "$E2E_DIR/n5/p2p/register" || fail "a refused write changed register"
mkdir -p "$E2E_DIR/n6/p2p"
"$E2E_BUILD/dstackp2pfs" "$E2E_DIR/n6/p2p" -f -o "contract=$E2E_CONTRACT,mode=tls,rpc=$E2E_RPC,agent=$E2E_DIR/n6/none.sock" \
	>"$E2E_DIR/n6/daemon.log" 2>&1 &
E2E_PIDS+=($!); E2E_MOUNTS+=("$E2E_DIR/n6/p2p")
for _ in $(seq 50); do mountpoint -q "$E2E_DIR/n6/p2p" && break; sleep 0.1; done
r=$(e2e_write "$E2E_DIR/n6/p2p/register" register)
[ "$r" = ENODEV ] || fail "register without an agent: $r, want ENODEV"
grep -q "^error=ENODEV" "$E2E_DIR/n6/p2p/register" || fail "register does not show ENODEV"
hostile() {	# hostile WORD OPTIONS...: exit 1, message names WORD
	local word=$1 out rc; shift
	out=$("$E2E_BUILD/dstackp2pfs" "$@" 2>&1); rc=$?
	[ "$rc" = 1 ] || fail "dstackp2pfs $*: exit $rc, want 1"
	echo "$out" | grep -q -- "$word" || fail "dstackp2pfs $*: message '$out' does not name '$word'"
}
d=$E2E_DIR/n6
hostile contract "$d" -o "contract=0x1234,mode=tls,rpc=$E2E_RPC"
hostile mode "$d" -o "contract=$E2E_CONTRACT,mode=carrier-pigeon,rpc=$E2E_RPC"
hostile rpc "$d" -o "contract=$E2E_CONTRACT,mode=tls,rpc=file:///etc/passwd"
hostile rpc "$d" -o "contract=$E2E_CONTRACT,mode=tls"
hostile poll "$d" -o "contract=$E2E_CONTRACT,mode=tls,rpc=$E2E_RPC,poll=-1"
hostile register_gid "$d" -o "contract=$E2E_CONTRACT,mode=tls,rpc=$E2E_RPC,register_gid=-5"
hostile bogus "$d" -o "contract=$E2E_CONTRACT,mode=tls,rpc=$E2E_RPC,bogus=1"
hostile "not a directory" /etc/passwd -o "contract=$E2E_CONTRACT,mode=tls,rpc=$E2E_RPC"
hostile "\-\-frobnicate" --frobnicate
"$E2E_BUILD/dstackp2pfs" --version | grep -q '^dstackp2pfs [0-9]' || fail "--version"
"$E2E_BUILD/dstackp2pfs" --help | grep -q 'contract=0xADDR' || fail "--help"

say "7. RPC outage: stale, still serving, recovers"
e2e_anvil_stop
for _ in $(seq 100); do
	[ "$(field n1 stale status)" = 1 ] && break
	sleep 0.1
done
[ "$(field n1 stale status)" = 1 ] || fail "status not stale with the RPC down"
[ -n "$(field n1 last_error status)" ] || fail "no last_error while stale"
[ "$(grep -c . "$E2E_DIR/n1/p2p/peers")" = 3 ] || fail "peers not served while stale"
e2e_anvil_start_again
for _ in $(seq 150); do
	[ "$(field n1 stale status)" = 0 ] && break
	sleep 0.1
done
[ "$(field n1 stale status)" = 0 ] || fail "status still stale after the RPC returned"
sleep 2
[ "$(grep -c . "$E2E_DIR/n1/p2p/peers")" = 3 ] || fail "peers changed across the outage"
expect_events 2 n1 n3

say "8. TTL expiry: n3 killed with -9"
kill -9 "$E2E_DAEMON_n3"
fusermount3 -uz "$E2E_DIR/n3/p2p" 2>/dev/null || true
e2e_wait_peers n1 2 $((TTL * 3))
e2e_wait_peers n2 2 10
grep -q "$(ep 3)" "$E2E_DIR/n1/p2p/peers" && fail "n3 still listed after its TTL"
sleep 2
expect_events 3 n1

say "PASS test_cluster"
