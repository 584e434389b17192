#!/usr/bin/env bash
# Deploy DstackP2PMembership to any JSON-RPC endpoint (anvil locally, a real
# chain later) and configure it.  Prints the deployed address on stdout;
# --out FILE also writes {"address","deployBlock","chainId","owner"} as JSON
# (the daemon's watcher starts scanning logs at deployBlock).
#
#   contracts/script/deploy.sh --rpc-url URL [--ttl SECONDS]
#       [--kms-root ADDRESS]... [--app-id HEX40]... [--open-enrollment CAP]
#       [--mint ADDRESS]... [--out FILE]
#
# The deployer's key comes from the environment, never the command line:
# DEPLOYER_PRIVATE_KEY (0x-prefixed hex).  The deployer becomes the owner.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
# the native binaries: the npm .bin wrappers exit 0 even on failure
bin=$here/bin

rpc= ttl=300 out= cap=
roots=() apps=() mints=()
die() { echo "deploy: $*" >&2; exit 1; }
while [ $# -gt 0 ]; do
	case $1 in
	--rpc-url) rpc=${2:?}; shift 2 ;;
	--ttl) ttl=${2:?}; shift 2 ;;
	--kms-root) roots+=("${2:?}"); shift 2 ;;
	--app-id) apps+=("${2:?}"); shift 2 ;;
	--open-enrollment) cap=${2:?}; shift 2 ;;
	--mint) mints+=("${2:?}"); shift 2 ;;
	--out) out=${2:?}; shift 2 ;;
	-h|--help) sed -n '2,13p' "$0"; exit 0 ;;
	*) die "unknown argument '$1'" ;;
	esac
done
[ -n "$rpc" ] || die "missing --rpc-url"
[ -n "${DEPLOYER_PRIVATE_KEY:-}" ] || die "DEPLOYER_PRIVATE_KEY is not set"
[[ $ttl =~ ^[1-9][0-9]{0,9}$ ]] || die "bad --ttl '$ttl'"

key=$DEPLOYER_PRIVATE_KEY
owner=$("$bin/cast" wallet address --private-key "$key")
chain=$("$bin/cast" chain-id --rpc-url "$rpc")

cd "$here"
created=$("$bin/forge" create --broadcast --json --rpc-url "$rpc" --private-key "$key" \
	src/DstackP2PMembership.sol:DstackP2PMembership --constructor-args "$owner" "$ttl")
addr=$(printf '%s' "$created" | grep -Eo '"deployedTo": *"0x[0-9a-fA-F]{40}"' | grep -Eo '0x[0-9a-fA-F]{40}')
txh=$(printf '%s' "$created" | grep -Eo '"transactionHash": *"0x[0-9a-fA-F]{64}"' | grep -Eo '0x[0-9a-fA-F]{64}')
[ -n "$addr" ] && [ -n "$txh" ] || die "forge create gave no address: $created"
block=$("$bin/cast" receipt --rpc-url "$rpc" "$txh" blockNumber)

send() { "$bin/cast" send --rpc-url "$rpc" --private-key "$key" "$addr" "$@" >/dev/null; }
for r in "${roots[@]}"; do send 'setKmsRoot(address,bool)' "$r" true; done
for a in "${apps[@]}"; do
	a=${a#0x}
	[[ $a =~ ^[0-9a-fA-F]{40}$ ]] || die "bad --app-id '$a'"
	send 'setAllowedApp(bytes20,bool)' "0x$a" true
done
[ -z "$cap" ] || send 'setOpenEnrollment(bool,uint32)' true "$cap"
for m in "${mints[@]}"; do send 'mint(address)' "$m"; done

if [ -n "$out" ]; then
	printf '{"address":"%s","deployBlock":%s,"chainId":%s,"owner":"%s"}\n' \
		"$addr" "$block" "$chain" "$owner" >"$out"
fi
echo "$addr"
