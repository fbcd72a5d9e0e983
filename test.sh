#!/usr/bin/env bash
# Runs every module's tests with the race detector: the library, the
# examples (with the browser story, which needs Chromium: on PATH, or
# $CHROMIUM), the Redis store (which needs redis-server and redis-sentinel
# on PATH: one Redis, a Cluster and a Sentinel set) and the
# conformance checks, the gin, Echo and gRPC adapters and the OpenTelemetry
# module. A suite that could not run for a missing prerequisite is named at
# the end, loudly; any failure fails the whole run.
set -uo pipefail
cd "$(dirname "$0")"
summary="go run ./.ci/testsummary"
go build -o /dev/null ./.ci/testsummary || exit 1
status=0
for m in . examples redisstore conformance ginguard echoguard grpcguard otelguard; do
  echo "== $m"
  (cd "$m" && go test -race -json ./...) | $summary || status=1
done
exit $status
