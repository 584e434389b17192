#!/usr/bin/env bash
# bench_read: open+read+close per second of /p2p/peers (the view in fast
# no-open mode and in strict mode) against the same bytes on tmpfs, in one
# run.  Prints numbers, not pass/fail.
#   tests/bench/bench_read.sh [PEERS] [MILLISECONDS]   (default 8 peers, 3000)
# Environment: DP_BINARY_DIR (default <top>/build).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${DP_BINARY_DIR:-$top/build}
npeers=${1:-8} ms=${2:-3000}
tmp=$(mktemp -d /tmp/bench_read.XXXXXX)
view_pid=
cleanup() {
	[ -n "$view_pid" ] && kill "$view_pid" 2>/dev/null && wait "$view_pid" 2>/dev/null
	mountpoint -q "$tmp/mnt" 2>/dev/null && { fusermount3 -u "$tmp/mnt" || umount -l "$tmp/mnt"; }
	mountpoint -q "$tmp/tmpfs" 2>/dev/null && umount "$tmp/tmpfs"
	rm -rf "$tmp"
}
trap cleanup EXIT

for i in $(seq 1 "$npeers"); do
	printf '%d https://%064x-8443s.gateway.example.org\n' "$i" "$i"
done > "$tmp/set"
mkdir "$tmp/tmpfs" "$tmp/mnt"
mount -t tmpfs -o size=1m tmpfs "$tmp/tmpfs"

view() {	# view [-s]: mount, publish, bench, unmount; prints ops/s
	mkfifo "$tmp/ctl"; : > "$tmp/ack"
	"$bdir/p2pfs-view" "$@" "$tmp/mnt" "$tmp/ctl" "$tmp/ack" 2>"$tmp/log" &
	view_pid=$!
	until grep -q '^0 ok' "$tmp/ack"; do sleep 0.05; done
	echo "publish $tmp/set" > "$tmp/ctl"
	until grep -q '^1 ok' "$tmp/ack"; do sleep 0.05; done
	cp "$tmp/mnt/peers" "$tmp/tmpfs/peers"
	"$bdir/p2pfs-readbench" "$tmp/mnt/peers" "$ms"
	echo quit > "$tmp/ctl"; wait "$view_pid"; view_pid=
	rm -f "$tmp/ctl"
}

fast=$(view)
strict=$(view -s)
tmpfs=$("$bdir/p2pfs-readbench" "$tmp/tmpfs/peers" "$ms")
read -r f_ops f_us bytes <<<"$fast"
read -r s_ops s_us _ <<<"$strict"
read -r t_ops t_us _ <<<"$tmpfs"
echo "bench_read: $npeers peers, $bytes bytes, ${ms} ms each, open+read+close"
printf '  %-24s %10s ops/s %8s us/op\n' "tmpfs" "$t_ops" "$t_us"
printf '  %-24s %10s ops/s %8s us/op  %5.1f%% of tmpfs\n' "/p2p/peers fast" "$f_ops" "$f_us" \
	"$(awk -v a="$f_ops" -v b="$t_ops" 'BEGIN { print 100 * a / b }')"
printf '  %-24s %10s ops/s %8s us/op  %5.1f%% of tmpfs\n' "/p2p/peers strict" "$s_ops" "$s_us" \
	"$(awk -v a="$s_ops" -v b="$t_ops" 'BEGIN { print 100 * a / b }')"
