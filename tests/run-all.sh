#!/usr/bin/env bash
# Set up, build and run every dstackp2pfs test suite:
#   1. the contracts' forge tests (this also compiles contracts/out/)
#   2. cmocka unit tests (ctest), warnings as errors
#   3. end-to-end scripts in tests/e2e/ (real anvil, FUSE, inotify, ...)
#   4. every libFuzzer target, built with ASan+UBSan, run briefly on its corpus
# Prints each runner's closing line and a final "N passed, N failed" line.
# Environment: DP_FUZZ_SECONDS (default 5) per fuzz target; DP_SKIP_SETUP=1.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "${DP_SKIP_SETUP:-0}" != 1 ]; then
	bash tests/setup.sh || { echo "run-all: setup failed" >&2; exit 1; }
fi

jobs=$(nproc 2>/dev/null || echo 2)
passed=0 failed=0 failures=()
suite() {	# suite NAME CMD...: run one suite, count it
	local name=$1; shift
	echo
	echo "=== $name"
	if "$@"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1)); failures+=("$name")
	fi
}

build() {
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DDP_WERROR=ON >/dev/null &&
	cmake --build build -j "$jobs"
}
unit() {
	(cd build && ctest --output-on-failure -j "$jobs")
}
forge_tests() {
	# contracts/bin/: the native binaries (the npm .bin wrappers exit 0 on failure)
	(cd contracts && ./bin/forge test)
}
e2e() {
	local rc=0 t
	for t in tests/e2e/test_*.sh; do
		[ -e "$t" ] || continue
		suite "e2e $(basename "$t" .sh)" bash "$t"
	done
	return $rc
}
fuzz() {
	local secs=${DP_FUZZ_SECONDS:-5} f name corpus rc=0
	CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DDP_FUZZ=ON -DDP_ASAN=ON -DDP_UBSAN=ON -DDP_WERROR=ON >/dev/null &&
	cmake --build build-fuzz -j "$jobs" || return 1
	for f in build-fuzz/fuzz_*; do
		[ -x "$f" ] || continue
		name=$(basename "$f")
		corpus=tests/fuzz/corpus/${name#fuzz_}
		work=$(mktemp -d)
		[ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
		if "$f" -max_total_time="$secs" -max_len=65536 "$work" \
			>"$work.log" 2>&1; then
			echo "fuzz $name: $(grep -E '^Done [0-9]+ runs' "$work.log" | tail -1)"
		else
			echo "fuzz $name: FAILED"; tail -40 "$work.log"; rc=1
		fi
		rm -rf "$work" "$work.log"
	done
	return $rc
}

suite build build
if [ "$failed" -ne 0 ]; then
	echo "suites: 0 passed, 1 failed"
	exit 1
fi
# forge first: it compiles contracts/out/, which unit tests check the C
# binding's selectors against and the end-to-end tests deploy.
suite "contracts (forge test)" forge_tests
suite "unit (ctest)" unit
e2e
suite "fuzz (libFuzzer, ASan+UBSan)" fuzz

echo
for f in "${failures[@]}"; do echo "FAILED: $f"; done
echo "suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
