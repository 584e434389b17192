#!/usr/bin/env bash
# tests/qemu/run.sh [test|bench]: boot a Debian cloud kernel in QEMU (TCG,
# always under timeout) with a tiny initramfs carrying busybox, iproute2, wg
# and the project's tests/tools/wg-apply (the kernel netlink backend), run
# tests/qemu/init in it, and grep the serial log for its result marker.
#
# The kernel package is fetched with `apt-get download` (Debian's registry)
# into $DP_QEMU_CACHE (default /var/cache/dstackp2pfs-qemu) when missing; it
# is never installed.  Needs qemu-system-x86, busybox-static, wireguard-tools,
# iproute2, kmod, cpio (tests/setup.sh installs them).
# Environment: DP_BINARY_DIR (default <top>/build), DP_QEMU_TIMEOUT (s, 300).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
mode=${1:-test}
bin=${DP_BINARY_DIR:-$top/build}/wg-apply
cache=${DP_QEMU_CACHE:-/var/cache/dstackp2pfs-qemu}
[ -x "$bin" ] || { echo "qemu: no '$bin' (build first)" >&2; exit 1; }
for t in qemu-system-x86_64 cpio depmod ldd /usr/sbin/ip /usr/bin/wg; do
	command -v "$t" >/dev/null || { echo "qemu: '$t' missing (run tests/setup.sh)" >&2; exit 1; }
done
busybox=/bin/busybox
file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
	ldd "$busybox" 2>&1 | grep -q 'not a dynamic' ||
	{ echo "qemu: $busybox is not static (install busybox-static)" >&2; exit 1; }

# --- the kernel: current linux-image-*-cloud-amd64, downloaded once
mkdir -p "$cache"
kpkg() { apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}'; }
pkg=$(kpkg)
if [ -z "$pkg" ] && ! ls "$cache"/linux-image-*-cloud-amd64_*.deb >/dev/null 2>&1; then
	apt-get update -qq >/dev/null 2>&1 || true	# no package lists yet
	pkg=$(kpkg)
fi
if [ -z "$pkg" ]; then
	deb=$(ls "$cache"/linux-image-*-cloud-amd64_*.deb 2>/dev/null | tail -1)
else
	deb=$(ls "$cache"/"$pkg"_*.deb 2>/dev/null | tail -1)
	if [ -z "$deb" ]; then
		(cd "$cache" && apt-get download "$pkg" >/dev/null 2>&1) ||
			{ echo "qemu: cannot download '$pkg'" >&2; exit 1; }
		deb=$(ls "$cache"/"$pkg"_*.deb | tail -1)
	fi
fi
[ -n "$deb" ] || { echo "qemu: no kernel package in '$cache'" >&2; exit 1; }
kx=$cache/extract-$(basename "$deb" .deb)
if [ ! -d "$kx/lib/modules" ]; then
	rm -rf "$kx"; mkdir -p "$kx"
	dpkg-deb -x "$deb" "$kx"
fi
kver=$(ls "$kx/lib/modules" | head -1)
vmlinuz=$kx/boot/vmlinuz-$kver

# --- the initramfs
work=$(mktemp -d /tmp/dpwg-qemu.XXXXXX)
trap 'rm -rf "$work"' EXIT INT TERM
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,tmp,run,modules,etc}
cp "$busybox" "$root/bin/busybox"
for a in $("$busybox" --list); do
	[ -e "$root/bin/$a" ] || ln -s busybox "$root/bin/$a"
done
copy_with_libs() {	# copy_with_libs FILE DEST: the binary and what ldd lists
	cp "$1" "$root$2"
	ldd "$1" | grep -o '/[^ ]*' | while read -r lib; do
		mkdir -p "$root$(dirname "$lib")"
		[ -e "$root$lib" ] || cp -L "$lib" "$root$lib"
	done
}
copy_with_libs "$bin" /usr/bin/wg-apply
copy_with_libs /usr/sbin/ip /usr/sbin/ip
copy_with_libs /usr/bin/wg /usr/bin/wg
for m in udp_tunnel ip6_udp_tunnel libchacha libcurve25519-generic curve25519-x86_64 \
	 poly1305-x86_64 chacha-x86_64 libchacha20poly1305 wireguard veth; do
	f=$(find "$kx/lib/modules/$kver" -name "$m.ko*" | head -1)
	[ -n "$f" ] || continue
	case $f in
	*.xz) xz -dc "$f" >"$root/modules/$m.ko" ;;
	*.zst) zstd -dc "$f" >"$root/modules/$m.ko" ;;
	*) cp "$f" "$root/modules/$m.ko" ;;
	esac
done
cp "$top/tests/qemu/init" "$root/init"
chmod 755 "$root/init"
[ -f "$top/tests/qemu/bench.sh" ] && cp "$top/tests/qemu/bench.sh" "$root/bench.sh"
# 500 + 1 random peers, and 1,000 + 1 for the benchmark (wg-apply's peer
# file and the same keys as wg(8) config)
gen=$top/tests/qemu/genpeers.py
python3 "$gen" 501 3 10.77 "$work/all" "$work/all.conf"
head -500 "$work/all" >"$root/peers500"
tail -1 "$work/all" >"$root/peer501"
python3 "$gen" 1001 3 10.78 "$work/b" "$work/b.conf"
head -1000 "$work/b" >"$root/peers1000"
cp "$work/b" "$root/peers1001"
# the config's first 1,000 [Peer] sections (6 lines each), the last one apart
# a private key too, as wg-apply's device has one (the kernel then works on
# every peer it is handed, as for wg-apply's device)
sk64=$(python3 -c 'import base64; print(base64.b64encode(bytes([3] * 32)).decode())')
{ printf '[Interface]\nPrivateKey = %s\nListenPort = 51901\n\n' "$sk64"; head -6000 "$work/b.conf"; } >"$root/conf1000"
tail -6 "$work/b.conf" >"$root/conf1"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$work/initrd.gz"

# --- boot
log=$work/serial.log
timeout "${DP_QEMU_TIMEOUT:-300}" qemu-system-x86_64 -accel tcg -m 512 -smp 1 -nographic \
	-no-reboot -kernel "$vmlinuz" -initrd "$work/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet dpwg.mode=$mode" >"$log" 2>&1 || true
# kernel messages may share a line with ours: match anywhere, print from the match
grep -aoE '(ok: |FAIL|apply backend|read back|bench |DPWG-RESULT).*' "$log" || true
if grep -aq 'DPWG-RESULT: PASS' "$log"; then
	echo "qemu $mode: PASS (kernel $kver)"
	exit 0
fi
echo "qemu $mode: FAIL (kernel $kver); serial log tail:" >&2
tail -40 "$log" >&2
exit 1
