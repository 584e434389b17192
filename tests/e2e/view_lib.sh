# view_lib.sh: drive the p2pfs-view harness (tests/tools/p2pfs-view.c), which
# mounts the real /p2p view and takes commands (publish, errno, self, quit...)
# on a FIFO, acknowledging each as "<n> ok|err ..." in an ack file.
# Source it after setting: name (for messages), view (the harness binary),
# and optionally view_flags (flags for every start_view).
# It sets tmp, mnt, view_pid, ncmd, fails, bg_pids and an EXIT trap.

tmp=$(mktemp -d "/tmp/$name.XXXXXX")
chmod 755 "$tmp"	# readable by the unprivileged users some tests run as
mnt=$tmp/mnt
view_pid= ncmd=0 fails=0
bg_pids=()

view_cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${bg_pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "$view_pid" ]; then
		kill "$view_pid" 2>/dev/null || true
		wait "$view_pid" 2>/dev/null || true
	fi
	if mountpoint -q "$mnt" 2>/dev/null; then
		fusermount3 -u "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap view_cleanup EXIT

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { echo "ok: $*"; }

start_view() {	# start_view [HARNESS FLAGS]: mount the view, wait until it serves
	mkdir -p "$mnt"
	rm -f "$tmp/ctl" "$tmp/ack"
	mkfifo "$tmp/ctl"
	: > "$tmp/ack"
	"$view" ${view_flags:-} "$@" "$mnt" "$tmp/ctl" "$tmp/ack" 2>>"$tmp/view.log" &
	view_pid=$!
	ncmd=0
	for _ in $(seq 100); do
		grep -q '^0 ok mounted' "$tmp/ack" && mountpoint -q "$mnt" && return 0
		sleep 0.05
	done
	echo "$name: the view did not mount" >&2; cat "$tmp/view.log" >&2
	exit 1
}

stop_view() {
	echo quit > "$tmp/ctl"
	wait "$view_pid" || fail "p2pfs-view exit status"
	view_pid=
	mountpoint -q "$mnt" && fail "mount still present after quit"
	return 0
}

cmd() {	# cmd TEXT: run one control command, wait for its ack; 0 if ok
	ncmd=$((ncmd + 1))
	echo "$*" > "$tmp/ctl"
	for _ in $(seq 400); do
		grep -q "^$ncmd ok " "$tmp/ack" && return 0
		grep -q "^$ncmd err " "$tmp/ack" && return 1
		sleep 0.025
	done
	echo "$name: no answer to '$*'" >&2
	exit 1
}
