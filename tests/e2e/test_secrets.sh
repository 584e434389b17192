#!/usr/bin/env bash
# test_secrets: the keys the daemon derives never leave it.
#   - the Ethereum key (GetKey dstackp2pfs/v1/eth/<instance>) and the
#     WireGuard key (GetKey dstackp2pfs/v1/wireguard/<instance>, clamped),
#     fetched from the simulated guest agent the way the daemon fetches them,
#     and the simulator's app key, appear in no file under the mount, not in
#     the daemon's debug log (-o debug: every log level and FUSE tracing),
#     not in /proc/PID/cmdline or /proc/PID/environ
#   - the daemon cannot dump core: RLIMIT_CORE is 0 (/proc/PID/limits) and
#     another user cannot read its /proc/PID/environ
#   - permissions: with allow_other another user reads peers but cannot
#     write register; a daemon mounted without allow_other gives other users
#     EACCES
# The daemon runs in WireGuard mode (so it holds both keys) with userspace
# wireguard-go, inside a network namespace of its own.
set -uo pipefail
if [ "${DPSEC_INNER:-0}" != 1 ]; then
	ns=dpsec$$
	ip netns add "$ns" || { echo "test_secrets: cannot make a netns" >&2; exit 1; }
	outer_cleanup() {
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null
		sleep 0.5
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
		ip netns del "$ns" 2>/dev/null
		rm -f /var/run/wireguard/wgs$$.sock
	}
	trap outer_cleanup EXIT INT TERM
	DPSEC_INNER=1 DPSEC_ID=$$ nsenter --net=/run/netns/"$ns" bash "$0"
	exit $?
fi

. "$(dirname "$0")/lib.sh"
E2E_QUIET=1
ip link set lo up
e2e_init
e2e_anvil
e2e_deploy
e2e_sim s 1
d=$E2E_DIR/s
iid=$(e2e_instance_id 1)
ifname=wgs$DPSEC_ID

say "daemon in WireGuard mode with debug logging, registered"
e2e_mount s "mode=wireguard,endpoint=127.0.0.1:51950,wg_if=$ifname,wg_port=51950,wg_backend=userspace,debug"
e2e_fund s
e2e_register s
e2e_wait_peers s 1
for _ in $(seq 100); do
	[ -n "$(e2e_self s wg_public_key)" ] && break
	sleep 0.1
done
[ -n "$(e2e_self s wg_public_key)" ] || fail "no wg_public_key in self (WireGuard key not derived)"
pid=$E2E_DAEMON_s

