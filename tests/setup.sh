#!/usr/bin/env bash
# Install everything dstackp2pfs needs to build, test and run its demo on a
# Debian 12 machine: Debian packages through apt, and the pinned npm
# toolchain (Foundry, solcjs, OpenZeppelin) from contracts/package-lock.json.
# Safe to rerun: it installs only what is missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

SUDO=
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi

DEBS=(
	build-essential cmake pkg-config git ca-certificates
	libfuse3-dev fuse3 libcurl4-openssl-dev libcjson-dev libsecp256k1-dev
	libmnl-dev libcmocka-dev libssl-dev
	clang libclang-rt-14-dev llvm valgrind
	inotify-tools wireguard-go wireguard-tools iproute2 iputils-ping
	redis-server redis-tools python3 jq curl procps psmisc util-linux kmod
	qemu-system-x86 busybox-static cpio xz-utils gzip
)
command -v node >/dev/null 2>&1 || DEBS+=(nodejs)
command -v npm  >/dev/null 2>&1 || DEBS+=(npm)

missing=()
for p in "${DEBS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing Debian packages: ${missing[*]}"
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
	$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		--no-install-recommends "${missing[@]}" >/dev/null
	# redis-server's package starts a system instance; the tests run their own.
	$SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
else
	echo "setup: Debian packages present"
fi

cd "$top/contracts"
if [ ! -x node_modules/.bin/forge ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
	echo "setup: installing pinned npm packages (contracts/package-lock.json)"
	npm ci --no-audit --no-fund --loglevel=error
else
	echo "setup: npm packages present"
fi
for t in anvil forge cast; do
	"node_modules/.bin/$t" --version >/dev/null || { echo "setup: '$t' does not run" >&2; exit 1; }
done
echo "setup: done"
