#!/usr/bin/env bash
# Runs every module's tests with the race detector: the library, the
# examples (with the browser story, which needs Chromium: on PATH, or
# $CHROMIUM), the Redis store (which needs redis-server and redis-sentinel
# on PATH: one Redis, a Cluster and a Sentinel set) and the
# conformance checks, the gin, Echo and gRPC adapters and the OpenTelemetry
# module. Any failure fails the whole run (exit status 1).
#
# It ends with one verdict line, "N passed, N failed, N skipped", where N
# counts top-level tests (Test, Example and Fuzz functions, each with its
# subtests) across all modules; a package or module that fails without a
# failed test (a build error, a panic outside a test) counts as one failed.
# The failed tests are listed by name just above it, with their first
# message (their whole output is further up); the suites that could not run
# for a missing prerequisite are named below it, loudly.
#
# BUSY=1 runs it all with every core kept busy (.ci/busy), as on a loaded
# CI machine: tests that hold only on an idle one show up.
set -uo pipefail
cd "$(dirname "$0")"
if [ "${BUSY:-}" = 1 ]; then
  BUSY= exec .ci/busy ./test.sh "$@"
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
summary="$tmp/testsummary"
go build -o "$summary" ./.ci/testsummary || exit 1
tally="$tmp/tally"
: > "$tally"
status=0
for m in . examples redisstore conformance ginguard echoguard grpcguard otelguard; do
  echo "== $m"
  (cd "$m" && go test -race -json ./...) | "$summary" -tally "$tally" -module "$m"
  codes=("${PIPESTATUS[@]}")
  if [ "${codes[0]}" -ne 0 ]; then
    status=1
    "$summary" -tally "$tally" -module "$m" -exited "${codes[0]}" </dev/null
  fi
  [ "${codes[1]}" -eq 0 ] || status=1
done
"$summary" -verdict "$tally" || status=1
exit $status
