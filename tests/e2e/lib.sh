# tests/e2e/lib.sh: shared helpers for the end-to-end scripts and the local
# cluster demo.  Source it from bash; it starts the real parts (anvil, the
# contracts, dstack-sim guest agents, dstackp2pfs mounts) and removes every
# one of them on exit, also on failure (e2e_cleanup runs from an EXIT trap).
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_init                      # temp dir, traps, builds if needed
#   e2e_anvil                     # $E2E_RPC (E2E_BLOCK_TIME=0: automine)
#   e2e_deploy [TTL]              # $E2E_CONTRACT (open enrollment, sim KMS root, sim app)
#   e2e_sim NAME                  # a simulated TEE: $E2E_DIR/NAME/agent.sock
#   e2e_mount NAME [extra -o]     # daemon NAME mounted at $E2E_DIR/NAME/p2p
#   e2e_fund NAME                 # send its derived address 1 ether
#   e2e_register NAME             # echo register > .../register
#
# Environment: E2E_BUILD (build dir, default build), E2E_KEEP=1 keeps the
# temp dir, E2E_POLL (daemon poll interval, default 500ms).
set -uo pipefail

E2E_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
E2E_BUILD=${E2E_BUILD:-$E2E_TOP/build}
E2E_BIN=$E2E_TOP/contracts/node_modules/.bin
E2E_POLL=${E2E_POLL:-500ms}
# anvil's first well-known development account (public test key, not a secret)
E2E_OWNER=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
E2E_OWNER_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
# the dstack simulator's KMS root and app id (../shared/fixtures/dstack-simulator)
E2E_KMS_ROOT=0xa7f6043c29f9cc1d9d6acf554c53e0c6792aaeaf
E2E_APP_ID=0x5bb4ff9a3837357f19dc176407a5709c62eb6c56
E2E_PIDS=()
E2E_ANVILS=()
E2E_MOUNTS=()
E2E_DIR=
E2E_QUIET=${E2E_QUIET:-0}

