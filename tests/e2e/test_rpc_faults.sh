#!/usr/bin/env bash
# RPC faults, end to end: anvil, the registry, two registered daemons (n1,
# n2) talking to anvil directly, and observing daemons behind fault-injecting
# proxies (tests/tools/rpc-proxy.c):
#
#   obs1  rpc=proxy A only                   (stale case)
#   obs2  rpc=proxy B|proxy C                (failover case)
#
# For each fault (refused connections, timeouts, slow drip, truncated body,
# invalid JSON, HTTP 500, giant body): the fault is set on A and on the
# proxy obs2 uses, n2 joins or leaves, then
#   - obs1: status stale=1, last_error names the cause, peers keeps the last
#     good set; after the fault is cleared it recovers by itself (stale=0,
#     peers updated) within a bounded time
#   - obs2: fails over to the other proxy (status rpc= changes) and follows
#     the change, stale=0
# Then:
#   - wrong chain id: obs3 (chain_id=31337, rpc=proxy D|proxy E, D answering
#     chain 999) never uses D and follows the chain through E
#   - quorum=2 with proxies Q1|Q2: while Q2 hides the registry's logs or
#     rewrites block hashes, a change is not applied and status says
#     "quorum not reached"; once they agree again the change is applied
set -uo pipefail
. "$(dirname "$0")/lib.sh"
E2E_QUIET=1
E2E_POLL=250ms
# heartbeats every 200 s: no heartbeat event lands inside the test, so the
# only registry events are the joins and leaves made here
TTL=600
e2e_init
if [ ! -x "$E2E_BUILD/rpc-proxy" ]; then
	cmake --build "$E2E_BUILD" -j2 --target rpc-proxy >/dev/null || fail "build of rpc-proxy failed"
fi

declare -A PROXY_URL
# proxy NAME: start a proxy in front of anvil, fault file $E2E_DIR/proxy-NAME
proxy() {
	local name=$1 port ctl=$E2E_DIR/proxy-$1 tries
	port=$(e2e_free_port)
	echo none >"$ctl"
	"$E2E_BUILD/rpc-proxy" --port "$port" --upstream "$E2E_RPC" --control "$ctl" \
		--pidfile "$E2E_DIR/proxy-$name.pid" >>"$E2E_DIR/proxy-$name.log" 2>&1 &
	E2E_PIDS+=($!)
	for tries in $(seq 100); do
		[ -f "$E2E_DIR/proxy-$name.pid" ] && break
		sleep 0.05
	done
	PROXY_URL[$name]=http://127.0.0.1:$port
}
fault() { echo "$2" >"$E2E_DIR/proxy-$1"; }	# fault NAME "SPEC"
field() { sed -n "s/^$2=//p" "$E2E_DIR/$1/p2p/$3"; }
npeers() { grep -c . "$E2E_DIR/$1/p2p/peers" 2>/dev/null || true; }
# wait_for SECONDS CMD...: until CMD succeeds; 1 on timeout
wait_for() {
	local secs=$1 i; shift
	for i in $(seq $((secs * 10))); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}
is_stale() { [ "$(field "$1" stale status)" = "$2" ]; }
has_peers() { [ "$(npeers "$1")" = "$2" ]; }

say "setup: anvil, registry, n1 registered, observers behind proxies"
e2e_anvil
e2e_deploy "$TTL"
for p in A B C D E Q1 Q2; do proxy "$p"; done
e2e_sim n1 1; e2e_mount n1; e2e_fund n1; e2e_register n1
e2e_sim n2 2; e2e_mount n2; e2e_fund n2
e2e_sim obs1 11
E2E_RPC=${PROXY_URL[A]} e2e_mount obs1 rpc_timeout=1s
e2e_sim obs2 12
E2E_RPC="${PROXY_URL[B]}|${PROXY_URL[C]}" e2e_mount obs2 rpc_timeout=1s
for n in obs1 obs2; do e2e_wait_peers "$n" 1; done
registered=0	# n2

# toggle: n2 joins when out, leaves when in; sets $want (peer count after)
toggle() {
	if [ "$registered" = 0 ]; then
		e2e_register n2; registered=1; want=2
	else
		[ "$(e2e_write "$E2E_DIR/n2/p2p/register" leave)" = OK ] || fail "n2 leave failed"
		registered=0; want=1
	fi
	e2e_wait_peers n1 "$want" 20
}

