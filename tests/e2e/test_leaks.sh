#!/usr/bin/env bash
# test_leaks: the whole daemon under AddressSanitizer, LeakSanitizer and
# UBSan across churn with RPC faults:
#   - three daemons built with -DDP_ASAN=ON -DDP_UBSAN=ON (in DP_ASAN_BUILD,
#     default build-asan, built here if missing), run in the foreground, each
#     with a dead JSON-RPC URL first in its list
#   - joins, a leave and a join again, reads of every file, anvil stopped
#     with SIGSTOP for 4 s (requests time out) and continued
#   - SIGTERM: each daemon exits 0 and its stderr holds no ASan, LSan or
#     UBSan report
set -uo pipefail
. "$(dirname "$0")/lib.sh"
E2E_QUIET=1
E2E_TOP=$(cd "$(dirname "$0")/../.." && pwd)
E2E_BUILD=${DP_ASAN_BUILD:-$E2E_TOP/build-asan}
if [ ! -x "$E2E_BUILD/dstackp2pfs" ] || [ ! -x "$E2E_BUILD/dstack-sim" ]; then
	echo "   building the sanitizer daemon in $E2E_BUILD"
	cmake -S "$E2E_TOP" -B "$E2E_BUILD" -DDP_ASAN=ON -DDP_UBSAN=ON -DDP_WERROR=ON >/dev/null &&
		cmake --build "$E2E_BUILD" -j2 --target dstackp2pfs dstack-sim >/dev/null ||
		fail "sanitizer build failed"
fi
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=23
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=0
export LSAN_OPTIONS=exitcode=23
E2E_POLL=300ms
e2e_init

say "setup: anvil, registry, three sanitizer daemons (dead RPC URL first)"
e2e_anvil
e2e_deploy 600
real_rpc=$E2E_RPC
dead_rpc=http://127.0.0.1:$(e2e_free_port)
for i in 1 2 3; do
	e2e_sim "n$i" "$i"
	E2E_RPC="$dead_rpc|$real_rpc" e2e_mount "n$i" "heartbeat=2s,rpc_timeout=1s"
	e2e_fund "n$i"
done
readall() { local i; for i in 1 2 3; do cat "$E2E_DIR/n$i/p2p/"* >/dev/null 2>&1; done; return 0; }

say "churn: joins, a leave, a join again"
for i in 1 2 3; do e2e_register "n$i"; readall; done
for i in 1 2 3; do e2e_wait_peers "n$i" 3 60; done
[ "$(e2e_write "$E2E_DIR/n2/p2p/register" leave)" = OK ] || fail "leave failed"
for i in 1 3; do e2e_wait_peers "n$i" 2 60; done
readall
e2e_register n2
for i in 1 2 3; do e2e_wait_peers "n$i" 3 60; done

say "RPC fault: anvil stopped for 4 s"
kill -STOP "$E2E_ANVIL_PID"
for _ in $(seq 8); do readall; sleep 0.5; done
kill -CONT "$E2E_ANVIL_PID"
for _ in $(seq 150); do
	[ "$(sed -n 's/^stale=//p' "$E2E_DIR/n1/p2p/status")" = 0 ] && break
	sleep 0.1
done
[ "$(sed -n 's/^stale=//p' "$E2E_DIR/n1/p2p/status")" = 0 ] || fail "n1 still stale after the fault"
readall
sleep 3	# a few heartbeats after the fault

say "SIGTERM: clean exit, no sanitizer report"
for i in 1 2 3; do
	pidvar=E2E_DAEMON_n$i
	pid=${!pidvar}
	kill "$pid"
	wait "$pid"
	rc=$?
	[ "$rc" = 0 ] || fail "n$i exited $rc (23: a leak report)"
done
for i in 1 2 3; do
	log=$E2E_DIR/n$i/daemon.log
	grep -q "registrar: registered" "$log" || fail "n$i: log lacks its registration (wrong log?)"
	if grep -nE "ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:|SUMMARY: (Address|Leak|UndefinedBehavior)Sanitizer" "$log"; then
		fail "n$i: sanitizer report in its stderr"
	fi
done

say "PASS test_leaks"
