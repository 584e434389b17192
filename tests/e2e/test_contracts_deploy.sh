#!/usr/bin/env bash
# contracts/script/deploy.sh against a real anvil on loopback, then the
# simulator's derived key registers (with the official simulator's app key
# and KMS signature), heartbeats and is listed; the gas targets of issue #4
# are checked on real receipts, and a replayed (app key, S1) pair with a
# self-signed S2 is refused by the chain.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
# the native binaries: the npm .bin wrappers exit 0 even on failure
bin=$top/contracts/bin
work=$(mktemp -d)
anvil_pid=
cleanup() {
	[ -z "$anvil_pid" ] || kill "$anvil_pid" 2>/dev/null || true
	[ -z "$anvil_pid" ] || wait "$anvil_pid" 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "test_contracts_deploy: FAIL: $*" >&2; exit 1; }

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rpc=http://127.0.0.1:$port
"$bin/anvil" --host 127.0.0.1 --port "$port" --silent >"$work/anvil.log" 2>&1 &
anvil_pid=$!
for _ in $(seq 1 100); do
	"$bin/cast" chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break
	sleep 0.1
done
"$bin/cast" chain-id --rpc-url "$rpc" >/dev/null || fail "anvil did not start"

# anvil's well-known first dev account (public test mnemonic)
export DEPLOYER_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
# fixtures: shared/fixtures/dstack-simulator (official simulator)
kms_root=0xa7f6043c29f9cc1d9d6acf554c53e0c6792aaeaf
app_id=5bb4ff9a3837357f19dc176407a5709c62eb6c56
app_sk=0xd6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d5d
s1=0x9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e594d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8efe330346dfc6c500
instance=0x1691ed1b47506cad7d08834668691d88246f5b1f
# derived key for dstackp2pfs/v1/eth/<instance> (vector in contracts/README.md)
derived_sk=0x582acc3f56b9df907f140f6f7888e6b89f73ac4ce2932cb2cd357e27b6c1365d
derived_compressed=035cdeb98cd1a555e2d9ff8385485847e04ca4950763a31cc09f390cc77961a096

addr=$("$top/contracts/script/deploy.sh" --rpc-url "$rpc" --ttl 120 \
	--kms-root "$kms_root" --app-id "$app_id" --out "$work/deploy.json" \
	--mint 0x54C1622bf7e10c9B51C2bc3eFE5d9EC008eD1f8F)
grep -q "\"address\":\"$addr\"" "$work/deploy.json" || fail "deploy.json lacks the address"
grep -Eq '"deployBlock":[0-9]+' "$work/deploy.json" || fail "deploy.json lacks the block"

derived_pub=$("$bin/cast" wallet public-key --private-key "$derived_sk")
app_pub=$("$bin/cast" wallet public-key --private-key "$app_sk")
key=$("$bin/cast" wallet address --private-key "$derived_sk")
"$bin/cast" rpc --rpc-url "$rpc" anvil_setBalance "$key" 0xde0b6b3a7640000 >/dev/null
digest=$("$bin/cast" keccak "dstackp2pfs/v1/peer:$derived_compressed")
s2=$("$bin/cast" wallet sign --no-hash --private-key "$app_sk" "$digest")

sig='registerPeer(bytes20,string,uint8,bytes32,bytes20,bytes,bytes,bytes,bytes)'
endpoint=https://1691ed1b47506cad7d08834668691d88246f5b1f-8080s.dstack-prod5.phala.network
gas=$("$bin/cast" send --rpc-url "$rpc" --private-key "$derived_sk" --json "$addr" "$sig" \
	"$instance" "$endpoint" 0 0x0000000000000000000000000000000000000000000000000000000000000000 \
	"0x$app_id" "$derived_pub" "$app_pub" "$s2" "$s1" | grep -Eo '"gasUsed":"0x[0-9a-f]+"' | grep -Eo '0x[0-9a-f]+')
gas=$((gas))
echo "registerPeer (tls, 83-byte endpoint): $gas gas"
[ "$gas" -le 200000 ] || fail "registerPeer used $gas gas (> 200000)"

# a heartbeat a while later (a real change of the stored time)
"$bin/cast" rpc --rpc-url "$rpc" evm_increaseTime 30 >/dev/null
hb=$("$bin/cast" send --rpc-url "$rpc" --private-key "$derived_sk" --json "$addr" 'updateHeartbeat()' |
	grep -Eo '"gasUsed":"0x[0-9a-f]+"' | grep -Eo '0x[0-9a-f]+')
hb=$((hb))
echo "updateHeartbeat: $hb gas"
[ "$hb" -le 30000 ] || fail "updateHeartbeat used $hb gas (> 30000)"

eps=$("$bin/cast" call --rpc-url "$rpc" "$addr" 'getPeerEndpoints()(string[])')
[ "$eps" = "[\"$endpoint\"]" ] || fail "getPeerEndpoints gave '$eps'"
[ "$("$bin/cast" call --rpc-url "$rpc" "$addr" 'getLeader()(uint256)')" = 1 ] || fail "leader is not token 1"

# The replay: a self-made key and "app" key, the real (app key, S1) pair.
evil_sk=0x$(printf 'evil derived' | sha256sum | cut -c1-64)
evil_app_sk=0x$(printf 'evil app' | sha256sum | cut -c1-64)
evil=$("$bin/cast" wallet address --private-key "$evil_sk")
"$bin/cast" rpc --rpc-url "$rpc" anvil_setBalance "$evil" 0xde0b6b3a7640000 >/dev/null
"$bin/cast" send --rpc-url "$rpc" --private-key "$DEPLOYER_PRIVATE_KEY" "$addr" 'mint(address)' "$evil" >/dev/null
evil_pub=$("$bin/cast" wallet public-key --private-key "$evil_sk")
evil_hex=$(python3 - "$evil_pub" <<'PY'
import sys
p = bytes.fromhex(sys.argv[1][2:])
print("%02x" % (2 + (p[63] & 1)) + p[:32].hex())
PY
)
evil_s2=$("$bin/cast" wallet sign --no-hash --private-key "$evil_app_sk" \
	"$("$bin/cast" keccak "dstackp2pfs/v1/peer:$evil_hex")")
if "$bin/cast" send --rpc-url "$rpc" --private-key "$evil_sk" "$addr" "$sig" \
	0x00000000000000000000000000000000000000ee https://evil.example 0 \
	0x0000000000000000000000000000000000000000000000000000000000000000 \
	"0x$app_id" "$evil_pub" "$app_pub" "$evil_s2" "$s1" >"$work/evil.log" 2>&1; then
	fail "the replayed (app key, S1) pair registered a self-made key"
fi
grep -q "AppKeyMismatch" "$work/evil.log" || fail "replay refused for another reason: $(cat "$work/evil.log")"
echo "test_contracts_deploy: ok"
