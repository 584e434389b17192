#!/usr/bin/env bash
# The FUSE conventions: the daemon started the ways mount(8) and fstab start
# it, detaching once the mount is up; a daemon killed with -9 leaves a dead
# mount that the helper clears; SIGTERM and fusermount3 -u both stop it.
#   1. mount.dstackp2pfs SPEC DIR -o OPTS   (mount -t dstackp2pfs, fstab)
#   2. dstackp2pfs SOURCE DIR -o OPTS       (mount -t fuse.dstackp2pfs via mount.fuse3)
#   3. kill -9, then the helper mounts again over the dead mount
#   4. fusermount3 -u stops a detached daemon; its state comes back on remount
set -uo pipefail
. "$(dirname "$0")/lib.sh"
E2E_QUIET=1
e2e_init
helper=$E2E_TOP/mount-helpers/mount.dstackp2pfs

daemon_pid() {	# the detached daemon serving DIR
	pgrep -f "^$E2E_BUILD/dstackp2pfs (dstackp2pfs )?$1 " | head -1
}
track() { local p; p=$(daemon_pid "$1"); [ -n "$p" ] && E2E_PIDS+=("$p"); E2E_MOUNTS+=("$1"); }
wait_gone() {	# wait_gone PID
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
	fail "pid $1 still running"
}

say "setup: anvil, registry, one simulated TEE"
e2e_anvil
e2e_deploy 60
e2e_sim m 1
d=$E2E_DIR/m
opts="contract=$E2E_CONTRACT,mode=tls,rpc=$E2E_RPC,agent=$d/agent.sock,poll=500ms,confirmations=0,allow_other"

say "1. mount helper: returns once mounted, daemon detached"
DSTACKP2PFS=$E2E_BUILD/dstackp2pfs "$helper" none "$d/p2p" -o "$opts,_netdev,noatime,x-systemd.automount" ||
	fail "mount helper failed"
mountpoint -q "$d/p2p" || fail "not mounted after the helper returned"
track "$d/p2p"
pid=$(daemon_pid "$d/p2p")
[ -n "$pid" ] || fail "no daemon process"
[ "$(ps -o ppid= -p "$pid" | tr -d ' ')" = 1 ] || [ "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" ] ||
	fail "daemon not detached"
for _ in $(seq 50); do grep -q '^address=' "$d/p2p/self" && break; sleep 0.1; done
grep -q '^address=' "$d/p2p/self" || fail "self not served"
e2e_fund m
e2e_register m
grep -q '^state=registered' "$d/p2p/register" || fail "not registered"

say "2. SIGTERM stops it and unmounts; the SOURCE DIR form mounts again"
kill "$pid"; wait_gone "$pid"
mountpoint -q "$d/p2p" && fail "still mounted after SIGTERM"
"$E2E_BUILD/dstackp2pfs" dstackp2pfs "$d/p2p" -o "$opts" || fail "SOURCE DIR form failed"
mountpoint -q "$d/p2p" || fail "not mounted (SOURCE DIR form)"
track "$d/p2p"
for _ in $(seq 50); do grep -q '^state=registered' "$d/p2p/register" && break; sleep 0.1; done
grep -q '^state=registered' "$d/p2p/register" || fail "state not recovered after restart"

say "3. kill -9 leaves a dead mount; the helper clears it and mounts"
pid=$(daemon_pid "$d/p2p")
kill -9 "$pid"; wait_gone "$pid"
ls "$d/p2p" >/dev/null 2>&1 && fail "expected a dead mount after kill -9"
DSTACKP2PFS=$E2E_BUILD/dstackp2pfs "$helper" none "$d/p2p" -o "$opts" 2>"$E2E_DIR/helper.err" ||
	fail "helper over a dead mount failed: $(cat "$E2E_DIR/helper.err")"
grep -q "clearing stale mount" "$E2E_DIR/helper.err" || fail "helper did not clear the stale mount"
track "$d/p2p"
for _ in $(seq 50); do grep -q '^state=registered' "$d/p2p/register" && break; sleep 0.1; done
grep -q '^state=registered' "$d/p2p/register" || fail "state not recovered after kill -9"

say "4. fusermount3 -u stops the detached daemon"
pid=$(daemon_pid "$d/p2p")
fusermount3 -u "$d/p2p" || fail "fusermount3 -u failed"
wait_gone "$pid"

say "5. bad options: the helper reports a mount failure (32), nothing mounted"
DSTACKP2PFS=$E2E_BUILD/dstackp2pfs "$helper" none "$d/p2p" -o "contract=nope,mode=tls,rpc=$E2E_RPC" 2>"$E2E_DIR/helper.err"
rc=$?
[ "$rc" = 32 ] || fail "helper exit $rc with bad options, want 32"
grep -q contract "$E2E_DIR/helper.err" || fail "no message naming 'contract'"
mountpoint -q "$d/p2p" && fail "mounted despite bad options"

say "PASS test_mount"
