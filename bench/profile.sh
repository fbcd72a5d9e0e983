#!/usr/bin/env bash
# Profiles what the targets of RESULTS.md depend on, for the report: where a
# first-seen token's time goes (CPU), what, if anything, makes two cores
# wait on each other (mutex and block profiles of BenchmarkParallel at
# GOMAXPROCS 1 and 2), and what a cached token's bytes are (a heap profile
# of jwtlocal's BenchmarkCacheMemory with its cache full). run.sh calls it;
# it writes profile-*.txt here.
set -euo pipefail
cd "$(dirname "$0")"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

top() { # top <profile> <out> [pprof flags...]
	local prof="$1" out="$2"
	shift 2
	go tool pprof -top -nodecount 15 "$@" "$tmp/bench.test" "$prof" 2>/dev/null |
		sed -n '/^ *flat/,$p' > "$out"
}

go test -run '^$' -bench 'BenchmarkNewToken/stytchguard$' -benchtime 3s -o "$tmp/bench.test" \
	-cpuprofile "$tmp/newtoken.prof" . > /dev/null
# Only the requests: the fixture's minting of tokens is the emulator's work.
top "$tmp/newtoken.prof" profile-newtoken.txt -focus 'bench\.serve$'

go test -run '^$' -bench 'BenchmarkParallel/stytchguard/' -benchtime 3s -o "$tmp/bench.test" \
	-mutexprofile "$tmp/mutex.prof" -blockprofile "$tmp/block.prof" -cpuprofile "$tmp/parallel.prof" . |
	grep '^Benchmark' > profile-parallel-runs.txt
top "$tmp/mutex.prof" profile-parallel-mutex.txt
top "$tmp/block.prof" profile-parallel-block.txt
top "$tmp/parallel.prof" profile-parallel-cpu.txt -focus 'bench\.BenchmarkParallel'

# The heap a full cache of 1,000 tokens holds, allocation by allocation,
# only what verifying them allocated (not the benchmark's own tokens).
(cd ../jwtlocal && go test -run '^$' -bench 'BenchmarkCacheMemory$' -benchtime 1x -memprofilerate 1 \
	-o "$tmp/bench.test" . -args -cachememory.heapprofile "$tmp/cache.prof" > /dev/null)
top "$tmp/cache.prof" profile-cachememory.txt -sample_index=inuse_space -focus 'jwtlocal\.\(\*Verifier\)\.verify$'
