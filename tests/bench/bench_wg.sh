#!/usr/bin/env bash
# bench_wg: time to apply a 1,000-peer set and a one-peer change with both
# WireGuard backends, and the same sets applied with `wg syncconf` / `wg set`
# in the same run.
#   userspace: wireguard-go in a network namespace on this machine
#   kernel:    a Debian cloud kernel in QEMU (TCG, so every number there is
#              several times slower than on hardware; compare rows within a
#              backend) via tests/qemu/run.sh bench
# wg-apply rows: "usec" is the applier's own time (read back, diff, send the
# difference); "time usec" is the whole process, start-up and key
# derivation included, which is what the wg(8) rows measure too.
# Environment: DP_BINARY_DIR (default <top>/build), DP_BENCH_KERNEL=0 skips QEMU.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bdir=${DP_BINARY_DIR:-$top/build}
bin=$bdir/wg-apply
[ -x "$bin" ] || { echo "bench_wg: no '$bin' (build first)" >&2; exit 1; }
id=$$
nsn=dpwgb$id
tmp=$(mktemp -d /tmp/bench_wg.XXXXXX)
cleanup() {
	trap - EXIT INT TERM
	ip netns pids "$nsn" 2>/dev/null | xargs -r kill 2>/dev/null || true
	sleep 0.3
	ip netns pids "$nsn" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
	ip netns del "$nsn" 2>/dev/null || true
	rm -f /var/run/wireguard/wb"$id"?.sock
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

ip netns add "$nsn"
ns() { ip netns exec "$nsn" "$@"; }
ns ip link set lo up
python3 "$top/tests/qemu/genpeers.py" 1001 3 10.78 "$tmp/b" "$tmp/b.conf"
head -1000 "$tmp/b" >"$tmp/peers1000"
cp "$tmp/b" "$tmp/peers1001"
# a private key too, as wg-apply's device has one (the kernel then works on
# every peer it is handed, as for wg-apply's device)
sk64=$(python3 -c 'import base64; print(base64.b64encode(bytes([3] * 32)).decode())')
{ printf '[Interface]\nPrivateKey = %s\nListenPort = 51901\n\n' "$sk64"; head -6000 "$tmp/b.conf"; } >"$tmp/conf1000"
tail -6 "$tmp/b.conf" >"$tmp/conf1"
cat "$tmp/conf1000" "$tmp/conf1" >"$tmp/conf1001"
SA=0101010101010101010101010101010101010101010101010101010101010101
wa() {
	ns "$bin" time "$bin" apply -i "wb${id}1" -m 10.1.0.0/16 -t 1 -p 51900 -s $SA -f "$1" \
		-b userspace | tr '\n' ' '
	echo
}
echo "bench userspace wg-apply 1000-peer set: $(wa "$tmp/peers1000")"
echo "bench userspace wg-apply one-peer change (1001): $(wa "$tmp/peers1001")"
echo "bench userspace wg-apply same set again (no-op): $(wa "$tmp/peers1001")"
for i in 2 3; do
	WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 ns wireguard-go "wb$id$i" >/dev/null 2>&1
	ns ip link set "wb$id$i" up	# like wg-apply's device: up, so peers are live
done
sed 's/^ListenPort = 51901/ListenPort = 51902/' "$tmp/conf1000" >"$tmp/conf1000b"
echo "bench userspace wg syncconf 1000-peer set: $(ns "$bin" time wg syncconf "wb${id}2" "$tmp/conf1000")"
echo "bench userspace wg syncconf one-peer change (1001): $(ns "$bin" time wg syncconf "wb${id}2" "$tmp/conf1001")"
echo "bench userspace wg syncconf 1000-peer set (second device): $(ns "$bin" time wg syncconf "wb${id}3" "$tmp/conf1000b")"
key=$(sed -n 's/^PublicKey = //p' "$tmp/conf1")
aip=$(sed -n 's/^AllowedIPs = //p' "$tmp/conf1")
ep=$(sed -n 's/^Endpoint = //p' "$tmp/conf1")
echo "bench userspace wg set one peer: $(ns "$bin" time wg set "wb${id}3" peer "$key" allowed-ips "$aip" endpoint "$ep" persistent-keepalive 25)"
echo "bench userspace peers on devices: $(for i in 1 2 3; do printf 'wb%s=%s ' "$i" "$(ns wg show "wb$id$i" peers | wc -l)"; done)"

if [ "${DP_BENCH_KERNEL:-1}" = 1 ]; then
	DP_BINARY_DIR=$bdir bash "$top/tests/qemu/run.sh" bench | grep -E '^(bench|qemu)' || true
fi
