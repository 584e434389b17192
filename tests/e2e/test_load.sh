#!/usr/bin/env bash
# test_load: many concurrent readers of one daemon's peers file under steady
# membership churn.
#   - 8 reader processes open/read/close peers in a loop and record every
#     distinct content they see; 3 watchers (inotifywait -m) re-read the
#     file after each event
#   - three other instances join and leave in a fixed cycle, one operation
#     at a time (each register/leave write returns once its transaction is
#     mined), so the membership states the chain went through are known,
#     in order
#   - at the end: no torn read (every content is empty or whole lines, each
#     a valid endpoint, ending in a newline, no duplicates); every content a
#     reader saw is one of the states the chain went through; every
#     watcher's last read is the final set
# DP_LOAD_SECONDS sets the churn time (default 60; e.g. 300 for a few
# minutes).
set -uo pipefail
. "$(dirname "$0")/lib.sh"
E2E_QUIET=1
E2E_BLOCK_TIME=0
LOAD=${DP_LOAD_SECONDS:-60}
e2e_init

say "setup: anvil, registry, an observer and three churning instances"
e2e_anvil
e2e_deploy 3600
e2e_sim o 9
e2e_mount o
for i in 1 2 3; do
	e2e_sim "n$i" "$i"
	e2e_mount "n$i" heartbeat=5s
	e2e_fund "n$i"
done
peers=$E2E_DIR/o/p2p/peers
allowed=$E2E_DIR/allowed	# one state per line: sorted endpoints joined by ' '
declare -A member=()
record_state() {
	local i s=
	for i in 1 2 3; do [ -n "${member[$i]:-}" ] && s+="$(e2e_endpoint "$i") "; done
	echo "$s" | tr ' ' '\n' | grep . | sort | tr '\n' ' ' >>"$allowed"
	echo >>"$allowed"
}
record_state	# the empty set

say "readers and watchers start"
stop=$E2E_DIR/stop
READERS=()
for r in $(seq 8); do
	python3 - "$peers" "$stop" "$E2E_DIR/reader$r.json" <<'PY' &
import json, os, sys
path, stop, out = sys.argv[1:]
seen, n = set(), 0
while not os.path.exists(stop):
    with open(path, "rb") as f:
        seen.add(f.read().decode("latin-1"))
    n += 1
json.dump({"reads": n, "seen": sorted(seen)}, open(out, "w"))
PY
	READERS+=($!); E2E_PIDS+=($!)
done
for w in 1 2 3; do	# each watcher: inotifywait into a fifo, a loop re-reading
	mkfifo "$E2E_DIR/watch$w.fifo"
	inotifywait -m -q -e close_write --format '%e' "$peers" >"$E2E_DIR/watch$w.fifo" 2>/dev/null &
	E2E_PIDS+=($!)
	while read -r _; do
		cat "$peers" >"$E2E_DIR/watch$w.tmp" && mv "$E2E_DIR/watch$w.tmp" "$E2E_DIR/watch$w.last"
		echo x >>"$E2E_DIR/watch$w.count"
	done <"$E2E_DIR/watch$w.fifo" &
	E2E_PIDS+=($!)
done
sleep 1

say "churn for ${LOAD}s"
end=$((SECONDS + LOAD))
ops=0
cycle=(r1 r2 r3 l1 l2 r1 l3 r2 r3 l2 l1 l3)
while [ $SECONDS -lt "$end" ]; do
	for op in "${cycle[@]}"; do
		i=${op#?}
		if [ "${op%?}" = r ]; then
			e2e_register "n$i"
			member[$i]=1
		else
			[ "$(e2e_write "$E2E_DIR/n$i/p2p/register" leave)" = OK ] || fail "n$i leave failed"
			unset "member[$i]"
		fi
		record_state
		ops=$((ops + 1))
		sleep 0.$((RANDOM % 10))
		[ $SECONDS -lt "$end" ] || break
	done
done
final=$(tail -1 "$allowed")
nfinal=$(echo "$final" | wc -w)
e2e_wait_peers o "$nfinal" 30
sleep 3	# every watcher has had its last event
touch "$stop"
for p in "${READERS[@]}"; do wait "$p" || fail "a reader failed"; done

say "checks: $ops operations"
python3 - "$allowed" "$final" "$E2E_DIR"/reader*.json <<'PY' || fail "reader check failed"
import json, re, sys
allowed = {tuple(sorted(l.split())) for l in open(sys.argv[1]).read().split("\n")}
ep = re.compile(r"^https://[0-9a-f]{40}-80\.p2p\.dstack\.test$")
total, distinct = 0, set()
for f in sys.argv[3:]:
    d = json.load(open(f))
    total += d["reads"]
    if d["reads"] < 50:
        sys.exit(f"{f}: only {d['reads']} reads")
    for c in d["seen"]:
        distinct.add(c)
        if c and not c.endswith("\n"):
            sys.exit(f"torn read (no final newline): {c!r}")
        lines = c.split("\n")[:-1] if c else []
        for l in lines:
            if not ep.match(l):
                sys.exit(f"torn read (bad line {l!r}): {c!r}")
        if len(set(lines)) != len(lines):
            sys.exit(f"duplicate lines: {c!r}")
        if tuple(sorted(lines)) not in allowed:
            sys.exit(f"a set the chain never had: {c!r}")
print(f"   {total} reads, {len(distinct)} distinct contents, {len(allowed)} legal states")
if len(distinct) < 3:
    sys.exit("readers saw fewer than 3 states: no churn observed")
PY
want=$(echo "$final" | tr ' ' '\n' | grep . | sort)
for w in 1 2 3; do
	[ -f "$E2E_DIR/watch$w.last" ] || fail "watcher $w saw no event"
	got=$(sort "$E2E_DIR/watch$w.last")
	[ "$got" = "$want" ] || fail "watcher $w ended on '$got', want '$want'"
	info "watcher $w: $(wc -l <"$E2E_DIR/watch$w.count") events"
done
[ "$(sort "$peers")" = "$want" ] || fail "final peers '$(cat "$peers")', want '$want'"

say "PASS test_load"
