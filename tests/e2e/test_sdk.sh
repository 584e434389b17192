#!/usr/bin/env bash
# test_sdk: the client surfaces of issue #8 against a real /p2p view mounted
# by tests/tools/p2pfs-view (real FUSE, real inotify):
#   - Python SDK (examples/python/dstackp2p.py): the constructor checks the
#     contract and mode in `self`; get_peers; register() True, and each errno
#     of dstackp2pfs(8) "REGISTER ERRORS" raised as its exception with the
#     reason; register() does not block the event loop; monitor_peers
#     delivers the current list, then each change exactly once
#   - C example (examples/c/p2p-peers.c over src/dstackp2p.h): list,
#     register/refusal, the epoll watch delivering each change once
#   - mount-helpers/p2p-watch: first run, environment and stdin; a burst of
#     5 publishes gives one more run, with the last list; a slow CMD is never
#     run twice at once and changes during it give one more run; exit codes
# Environment: DP_BINARY_DIR or E2E_BUILD (default <top>/build).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${DP_BINARY_DIR:-${E2E_BUILD:-$top/build}}
view=$build/p2pfs-view
peers_bin=$build/p2p-peers
watch_bin=$top/mount-helpers/p2p-watch
for b in "$view" "$peers_bin"; do
	[ -x "$b" ] || { echo "test_sdk: no '$b' (build first)" >&2; exit 1; }
done

name=test_sdk view=$view view_flags=-s
. "$top/tests/e2e/view_lib.sh"

pub() {	# pub TOKEN:URL...: publish that set
	local e
	: > "$tmp/set"
	for e in "$@"; do printf '%s %s\n' "${e%%:*}" "${e#*:}" >> "$tmp/set"; done
	cmd publish "$tmp/set"
}

wait_for() {	# wait_for SECONDS CMD...: poll until CMD succeeds
	local n=$(( $1 * 20 )); shift
	for _ in $(seq "$n"); do "$@" && return 0; sleep 0.05; done
	return 1
}

contract=0x5FbDB2315678afecb367f032d93F642f64180aa3
start_view
printf 'instance_id=%040d\naddress=0x%040d\nendpoint=https://me.example\nmode=tls\ncontract=%s\nchain_id=31337\nregistration=unknown\n' \
	7 7 "$contract" > "$tmp/self"
cmd self "$tmp/self" || { echo "test_sdk: harness has no self command" >&2; exit 1; }
pub 1:https://a.example 2:https://b.example

# --- Python SDK -------------------------------------------------------------
echo "$ncmd" > "$tmp/ncmd"
if PYTHONPATH=$top/examples/python python3 -u - "$mnt" "$tmp" "$contract" <<'PY'; then
import asyncio, errno, os, sys, time
import dstackp2p as d

mnt, tmp, contract = sys.argv[1:4]
ncmd = int(open(f"{tmp}/ncmd").read())
fails = 0

def check(cond, what):
    global fails
    print(("ok: " if cond else "FAIL: ") + "python " + what)
    fails += 0 if cond else 1

def cmd(text):
    global ncmd
    ncmd += 1
    with open(f"{tmp}/ctl", "w") as f:
        f.write(text + "\n")
    for _ in range(400):
        for line in open(f"{tmp}/ack"):
            if line.startswith(f"{ncmd} ok ") or line.startswith(f"{ncmd} err "):
                return line.split()[1] == "ok"
        time.sleep(0.01)
    raise SystemExit(f"no answer to {text!r}")

def pub(*entries):
    with open(f"{tmp}/pyset", "w") as f:
        for e in entries:
            f.write(e.replace(":", " ", 1) + "\n")
    assert cmd(f"publish {tmp}/pyset")

# constructor: contract (any case) and mode from self
sdk = d.DStackP2PSDK(contract.lower(), "tls", mount=mnt)
check(sdk.mount == mnt, "constructor accepts the mount's contract and mode")
for args, what in (((contract[:-1] + "0", "tls"), "another contract"),
                   ((contract, "wireguard"), "another mode")):
    try:
        d.DStackP2PSDK(*args, mount=mnt)
        check(False, f"constructor refuses {what}")
    except d.MountMismatchError:
        check(True, f"constructor refuses {what}")
os.environ["DSTACKP2P_MOUNT"] = mnt
check(d.DStackP2PSDK(contract, "tls").mount == mnt, "DSTACKP2P_MOUNT picks the mount")
try:
    d.DStackP2PSDK(contract, "tls", mount=f"{tmp}/nosuch")
    check(False, "a missing mount raises")
except OSError as e:
    check(e.errno == errno.ENOENT, "a missing mount raises ENOENT")

