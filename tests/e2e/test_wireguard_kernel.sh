#!/usr/bin/env bash
# test_wireguard_kernel: the kernel WireGuard backend (src/wgnl.c) against a
# real kernel: tests/qemu/run.sh boots a Debian cloud kernel in QEMU (TCG)
# with the project's wg-apply in a tiny initramfs; two namespaces ping each
# other over the mesh, and on a device that already has 500 peers adding one
# sends only that peer (one message), read back from the device.
# Environment: DP_BINARY_DIR (default <top>/build), DP_QEMU_TIMEOUT.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
exec bash "$top/tests/qemu/run.sh" test