say "the keys, fetched from the agent as the daemon fetches them"
getkey() {	# getkey PATH PURPOSE: the 64 hex digits of the key, lowercase
	curl -sf --unix-socket "$d/agent.sock" -H 'Content-Type: application/json' \
		-d "{\"path\":\"$1\",\"purpose\":\"$2\",\"algorithm\":\"secp256k1\"}" \
		http://agent/GetKey | jq -r .key | sed 's/^0x//' | tr A-F a-f
}
eth=$(getkey "dstackp2pfs/v1/eth/$iid" dstackp2pfs/v1/peer)
wgraw=$(getkey "dstackp2pfs/v1/wireguard/$iid" dstackp2pfs/v1/wireguard)
[ ${#eth} = 64 ] && [ ${#wgraw} = 64 ] || fail "no keys from the agent: '$eth' '$wgraw'"
# the address the Ethereum key gives must be the daemon's: the right key
addr=$("$E2E_BIN/cast" wallet address --private-key "0x$eth")
[ "$(echo "$addr" | tr A-F a-f)" = "$(e2e_self s address | tr A-F a-f)" ] ||
	fail "derived address $addr is not the daemon's $(e2e_self s address)"
# the WireGuard private key: RFC 7748 clamping, then base64 (wg's format);
# its public key must be the one the daemon shows
read -r wgclamp wgb64 wgrawb64 <<<"$(python3 - "$wgraw" <<'PY'
import base64, sys
k = bytearray(bytes.fromhex(sys.argv[1]))
raw = base64.b64encode(bytes(k)).decode()
k[0] &= 248; k[31] &= 127; k[31] |= 64
print(k.hex(), base64.b64encode(bytes(k)).decode(), raw)
PY
)"
[ "$(echo "$wgb64" | wg pubkey)" = "$(e2e_self s wg_public_key)" ] ||
	fail "the clamped agent key does not give the daemon's WireGuard public key"
# the simulator's app key (a fixture, where it is present)
appkeys=$E2E_TOP/../shared/fixtures/dstack-simulator/appkeys.json
appkey=
[ -r "$appkeys" ] && appkey=$(jq -r .k256_key "$appkeys" | sed 's/^0x//' | tr A-F a-f)

# every spelling a leak could take: hex either case, with and without 0x, base64
needles=$E2E_DIR/needles
{
	for k in "$eth" "$wgraw" "$wgclamp"; do
		echo "$k"; echo "$k" | tr a-f A-F
	done
	echo "$wgb64"; echo "$wgrawb64"
	[ ${#appkey} = 64 ] && { echo "$appkey"; echo "$appkey" | tr a-f A-F; }
	# base64 of the Ethereum key too
	python3 -c 'import base64,sys; print(base64.b64encode(bytes.fromhex(sys.argv[1])).decode())' "$eth"
} >"$needles"
info "$(wc -l <"$needles") needles"
# exercise the daemon a little more: a leave and a register again, with logs
[ "$(e2e_write "$d/p2p/register" leave)" = OK ] || fail "leave failed"
e2e_register s
e2e_wait_peers s 1
sleep 2

say "no key under the mount"
nfiles=0
while IFS= read -r -d '' f; do
	nfiles=$((nfiles + 1))
	grep -qiF -f "$needles" "$f" && fail "a key appears in $f"
done < <(find "$d/p2p" -type f -print0)
[ "$nfiles" -ge 4 ] || fail "only $nfiles files under the mount"
# the register file read by a reader and the peers.json view too
for f in register self status peers peers.json; do
	[ -f "$d/p2p/$f" ] || continue
	cat "$d/p2p/$f" | grep -qiF -f "$needles" && fail "a key appears in $f"
done

say "no key in the debug log, argv or environment"
[ "$(wc -l <"$d/daemon.log")" -ge 20 ] || fail "debug log unexpectedly short"
grep -q "debug\|unique:" "$d/daemon.log" || fail "no debug lines in the log"
grep -aiF -f "$needles" "$d/daemon.log" && fail "a key appears in the daemon's log"
tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qiF -f "$needles" && fail "a key in /proc/$pid/cmdline"
tr '\0' '\n' <"/proc/$pid/environ" | grep -qiF -f "$needles" && fail "a key in /proc/$pid/environ"

say "no core dumps, /proc/PID closed to other users"
grep -E '^Max core file size +0 +0 ' "/proc/$pid/limits" >/dev/null ||
	fail "RLIMIT_CORE not 0: $(grep core "/proc/$pid/limits")"
setpriv --reuid=65534 --regid=65534 --clear-groups cat "/proc/$pid/environ" >/dev/null 2>&1 &&
	fail "another user read the daemon's environment"
setpriv --reuid=65534 --regid=65534 --clear-groups cat "/proc/$pid/maps" >/dev/null 2>&1 &&
	fail "another user read the daemon's memory map"

field_state() { sed -n "s/^state=//p" "$d/p2p/register"; }
say "permissions: readers through allow_other, register root-only"
chmod 711 "$E2E_DIR" "$d"	# let another user reach the mount points
mkdir -p "$E2E_DIR/p/p2p"; chmod 711 "$E2E_DIR/p"
asnobody() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
asnobody cat "$d/p2p/peers" | grep -q . || fail "with allow_other, another user cannot read peers"
asnobody bash -c "echo leave > '$d/p2p/register'" 2>/dev/null && fail "another user wrote register"
[ "$(field_state)" = registered ] || fail "a refused write changed the state"
# the same daemon without allow_other: other users are kept out of the mount
"$E2E_BUILD/dstackp2pfs" "$E2E_DIR/p/p2p" -f -o "contract=$E2E_CONTRACT,mode=tls,rpc=$E2E_RPC,agent=$d/agent.sock,poll=500ms" \
	>"$E2E_DIR/p/daemon.log" 2>&1 &
E2E_PIDS+=($!); E2E_MOUNTS+=("$E2E_DIR/p/p2p")
for _ in $(seq 100); do grep -q '^address=' "$E2E_DIR/p/p2p/self" 2>/dev/null && break; sleep 0.1; done
grep -q '^address=' "$E2E_DIR/p/p2p/self" || fail "root cannot read self without allow_other"
asnobody cat "$d/p2p/self" | grep -q '^address=' || fail "with allow_other, another user cannot read self"
r=$(asnobody cat "$E2E_DIR/p/p2p/self" 2>&1) && fail "without allow_other another user read self"
echo "$r" | grep -q "Permission denied" || fail "without allow_other: '$r', want EACCES"

say "PASS test_secrets"
