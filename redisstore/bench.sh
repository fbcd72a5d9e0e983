#!/usr/bin/env bash
# Compares the cached-JWT request path with the in-memory revocation list and
# with the Redis store, each sub-benchmark in its own process and the two
# interleaved (in one process the later sub-benchmark is slower whichever it
# is), then measures propagation and start-up. Needs redis-server on PATH.
set -euo pipefail
cd "$(dirname "$0")"
runs=${RUNS:-6}
bin=$(mktemp)
trap 'rm -f "$bin"' EXIT
go test -c -o "$bin" .
for _ in $(seq "$runs"); do
  for v in 'memory$' 'redis$'; do
    "$bin" -test.run '^$' -test.bench "Middleware/cached-jwt/$v" | grep '^Benchmark'
  done
done | awk '{ns[$1] = ns[$1] " " $3} END {for (k in ns) print k, ns[k]}' |
  while read -r name values; do
    median=$(printf '%s\n' $values | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')
    echo "$name median ${median} ns/op of: $values"
  done
"$bin" -test.run '^$' -test.bench 'Propagation' -test.benchtime 1000x -test.count 3 | grep '^Benchmark'
"$bin" -test.run '^$' -test.bench 'StartupLoad' -test.count 3 | grep '^Benchmark'