say()  { echo "== $*"; }
info() { [ "$E2E_QUIET" = 1 ] || echo "   $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

e2e_stop_pids() {	# SIGTERM, up to 10 s, then SIGKILL
	local p
	for p in "$@"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "$@"; do
		for _ in $(seq 50); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.2
		done
		kill -9 "$p" 2>/dev/null || true
	done
}

e2e_cleanup() {
	local rc=$? m p
	trap - EXIT INT TERM
	for m in "${E2E_MOUNTS[@]}"; do
		fusermount3 -u "$m" 2>/dev/null || fusermount3 -uz "$m" 2>/dev/null || true
	done
	# daemons and simulators first, while the chain still answers (a daemon
	# finishes a transaction in flight before it exits), then anvil
	e2e_stop_pids "${E2E_PIDS[@]}"
	e2e_stop_pids "${E2E_ANVILS[@]}"
	if [ -n "$E2E_DIR" ] && [ -d "$E2E_DIR" ]; then
		if [ "$rc" -ne 0 ]; then
			for f in "$E2E_DIR"/*/daemon.log; do
				[ -f "$f" ] || continue
				echo "--- tail of $f" >&2; tail -20 "$f" >&2
			done
		fi
		if [ "${E2E_KEEP:-0}" = 1 ]; then
			echo "kept $E2E_DIR" >&2
		else
			rm -rf "$E2E_DIR"
		fi
	fi
	exit "$rc"
}

e2e_init() {
	[ "$(id -u)" -eq 0 ] || fail "needs root (FUSE mounts with allow_other, register writes)"
	[ -e /dev/fuse ] || fail "no /dev/fuse"
	E2E_DIR=$(mktemp -d /tmp/dp2p-e2e.XXXXXX)
	trap e2e_cleanup EXIT
	trap 'exit 130' INT TERM
	if [ ! -x "$E2E_BUILD/dstackp2pfs" ] || [ ! -x "$E2E_BUILD/dstack-sim" ]; then
		cmake -S "$E2E_TOP" -B "$E2E_BUILD" -DDP_WERROR=ON >/dev/null &&
			cmake --build "$E2E_BUILD" -j2 --target dstackp2pfs dstack-sim >/dev/null ||
			fail "build failed"
	fi
	[ -f "$E2E_TOP/contracts/out/DstackP2PMembership.sol/DstackP2PMembership.json" ] ||
		(cd "$E2E_TOP/contracts" && "$E2E_BIN/forge" build >/dev/null) || fail "forge build failed"
}

# A free TCP port on 127.0.0.1 (the kernel picks it).
e2e_free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

e2e_cast() { local sub=$1; shift; "$E2E_BIN/cast" "$sub" --rpc-url "$E2E_RPC" "$@"; }

# Mining: a block every E2E_BLOCK_TIME seconds (default 1); 0 mines each
# transaction at once (automine).
e2e_mining() {
	local bt=${E2E_BLOCK_TIME:-1}
	[ "$bt" = 0 ] || echo "--block-time $bt"
}

# e2e_anvil [extra anvil args]: a dev chain on a free port.
e2e_anvil() {
	local port tries
	port=$(e2e_free_port)
	E2E_ANVIL_PORT=$port
	"$E2E_BIN/anvil" --host 127.0.0.1 --port "$port" $(e2e_mining) --silent \
		--state "$E2E_DIR/anvil-state.json" "$@" >"$E2E_DIR/anvil.log" 2>&1 &
	E2E_ANVIL_PID=$!
	E2E_ANVILS+=("$E2E_ANVIL_PID")
	E2E_RPC=http://127.0.0.1:$port
	for tries in $(seq 100); do
		"$E2E_BIN/cast" chain-id --rpc-url "$E2E_RPC" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "anvil did not start (see $E2E_DIR/anvil.log)"
}

# Stop anvil (it saves its state on exit) and start it again on the same
# port with that state (for RPC outage tests).
e2e_anvil_stop() {
	kill "$E2E_ANVIL_PID"; wait "$E2E_ANVIL_PID" 2>/dev/null || true
}
e2e_anvil_start_again() {
	local tries
	"$E2E_BIN/anvil" --host 127.0.0.1 --port "$E2E_ANVIL_PORT" $(e2e_mining) --silent \
		--state "$E2E_DIR/anvil-state.json" >>"$E2E_DIR/anvil.log" 2>&1 &
	E2E_ANVIL_PID=$!
	E2E_ANVILS+=("$E2E_ANVIL_PID")
	for tries in $(seq 100); do
		"$E2E_BIN/cast" chain-id --rpc-url "$E2E_RPC" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	fail "anvil did not restart"
}

e2e_owner_send() {	# e2e_owner_send TO SIG [ARGS...]
	e2e_cast send --private-key "$E2E_OWNER_KEY" "$@" >/dev/null || fail "cast send $2 failed"
}

# e2e_deploy [TTL seconds]: deploy the registry, trust the simulator's KMS
# root and app, open enrollment.  Sets E2E_CONTRACT.
e2e_deploy() {
	local ttl=${1:-60} code args out
	code=$(jq -r '.bytecode.object' "$E2E_TOP/contracts/out/DstackP2PMembership.sol/DstackP2PMembership.json")
	args=$("$E2E_BIN/cast" abi-encode 'c(address,uint64)' "$E2E_OWNER" "$ttl")
	out=$(e2e_cast send --private-key "$E2E_OWNER_KEY" --json --create "${code}${args#0x}") ||
		fail "deploy failed"
	E2E_CONTRACT=$(echo "$out" | jq -r .contractAddress)
	[ -n "$E2E_CONTRACT" ] && [ "$E2E_CONTRACT" != null ] || fail "no contract address"
	e2e_owner_send "$E2E_CONTRACT" 'setKmsRoot(address,bool)' "$E2E_KMS_ROOT" true
	e2e_owner_send "$E2E_CONTRACT" 'setAllowedApp(bytes20,bool)' "$E2E_APP_ID" true
	e2e_owner_send "$E2E_CONTRACT" 'setOpenEnrollment(bool,uint32)' true 100
}

# e2e_instance_id N: a deterministic 40-hex instance id for instance N.
e2e_instance_id() { printf '%040x' $((0xd57ac0000 + $1)); }

# e2e_sim NAME N: a simulated TEE (guest agent) with instance id N.
e2e_sim() {
	local name=$1 n=$2 d=$E2E_DIR/$1 tries
	mkdir -p "$d/p2p"
	"$E2E_BUILD/dstack-sim" --socket "$d/agent.sock" --instance-id "$(e2e_instance_id "$n")" \
		--app-name "$name" --gateway-domain "p2p.dstack.test" --pidfile "$d/sim.pid" \
		>"$d/sim.log" 2>&1 &
	E2E_PIDS+=($!)
	for tries in $(seq 100); do
		[ -f "$d/sim.pid" ] && return 0
		sleep 0.05
	done
	fail "dstack-sim $name did not start"
}

# e2e_mount NAME [extra options]: run the daemon in the foreground (so its
# pid is ours to kill) and wait for the mount.
e2e_mount() {
	local name=$1 extra=${2:-} d=$E2E_DIR/$1 tries
	"$E2E_BUILD/dstackp2pfs" "$d/p2p" -f -o "contract=$E2E_CONTRACT,mode=tls,rpc=$E2E_RPC,agent=$d/agent.sock,poll=$E2E_POLL,confirmations=0,allow_other${extra:+,$extra}" \
		>>"$d/daemon.log" 2>&1 &
	printf -v "E2E_DAEMON_${name//-/_}" %s "$!"
	E2E_PIDS+=($!)
	E2E_MOUNTS+=("$d/p2p")
	for tries in $(seq 100); do
		if mountpoint -q "$d/p2p" && grep -q '^address=' "$d/p2p/self" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	fail "daemon $name did not mount (see $d/daemon.log)"
}

# e2e_umount NAME: stop daemon NAME (SIGTERM) and wait until it is gone.
e2e_umount() {
	local name=$1 pidvar=E2E_DAEMON_${1//-/_} pid
	pid=${!pidvar}
	kill "$pid" 2>/dev/null || true
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && fail "daemon $name did not exit on SIGTERM"
	mountpoint -q "$E2E_DIR/$name/p2p" && fail "daemon $name left its mount behind"
	return 0
}

e2e_self() { sed -n "s/^$2=//p" "$E2E_DIR/$1/p2p/self"; }

e2e_fund() {
	local addr
	addr=$(e2e_self "$1" address)
	[ -n "$addr" ] || fail "no address in $1/self"
	e2e_cast send --private-key "$E2E_OWNER_KEY" --value 1ether "$addr" >/dev/null ||
		fail "funding $addr failed"
}

e2e_register() {
	echo register >"$E2E_DIR/$1/p2p/register" || fail "register of $1 failed: $(cat "$E2E_DIR/$1/p2p/register")"
}

# e2e_wait_peers NAME COUNT [seconds]: until NAME's peers file has COUNT lines.
e2e_wait_peers() {
	local name=$1 want=$2 secs=${3:-30} n i
	for i in $(seq $((secs * 10))); do
		n=$(grep -c . "$E2E_DIR/$name/p2p/peers" 2>/dev/null || true)
		[ "$n" = "$want" ] && return 0
		sleep 0.1
	done
	fail "$name: peers has $n lines, want $want: $(cat "$E2E_DIR/$name/p2p/peers")"
}

# Expected endpoint of simulated instance N (gateway domain given to dstack-sim).
e2e_endpoint() { echo "https://$(e2e_instance_id "$1")-80.p2p.dstack.test"; }

# e2e_write FILE DATA: write DATA in one write(2); prints OK or the errno name.
e2e_write() {
	python3 - "$1" "$2" <<'PY'
import errno, os, sys
try:
    fd = os.open(sys.argv[1], os.O_WRONLY)
    try:
        os.write(fd, sys.argv[2].encode())
    finally:
        os.close(fd)
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, str(e.errno)))
PY
}

# Events: e2e_watch NAME starts inotifywait on NAME's peers file; e2e_events
# NAME prints how many CLOSE_WRITE events it has seen.
e2e_watch() {
	inotifywait -m -q -e close_write --format '%e' "$E2E_DIR/$1/p2p/peers" \
		>"$E2E_DIR/$1/events" 2>/dev/null &
	E2E_PIDS+=($!)
}
e2e_events() { grep -c CLOSE_WRITE "$E2E_DIR/$1/events" 2>/dev/null || true; }

# Number of registerPeer transactions that changed the registry so far.
e2e_registrations() {
	local a b
	a=$(e2e_cast logs --json --from-block 0 --address "$E2E_CONTRACT" \
		'PeerRegistered(uint256 indexed,address indexed,bytes20 indexed,uint8,bytes32,string)' | jq length)
	b=$(e2e_cast logs --json --from-block 0 --address "$E2E_CONTRACT" \
		'PeerUpdated(uint256 indexed,address indexed,bytes20 indexed,uint8,bytes32,string)' | jq length)
	echo $((a + b))
}
