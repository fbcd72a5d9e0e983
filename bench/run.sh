#!/usr/bin/env bash
# Runs every benchmark of this module COUNT times (default 6), summarizes them
# with benchstat, runs the library packages' own benchmarks the same number of
# times (the Redis store's only where redis-server is installed), and
# regenerates RESULTS.md with medians and the ratios against each peer
# measured in this same run.
set -euo pipefail
cd "$(dirname "$0")"
COUNT="${COUNT:-6}"
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

go test -run '^$' -bench . -benchmem -count "$COUNT" -timeout 90m . | tee raw.txt
go run "$BENCHSTAT" raw.txt > benchstat.txt

pkgs=()
for p in jwtlocal middleware; do
	(cd .. && go test -run '^$' -bench . -benchmem -count "$COUNT" -timeout 60m "./$p") | tee "pkg-$p.txt"
	pkgs+=(-pkg "$p=pkg-$p.txt")
done
if command -v redis-server >/dev/null; then
	(cd ../redisstore && go test -run '^$' -bench . -benchmem -count "$COUNT" -timeout 60m .) | tee pkg-redisstore.txt
	pkgs+=(-pkg "redisstore=pkg-redisstore.txt")
fi

bash profile.sh

go run ./cmd/report -raw raw.txt -benchstat benchstat.txt -out RESULTS.md -profiles . "${pkgs[@]}"
echo "wrote $(pwd)/RESULTS.md"
