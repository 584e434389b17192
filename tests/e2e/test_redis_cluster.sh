#!/usr/bin/env bash
# End to end: a Redis Cluster formed from /p2p/peers alone.  Real anvil,
# registry, dstack-sim guest agents, dstackp2pfs daemons on FUSE mounts and
# real redis-server instances (cluster mode, 127.0.0.1).  Each daemon's own
# endpoint is https://127.0.0.1:<its redis port> so every peer line maps to
# a reachable Redis.  examples/redis/p2p-redis-reload is run on each change
# event of the node's peers file (inotifywait; also every 2 s as a resync).
#
#  1. three nodes: CLUSTER INFO ok everywhere, 3 known nodes, a key written
#     through one node is read through the others (redis-cli -c)
#  2. a fourth node joins later: it is met, it reads the key
#  3. a node leaves (register leave, its Redis stops): the others forget it
set -uo pipefail
. "$(dirname "$0")/lib.sh"
E2E_QUIET=1
RELOAD=$E2E_TOP/examples/redis/p2p-redis-reload
e2e_init
command -v redis-server >/dev/null || fail "redis-server not installed"

declare -A RPORT=()
# a port P with P+10000 (the cluster bus) free too
redis_port() {
	local p
	for _ in $(seq 50); do
		p=$(e2e_free_port)
		[ "$p" -lt 55000 ] || continue
		python3 -c 'import socket,sys; s=socket.socket(); s.bind(("127.0.0.1",int(sys.argv[1]))); s.close()' \
			$((p + 10000)) 2>/dev/null && { echo "$p"; return 0; }
	done
	fail "no free port pair"
}
rc() { redis-cli -p "${RPORT[$1]}" "${@:2}"; }
node_up() {	# node_up NAME N: redis, simulated TEE, daemon, reload loop
	local name=$1 n=$2 d=$E2E_DIR/$1 p
	p=$(redis_port); RPORT[$name]=$p
	mkdir -p "$d/redis"
	redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes --cluster-node-timeout 3000 \
		--dir "$d/redis" --save '' --appendonly no --daemonize no --protected-mode no \
		>"$d/redis.log" 2>&1 &
	E2E_PIDS+=($!)
	printf -v "REDIS_PID_$name" %s "$!"
	for _ in $(seq 50); do rc "$name" PING >/dev/null 2>&1 && break; sleep 0.1; done
	e2e_sim "$name" "$n"
	e2e_mount "$name" "endpoint=https://127.0.0.1:$p"
	e2e_fund "$name"
	(
		iw=
		trap '[ -n "$iw" ] && kill "$iw" 2>/dev/null; exit 0' TERM
		while :; do
			P2P_DIR=$d/p2p REDIS_PORT=$p "$RELOAD" <"$d/p2p/peers" >>"$d/reload.log" 2>&1
			inotifywait -q -t 2 -e close_write "$d/p2p/peers" >/dev/null 2>&1 &
			iw=$!
			wait "$iw"
		done
	) &
	LOOPS+=($!)
	printf -v "LOOP_PID_$name" %s "$!"
}
# the reload loops watch the mounts: stop them before the mounts go
LOOPS=()
stop_loops() { [ ${#LOOPS[@]} = 0 ] || e2e_stop_pids "${LOOPS[@]}"; }
trap 'st=$?; stop_loops; (exit $st); e2e_cleanup' EXIT
info_field() { rc "$1" CLUSTER INFO | tr -d '\r' | sed -n "s/^$2://p"; }
wait_cluster() {	# wait_cluster KNOWN NAME...: state ok and KNOWN nodes at each
	local want=$1 n; shift
	for n in "$@"; do
		for _ in $(seq 300); do
			[ "$(info_field "$n" cluster_state)" = ok ] &&
				[ "$(info_field "$n" cluster_known_nodes)" = "$want" ] && break
			sleep 0.1
		done
		[ "$(info_field "$n" cluster_state)" = ok ] || fail "$n: cluster_state $(info_field "$n" cluster_state)"
		[ "$(info_field "$n" cluster_known_nodes)" = "$want" ] ||
			fail "$n: $(info_field "$n" cluster_known_nodes) known nodes, want $want: $(rc "$n" CLUSTER NODES)"
	done
}

say "setup: anvil, registry, three TEEs with daemons and redis-servers"
e2e_anvil
e2e_deploy 60
for i in 1 2 3; do node_up "r$i" "$i"; done
for i in 1 2 3; do e2e_register "r$i"; done
for i in 1 2 3; do e2e_wait_peers "r$i" 3; done
[ "$(cat "$E2E_DIR/r1/p2p/leader")" = "https://127.0.0.1:${RPORT[r1]}" ] || fail "leader is not r1"

say "1. the cluster forms from the peers: state ok, a key crosses nodes"
wait_cluster 3 r1 r2 r3
[ "$(info_field r1 cluster_slots_assigned)" = 16384 ] || fail "slots not all assigned"
[ "$(redis-cli -c -p "${RPORT[r2]}" SET p2p:greeting "hello from r2")" = OK ] || fail "SET through r2"
for n in r1 r3; do
	v=$(redis-cli -c -p "${RPORT[$n]}" GET p2p:greeting)
	[ "$v" = "hello from r2" ] || fail "GET through $n: '$v'"
done
cat "$E2E_DIR"/r[123]/reload.log | grep -q "^p2p-redis-reload: meet 127.0.0.1:" || fail "no CLUSTER MEET"

say "2. a node that joins later is met"
node_up r4 4
e2e_register r4
for i in 1 2 3 4; do e2e_wait_peers "r$i" 4; done
wait_cluster 4 r1 r2 r3 r4
v=$(redis-cli -c -p "${RPORT[r4]}" GET p2p:greeting)
[ "$v" = "hello from r2" ] || fail "GET through r4: '$v'"

say "3. a node leaves: the others forget it"
[ "$(e2e_write "$E2E_DIR/r3/p2p/register" leave)" = OK ] || fail "r3 leave failed"
e2e_stop_pids "$LOOP_PID_r3"; rc r3 SHUTDOWN NOSAVE >/dev/null 2>&1
for i in 1 2 4; do e2e_wait_peers "r$i" 3; done
wait_cluster 3 r1 r2 r4
for n in r1 r2 r4; do
	rc "$n" CLUSTER NODES | grep -q ":${RPORT[r3]}@" && fail "$n still knows r3"
done
v=$(redis-cli -c -p "${RPORT[r4]}" GET p2p:greeting)
[ "$v" = "hello from r2" ] || fail "GET through r4 after the leave: '$v'"

say "PASS test_redis_cluster"
