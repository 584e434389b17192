#!/usr/bin/env bash
# Propagation latency: from the block that carries a membership change to
# the inotify event on `peers` at the other daemons, against the poll
# interval.  Real parts: anvil, the registry, three simulated TEEs and
# daemons; node3 leaves and joins again ROUNDS times while node1 and node2
# are watched.
#
# anvil mines each transaction when it arrives (automine), and each change
# starts after a random pause of up to one poll interval, so changes land at
# random phases of the daemons' poll timers (a fixed block timer, or changes
# sent right after the last event, would phase-lock with the poll and
# measure one offset).  A block's time is when
# a 5 ms eth_blockNumber poller first saw it; an event's time is when
# inotifywait printed it; both on the same monotonic clock.  Expect about
# half the poll interval at p50 and the full interval at p99, plus the
# sync's own round trips.
#
# Usage: tests/bench/bench_latency.sh [ROUNDS] [POLL...]   (default 10, 250ms 1s 2s)
# Environment: E2E_BUILD (build dir, default build).
set -uo pipefail
. "$(dirname "$0")/../e2e/lib.sh"
E2E_QUIET=1
E2E_BLOCK_TIME=0
ROUNDS=${1:-10}
shift || true
POLLS=("$@")
[ ${#POLLS[@]} -gt 0 ] || POLLS=(250ms 1s 2s)
e2e_init

topic_reg=$("$E2E_BIN/cast" keccak 'PeerRegistered(uint256,address,bytes20,uint8,bytes32,string)')
topic_dereg=$("$E2E_BIN/cast" keccak 'PeerDeregistered(uint256,address,bytes20)')

run_poll() {	# run_poll POLL K: one cluster (names cK-nI) at this poll interval
	local poll=$1 c=c$2 i
	E2E_POLL=$poll
	e2e_anvil
	e2e_deploy 600
	for i in 1 2 3; do
		e2e_sim "$c-n$i" "$i"
		e2e_mount "$c-n$i"
		e2e_fund "$c-n$i"
		e2e_register "$c-n$i"
	done
	for i in 1 2; do e2e_wait_peers "$c-n$i" 3; done
	python3 - "$E2E_RPC" "$E2E_CONTRACT" "$topic_reg" "$topic_dereg" "$ROUNDS" "$poll" \
		"$E2E_DIR/$c-n1/p2p/peers" "$E2E_DIR/$c-n2/p2p/peers" \
		"$E2E_DIR/$c-n3/p2p/register" <<'PY'
import json, os, random, re, subprocess, sys, threading, time, urllib.request

rpc, contract, t_reg, t_dereg, rounds, poll = sys.argv[1:7]
watched, regfile = sys.argv[7:9], sys.argv[9]
rounds = int(rounds)
num, unit = re.fullmatch(r"(\d+)(ms|s|m)?", poll).groups()
poll_s = int(num) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[unit]
blocks, events, lock = {}, [], threading.Lock()
stop = False

def call(method, params):
    req = urllib.request.Request(rpc, data=json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode(),
        headers={"Content-Type": "application/json"})
    return json.load(urllib.request.urlopen(req, timeout=5))["result"]

def block_poller():
    while not stop:
        try:
            n = int(call("eth_blockNumber", []), 16)
            with lock:
                blocks.setdefault(n, time.monotonic())
        except Exception:
            pass
        time.sleep(0.005)

def watch(path):
    p = subprocess.Popen(["inotifywait", "-m", "-q", "-e", "close_write", path],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    procs.append(p)
    for line in p.stdout:
        with lock:
            events.append((path, time.monotonic()))

procs = []
threading.Thread(target=block_poller, daemon=True).start()
for w in watched:
    threading.Thread(target=watch, args=(w,), daemon=True).start()
time.sleep(1.5)

lat, skipped = [], 0
for r in range(rounds):
    for word, topic in (("leave", t_dereg), ("register", t_reg)):
        # start at a random phase of the watchers' poll timers
        time.sleep(random.uniform(0, poll_s))
        with lock:
            mark = len(events)
        fd = os.open(regfile, os.O_WRONLY)
        os.write(fd, word.encode())
        os.close(fd)
        logs = call("eth_getLogs", [{"address": contract, "topics": [topic], "fromBlock": "earliest"}])
        blk = int(logs[-1]["blockNumber"], 16)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with lock:
                got = events[mark:]
            if len({p for p, _ in got}) == len(watched):
                break
            time.sleep(0.01)
        time.sleep(0.3)
        with lock:
            got, seen = events[mark:], blocks.get(blk)
        if len(got) != len(watched):
            print(f"round {r} {word}: {len(got)} events, want {len(watched)}", file=sys.stderr)
            sys.exit(1)
        if seen is None:	# the poller stalled past this block: no reference time
            skipped += 1
            continue
        lat += [(t - seen) * 1000 for _, t in got]
stop = True
for p in procs:
    p.terminate()
if not lat:
    sys.exit("no samples")
lat.sort()
def pct(q):
    return lat[min(len(lat) - 1, int(q * len(lat)))]
print(f"poll={poll:>6}  changes={2 * rounds}  samples={len(lat)}  "
      f"p50={pct(0.50):7.1f} ms  p99={pct(0.99):7.1f} ms  min={lat[0]:7.1f} ms  max={lat[-1]:7.1f} ms"
      + (f"  ({skipped} changes without a block time)" if skipped else ""))
PY
}

say "propagation latency, block -> inotify event on peers ($ROUNDS leave+join rounds per poll interval, confirmations=0)"
k=0
for poll in "${POLLS[@]}"; do
	k=$((k + 1))
	run_poll "$poll" "$k" || fail "benchmark at poll=$poll failed"
	# each poll interval gets a fresh cluster
	for m in "${E2E_MOUNTS[@]}"; do fusermount3 -u "$m" 2>/dev/null || true; done
	e2e_stop_pids "${E2E_PIDS[@]}"
	e2e_stop_pids "${E2E_ANVILS[@]}"
	E2E_MOUNTS=(); E2E_PIDS=(); E2E_ANVILS=()
done