# case SPEC PATTERN: one fault, checked at obs1 (stale) and obs2 (failover)
fault_case() {
	local spec=$1 pattern=$2 before cur other t0 err
	say "fault '$spec'"
	before=$(cat "$E2E_DIR/obs1/p2p/peers")
	cur=$(field obs2 rpc status)
	if [ "$cur" = "${PROXY_URL[B]}" ]; then cur=B other=C; else cur=C other=B; fi
	fault A "$spec"; fault "$cur" "$spec"
	toggle
	wait_for 20 is_stale obs1 1 || fail "obs1 not stale under '$spec'"
	# the change happened on chain but obs1 cannot see it: keeps the last good set
	sleep 1
	[ "$(cat "$E2E_DIR/obs1/p2p/peers")" = "$before" ] ||
		fail "obs1 peers changed under '$spec': $(cat "$E2E_DIR/obs1/p2p/peers")"
	err=$(field obs1 last_error status)
	grep -Eqi -- "$pattern" <<<"$err" || fail "obs1 last_error under '$spec': '$err', want /$pattern/"
	echo "   obs1 last_error: $err"
	# obs2 fails over to the other proxy and follows the change
	wait_for 20 has_peers obs2 "$want" || fail "obs2 did not follow the change under '$spec'"
	[ "$(field obs2 rpc status)" = "${PROXY_URL[$other]}" ] ||
		fail "obs2 did not fail over to $other: rpc=$(field obs2 rpc status)"
	wait_for 10 is_stale obs2 0 || fail "obs2 stale after failover under '$spec'"
	fault A none; fault "$cur" none
	t0=$SECONDS
	wait_for 30 is_stale obs1 0 || fail "obs1 did not recover from '$spec'"
	wait_for 10 has_peers obs1 "$want" || fail "obs1 peers not updated after '$spec'"
	echo "   obs1 recovered in $((SECONDS - t0)) s"
	[ -z "$(field obs1 last_error status)" ] || fail "obs1 last_error kept after recovery"
}

fault_case refuse 'Connection refused'
fault_case timeout 'timed out'
fault_case "drip 50" 'timed out'
fault_case truncate 'partial file'
fault_case badjson 'invalid json'
fault_case http500 'http status 500'
fault_case giant 'reply larger than'

say "wrong chain id: a provider on chain 999 is never used"
fault D "chainid 999"
e2e_sim obs3 13
E2E_RPC="${PROXY_URL[D]}|${PROXY_URL[E]}" e2e_mount obs3 chain_id=31337,rpc_timeout=1s
wait_for 20 has_peers obs3 "$want" || fail "obs3 did not sync through the good provider"
[ "$(field obs3 rpc status)" = "${PROXY_URL[E]}" ] || fail "obs3 uses $(field obs3 rpc status)"
grep -q "is on chain 999, not 31337" "$E2E_DIR/obs3/daemon.log" || fail "obs3 did not log the wrong chain"
toggle
wait_for 20 has_peers obs3 "$want" || fail "obs3 did not follow a change"
is_stale obs3 0 || fail "obs3 stale"

say "quorum=2: no change applied while two providers disagree"
e2e_sim obsq 14
E2E_RPC="${PROXY_URL[Q1]}|${PROXY_URL[Q2]}" e2e_mount obsq quorum=2,rpc_timeout=1s
wait_for 20 has_peers obsq "$want" || fail "obsq did not sync"
wait_for 10 is_stale obsq 0 || fail "obsq stale while the providers agree"
for spec in nologs disagree; do
	echo "   Q2: $spec"
	fault Q2 "$spec"
	[ "$spec" = nologs ] && { sleep 2; is_stale obsq 0 || fail "obsq stale with no event to hide"; }
	before=$(cat "$E2E_DIR/obsq/p2p/peers")
	toggle
	wait_for 20 is_stale obsq 1 || fail "obsq not stale while Q2 ($spec) disagrees"
	sleep 2
	[ "$(cat "$E2E_DIR/obsq/p2p/peers")" = "$before" ] || fail "obsq applied a change without a quorum ($spec)"
	err=$(field obsq last_error status)
	grep -q "quorum not reached" <<<"$err" || fail "obsq last_error: '$err'"
	echo "   obsq last_error: $err"
	fault Q2 none
	wait_for 30 has_peers obsq "$want" || fail "obsq did not apply the change once Q2 agreed"
	wait_for 10 is_stale obsq 0 || fail "obsq still stale"
done
say "ok"
