#!/usr/bin/env bash
# Runs every benchmark of this module COUNT times (default 6), summarizes them
# with benchstat, and regenerates RESULTS.md with medians and the ratios
# against each peer measured in this same run.
set -euo pipefail
cd "$(dirname "$0")"
COUNT="${COUNT:-6}"
BENCHSTAT=golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

go test -run '^$' -bench . -benchmem -count "$COUNT" -timeout 90m . | tee raw.txt
go run "$BENCHSTAT" raw.txt > benchstat.txt
go run ./cmd/report -raw raw.txt -benchstat benchstat.txt -out RESULTS.md
echo "wrote $(pwd)/RESULTS.md"
