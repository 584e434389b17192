#!/usr/bin/env bash
# End-to-end check of tests/tools/dstack-sim as a server: wire format with a
# real HTTP client (curl), concurrent clients, keep-alive, malformed and
# oversized requests, a cluster of instances of one app, clean shutdown.
# Needs a built tree: $DP_BUILD_DIR (default build/) with dstack-sim.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
sim=${DP_BUILD_DIR:-$top/build}/dstack-sim
[ -x "$sim" ] || { echo "test_dstack_sim: no $sim (build first)" >&2; exit 1; }

work=$(mktemp -d /tmp/dpsim-e2e.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "test_dstack_sim: FAIL: $*" >&2; exit 1; }

start_sim() {	# start_sim NAME ARGS...: socket $work/NAME.sock, waits for the pidfile
	local name=$1; shift
	"$sim" --socket "$work/$name.sock" --pidfile "$work/$name.pid" "$@" 2>>"$work/sim.log" &
	pids+=($!)
	for _ in $(seq 100); do [ -s "$work/$name.pid" ] && return 0; sleep 0.05; done
	fail "simulator $name did not start"
}

post() {	# post NAME METHOD BODY: prints the body, fails on a non-2xx status
	curl -sS --fail-with-body --max-time 10 --unix-socket "$work/$1.sock" \
		-H 'Content-Type: application/json' -d "$3" "http://dstack/$2"
}

raw_py='
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
s.sendall(sys.stdin.buffer.read())
data = b""
while b"\r\n\r\n" not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n")[0].decode())
'
raw() {	# raw NAME: send stdin as raw bytes, print the status line
	python3 -c "$raw_py" "$work/$1.sock"
}

start_sim a --instance-id 00000000000000000000000000000000000000a1 --app-name db
start_sim b --instance-id 00000000000000000000000000000000000000b2 --app-name db --no-version

# Wire format: /Info with tcb_info and vm_config as JSON strings.
post a Info '{}' | python3 -c '
import json, sys
i = json.load(sys.stdin)
assert i["instance_id"] == "00000000000000000000000000000000000000a1", i["instance_id"]
assert i["app_id"] == "5bb4ff9a3837357f19dc176407a5709c62eb6c56"
assert i["app_name"] == "db"
t = json.loads(i["tcb_info"]); json.loads(t["app_compose"]); json.loads(i["vm_config"])
' || fail "Info wire format"
post a Version '{}' | grep -q '"version"' || fail "Version"
[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$work/b.sock" -X POST http://dstack/Version)" = 404 ] ||
	fail "--no-version should answer 404"

# Same app, same path: the same key on every instance (the agent's rule).
ka=$(post a GetKey '{"path":"shared","purpose":"p","algorithm":"secp256k1"}')
kb=$(post b GetKey '{"path":"shared","purpose":"p"}')
[ "$ka" = "$kb" ] || fail "one app, one path, two keys"

# Concurrent clients, each checked.
for i in $(seq 24); do
	post a GetKey "{\"path\":\"p$i\",\"purpose\":\"x\"}" >"$work/k$i.json" &
done
wait_rc=0
for j in $(jobs -p); do
	case " ${pids[*]} " in *" $j "*) continue ;; esac
	wait "$j" || wait_rc=1
done
[ "$wait_rc" = 0 ] || fail "a concurrent request failed"
python3 - "$work" <<'EOF' || fail "concurrent replies"
import json, sys
keys = set()
for i in range(1, 25):
    k = json.load(open(f"{sys.argv[1]}/k{i}.json"))
    assert len(k["key"]) == 64 and len(k["signature_chain"]) == 2
    assert all(len(s) == 130 for s in k["signature_chain"])
    keys.add(k["key"])
assert len(keys) == 24
EOF

# Keep-alive: two requests on one connection.
curl -sv --unix-socket "$work/a.sock" http://dstack/Info http://dstack/Version 2>&1 >/dev/null |
	grep -q 'Re-using existing connection' || fail "keep-alive"

# An idle connection does not block others.
exec 9< <(python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(3)' "$work/a.sock")
post a Version '{}' >/dev/null || fail "blocked by an idle client"

# Malformed and oversized requests: 4xx with an error body, server still up.
[ "$(printf 'GARBAGE\r\n\r\n' | raw a)" = "HTTP/1.1 400 Bad Request" ] || fail "bad request line"
[ "$(printf 'POST /GetKey HTTP/1.1\r\nContent-Length: 10000000\r\n\r\n' | raw a)" = "HTTP/1.1 400 Bad Request" ] ||
	fail "oversized body"
[ "$(printf 'POST /GetKey HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n' | raw a)" = "HTTP/1.1 400 Bad Request" ] ||
	fail "chunked body"
[ "$(python3 -c 'import sys; sys.stdout.write("GET /Info HTTP/1.1\r\nX: " + "a" * 20000 + "\r\n\r\n")' | raw a)" = \
	"HTTP/1.1 431 Request Header Fields Too Large" ] || fail "oversized header"
[ "$(printf 'POST /GetKey HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}' | raw a)" = "HTTP/1.1 400 Bad Request" ] ||
	fail "GetKey without a JSON content type"
out=$(curl -s --unix-socket "$work/a.sock" -H 'Content-Type: application/json' -d '{"path":' http://dstack/GetKey)
echo "$out" | grep -q '"error"' || fail "malformed JSON should get an error body"
[ "$(curl -s -o /dev/null -w '%{http_code}' --unix-socket "$work/a.sock" http://dstack/Nope)" = 404 ] ||
	fail "unknown method"
post a Info '{}' >/dev/null || fail "server down after bad input"

# Clean shutdown removes the socket and the pidfile.
kill "$(cat "$work/a.pid")"
for _ in $(seq 100); do [ -e "$work/a.sock" ] || break; sleep 0.05; done
[ ! -e "$work/a.sock" ] && [ ! -e "$work/a.pid" ] || fail "files left after SIGTERM"

echo "test_dstack_sim: ok"
