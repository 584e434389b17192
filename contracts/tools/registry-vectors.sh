#!/usr/bin/env bash
# Print the vectors of tests/unit/test_registry.c from a real anvil running
# DstackP2PMembership: registerPeer calldata (`cast calldata`), receipt logs
# and return data of getPeers/getPeer/getPeerEndpoints/getLeader.  Two peers
# of the official simulator's app (shared/fixtures/dstack-simulator): the
# simulator's instance in TLS mode and instance 0x2222... in WireGuard mode,
# each with the derived key of contracts/README.md.  Everything but the block
# timestamps (anvil starts at a fixed time, then follows the clock) is the
# same on every run.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin=$top/contracts/bin
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
rpc=http://127.0.0.1:$port
"$bin/anvil" --host 127.0.0.1 --port "$port" --silent --timestamp 1700000000 >/dev/null 2>&1 &
apid=$!
work=$(mktemp -d)
trap 'kill $apid; rm -rf "$work"' EXIT
for _ in $(seq 1 100); do
	"$bin/cast" chain-id --rpc-url "$rpc" >/dev/null 2>&1 && break
	sleep 0.1
done
export DEPLOYER_PRIVATE_KEY=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
app_id=5bb4ff9a3837357f19dc176407a5709c62eb6c56
app_sk=0xd6e88992cdeeee35fe70b5db61ab66cdb191fb9b6ec9313757ef162dd7214d5d
s1=0x9e618603e72d01fedb82deff6daf2d62a572becf0059eec3f89c1ab40e1f2e594d2a283f843f34e8f39e4cc49a612496ce67223a12ac923f8efe330346dfc6c500
sig='registerPeer(bytes20,string,uint8,bytes32,bytes20,bytes,bytes,bytes,bytes)'
addr=$("$top/contracts/script/deploy.sh" --rpc-url "$rpc" --ttl 300 --kms-root 0xa7f6043c29f9cc1d9d6acf554c53e0c6792aaeaf --app-id $app_id --open-enrollment 10)
echo "contract $addr"
app_pub=$("$bin/cast" wallet public-key --private-key "$app_sk")
reg() { # instance endpoint net wg
	local inst=$1 sk pub comp s2
	sk=0x$(python3 -c "
import hmac,hashlib,sys
app=bytes.fromhex('${app_sk#0x}')
prk=hmac.new(b'RATLS',app,hashlib.sha256).digest()
print(hmac.new(prk,b'dstackp2pfs/v1/eth/${inst#0x}\x01',hashlib.sha256).hexdigest())")
	pub=$("$bin/cast" wallet public-key --private-key "$sk")
	comp=$(python3 -c "p=bytes.fromhex('${pub#0x}'); print('%02x'%(2+(p[63]&1))+p[:32].hex())")
	s2=$("$bin/cast" wallet sign --no-hash --private-key "$app_sk" "$("$bin/cast" keccak "dstackp2pfs/v1/peer:$comp")")
	s2=${s2:0:130}$(printf '%02x' $(( 0x${s2:130:2} - 27 )))
	local k; k=$("$bin/cast" wallet address --private-key "$sk")
	"$bin/cast" rpc --rpc-url "$rpc" anvil_setBalance "$k" 0xde0b6b3a7640000 >/dev/null
	echo "calldata $inst: $("$bin/cast" calldata "$sig" "$inst" "$2" "$3" "$4" 0x$app_id "$pub" "$app_pub" "$s2" "$s1")"
	"$bin/cast" send --rpc-url "$rpc" --private-key "$sk" --json "$addr" "$sig" "$inst" "$2" "$3" "$4" 0x$app_id "$pub" "$app_pub" "$s2" "$s1" > "$work/rcpt.json"
	python3 -c "
import json; r=json.load(open('$work/rcpt.json'))
for l in r['logs']: print('log', l['topics'], l['data'])"
	echo "key $k"
	HBSK=$sk
}
reg 0x1691ed1b47506cad7d08834668691d88246f5b1f https://1691ed1b47506cad7d08834668691d88246f5b1f-8080s.dstack-prod5.phala.network 0 0x0000000000000000000000000000000000000000000000000000000000000000
reg 0x2222222222222222222222222222222222222222 "[fd00::2]:51820" 1 0x0b1a5e1f2a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5
"$bin/cast" rpc --rpc-url "$rpc" evm_increaseTime 30 >/dev/null
"$bin/cast" send --rpc-url "$rpc" --private-key "$HBSK" --json "$addr" 'updateHeartbeat()' > "$work/hb.json"
python3 -c "
import json; r=json.load(open('$work/hb.json'))
for l in r['logs']: print('hblog', l['topics'], l['data'])"
"$bin/cast" rpc --rpc-url "$rpc" evm_mine >/dev/null
echo "getPeers $("$bin/cast" call --rpc-url "$rpc" "$addr" "$("$bin/cast" calldata 'getPeers(uint256,uint256)' 1 1000)")"
echo "getPeers calldata $("$bin/cast" calldata 'getPeers(uint256,uint256)' 1 1000)"
echo "getPeer2 $("$bin/cast" call --rpc-url "$rpc" "$addr" "$("$bin/cast" calldata 'getPeer(uint256)' 2)")"
echo "getPeer9 $("$bin/cast" call --rpc-url "$rpc" "$addr" "$("$bin/cast" calldata 'getPeer(uint256)' 9)")"
echo "endpoints $("$bin/cast" call --rpc-url "$rpc" "$addr" "$("$bin/cast" calldata 'getPeerEndpoints()')")"
echo "leader $("$bin/cast" call --rpc-url "$rpc" "$addr" "$("$bin/cast" calldata 'getLeader()')")"