async def main():
    check(await sdk.get_peers() == ["https://a.example", "https://b.example"],
          "get_peers")
    assert cmd("reg 0 0")
    check(await sdk.register() is True, "register() returns True")
    for e, cls in sorted(d.REGISTER_ERRORS.items()):
        assert cmd(f"reg {e} 0")
        try:
            await sdk.register()
            check(False, f"errno {errno.errorcode[e]} raises")
        except d.RegisterError as ex:
            check(type(ex) is cls and ex.errno == e and
                  ex.reason == "refused by the test harness",
                  f"errno {errno.errorcode[e]} -> {cls.__name__}")
    assert cmd(f"reg {errno.ENOMEM} 0")
    try:
        await sdk.leave()
        check(False, "other errno raises")
    except d.RegisterError as ex:
        check(type(ex) is d.RegisterError and ex.errno == errno.ENOMEM,
              "an errno outside the table -> RegisterError")
    # register() waits in a worker: the loop keeps serving meanwhile
    assert cmd("reg 0 800")
    t0 = time.monotonic()
    task = asyncio.ensure_future(sdk.register())
    await asyncio.sleep(0.1)
    peers = await sdk.get_peers()
    t_peers = time.monotonic() - t0
    ok = await task
    t_reg = time.monotonic() - t0
    check(peers and t_peers < 0.5 and ok is True and t_reg >= 0.75,
          f"register() does not block the loop ({t_peers:.2f}s vs {t_reg:.2f}s)")

    # monitor_peers: current list first, then each change exactly once
    got = []
    new = asyncio.Event()
    async def cb(p):
        got.append(p)
        new.set()
    mon = asyncio.ensure_future(sdk.monitor_peers(cb))
    async def step(n):
        for _ in range(100):
            if len(got) >= n:
                return
            await asyncio.sleep(0.02)
    await step(1)
    seq = [["https://c.example"], [], ["https://a.example", "https://x.example"],
           ["https://x.example", "https://a.example"]]
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, pub, "3:https://c.example"); await step(2)
    await loop.run_in_executor(None, pub); await step(3)
    await loop.run_in_executor(None, pub, "1:https://a.example", "2:https://x.example"); await step(4)
    # same peers list again with other token ids: peers.json changes, peers not
    await loop.run_in_executor(None, pub, "5:https://a.example", "6:https://x.example")
    await loop.run_in_executor(None, pub, "5:https://x.example", "6:https://a.example"); await step(5)
    await asyncio.sleep(0.6)
    mon.cancel()
    try:
        await mon
    except asyncio.CancelledError:
        pass
    want = [["https://a.example", "https://b.example"]] + seq
    check(got == want, f"monitor_peers delivered each list exactly once: {got}")

asyncio.run(main())
sys.exit(1 if fails else 0)
PY
	pass "python SDK"
else
	fail "python SDK"
fi
ncmd=$(( $(wc -l < "$tmp/ack") - 1 - $(grep -c '^reg ' "$tmp/ack") ))

# --- C example ---------------------------------------------------------------
pub 1:https://a.example 2:https://b.example
[ "$("$peers_bin" -m "$mnt")" = $'https://a.example\nhttps://b.example' ] &&
	pass "C p2p-peers lists the peers" || fail "C p2p-peers list"
cmd "reg 0 0"
"$peers_bin" -m "$mnt" -r > /dev/null && pass "C register ok" || fail "C register"
cmd "reg 28 0"
rc=0; "$peers_bin" -m "$mnt" -r 2>"$tmp/err" >/dev/null || rc=$?
if [ $rc = 0 ]; then fail "C register refusal"
else
	[ $rc = 2 ] && grep -q ENOSPC "$tmp/err" && pass "C register refusal carries ENOSPC" ||
		fail "C refusal: rc $rc $(cat "$tmp/err")"
fi
"$peers_bin" -m "$mnt" -w -c 4 > "$tmp/cwatch" &
cpid=$!; bg_pids+=($cpid)
wait_for 5 grep -q '^# 2 peers' "$tmp/cwatch" || fail "C watch: no first list"
pub 3:https://c.example
wait_for 5 grep -q '^# 1 peers' "$tmp/cwatch" || fail "C watch: no second list"
pub 4:https://c.example     # peers unchanged (only peers.json): nothing
pub
wait_for 5 grep -q '^# 0 peers' "$tmp/cwatch" || fail "C watch: no third list"
pub 1:https://a.example
timeout 5 tail --pid=$cpid -f /dev/null || fail "C watch did not stop after -c 4"
want=$'# 2 peers\nhttps://a.example\nhttps://b.example\n# 1 peers\nhttps://c.example\n# 0 peers\n# 1 peers\nhttps://a.example'
[ "$(cat "$tmp/cwatch")" = "$want" ] && pass "C epoll watch: each list once, in order" ||
	fail "C watch output: $(tr '\n' '|' < "$tmp/cwatch")"

# --- p2p-watch ---------------------------------------------------------------
# The CMD records each run; mkdir is the overlap detector.
cat > "$tmp/cmd.sh" <<'EOF'
#!/bin/bash
log=$1 slp=$2
mkdir "$log.lock" 2>/dev/null || echo OVERLAP >> "$log"
stdin=$(cat | tr '\n' ',')
echo "run count=$P2P_PEERS_COUNT leader=$P2P_LEADER peers=$P2P_PEERS stdin=$stdin" >> "$log"
sleep "$slp"
rmdir "$log.lock"
EOF
chmod +x "$tmp/cmd.sh"
runs() { grep -c '^run ' "$1" 2>/dev/null || true; }
nruns() { [ "$(runs "$1")" = "$2" ]; }	# nruns LOG N: N runs logged

"$watch_bin" --help | grep -q '^Exit status' && pass "p2p-watch --help" || fail "p2p-watch --help"
rc=0; "$watch_bin" -x -- true 2>/dev/null || rc=$?; [ $rc = 1 ] && pass "p2p-watch usage: 1" || fail "p2p-watch usage exit"
rc=0; "$watch_bin" -m "$tmp/nosuch" -- true 2>/dev/null || rc=$?; [ $rc = 2 ] && pass "p2p-watch unreadable mount: 2" ||
	fail "p2p-watch unreadable exit"
rc=0; "$watch_bin" -m "$mnt" -1 -- sh -c 'exit 7' 2>/dev/null || rc=$?; [ $rc = 7 ] && pass "p2p-watch -1: CMD's status" ||
	fail "p2p-watch -1 exit"

pub 1:https://a.example 2:https://b.example
: > "$tmp/w1"
"$watch_bin" -m "$mnt" -d 700 -- "$tmp/cmd.sh" "$tmp/w1" 0 2>"$tmp/w1.err" &
wpid=$!; bg_pids+=($wpid)
wait_for 5 nruns "$tmp/w1" 1 || fail "p2p-watch: no first run"
grep -qx 'run count=2 leader=https://a.example peers=https://a.example https://b.example stdin=https://a.example,https://b.example,' "$tmp/w1" &&
	pass "p2p-watch first run: environment and stdin" || fail "p2p-watch first run: $(cat "$tmp/w1")"
for i in 1 2 3 4 5; do pub "$i:https://burst$i.example"; done
sleep 1.5
[ "$(runs "$tmp/w1")" = 2 ] && tail -1 "$tmp/w1" | grep -q 'count=1 leader=https://burst5.example ' &&
	pass "p2p-watch: a burst of 5 publishes runs CMD once, with the last list" ||
	fail "p2p-watch burst: $(tr '\n' '|' < "$tmp/w1")"
pub
wait_for 3 nruns "$tmp/w1" 3 && tail -1 "$tmp/w1" | grep -q 'count=0 leader= peers= stdin=$' &&
	pass "p2p-watch: empty list" || fail "p2p-watch empty: $(tr '\n' '|' < "$tmp/w1")"
kill "$wpid"; rc=0; wait "$wpid" || rc=$?
[ $rc = 0 ] && pass "p2p-watch SIGTERM: 0" || fail "p2p-watch SIGTERM exit $rc"

# slow CMD (1 s): changes during a run give one more run, never two at once
: > "$tmp/w2"
"$watch_bin" -m "$mnt" -d 50 -- "$tmp/cmd.sh" "$tmp/w2" 1 2>"$tmp/w2.err" &
wpid=$!; bg_pids+=($wpid)
wait_for 5 nruns "$tmp/w2" 1 || fail "p2p-watch slow: no first run"
pub 1:https://x.example
sleep 0.2
pub 1:https://y.example
wait_for 5 nruns "$tmp/w2" 2 || fail "p2p-watch slow: no second run"
sleep 0.2
pub 1:https://z.example
sleep 2.6
grep -q OVERLAP "$tmp/w2" && fail "p2p-watch ran CMD twice at once"
[ "$(runs "$tmp/w2")" = 3 ] && sed -n 2p "$tmp/w2" | grep -q 'peers=https://y.example ' &&
	sed -n 3p "$tmp/w2" | grep -q 'peers=https://z.example ' &&
	pass "p2p-watch slow CMD: no overlap, changes during a run give one more run" ||
	fail "p2p-watch slow: $(tr '\n' '|' < "$tmp/w2")"

# the mount goes away: the watch ends with 3
echo quit > "$tmp/ctl"
wait "$view_pid" || fail "p2pfs-view exit status"
view_pid=
if timeout 5 tail --pid=$wpid -f /dev/null; then
	rc=0; wait "$wpid" || rc=$?
	[ $rc = 3 ] && pass "p2p-watch: mount gone exits 3" || fail "p2p-watch mount gone exit $rc"
else
	fail "p2p-watch kept running after the unmount"
fi

if [ "$fails" -ne 0 ]; then
	echo "test_sdk: $fails failed"; exit 1
fi
echo "test_sdk: all passed"
