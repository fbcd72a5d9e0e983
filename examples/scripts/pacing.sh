#!/usr/bin/env bash
# Pacing from outside: the built nethttp example against the standalone
# emulator, with an endpoint (rbac.policy, sessions.jwks) failing from before
# the app starts; 8 s of /readyz probes and guarded requests (wrk), then the
# calls that reached the emulator and the app's log lines about it.
# Usage: pacing.sh <stytch-emulator binary> <nethttp binary> <endpoint> <status> [retry_after_ms]
set -u
EMU=$1 APP=$2 EP=$3 STATUS=$4 RA=${5:-0}
EPORT=$((20000 + RANDOM % 5000)) APORT=$((25000 + RANDOM % 5000))
dir=$(mktemp -d)
$EMU -addr 127.0.0.1:$EPORT -project-id project-test-pacing -secret secret-pacing -rate-limit 0 > $dir/emu.log 2>&1 &
epid=$!
for i in $(seq 50); do curl -sf -o /dev/null -u project-test-pacing:secret-pacing http://127.0.0.1:$EPORT/_emulator/clock && break; sleep 0.1; done
admin() { curl -s -u project-test-pacing:secret-pacing -H 'Content-Type: application/json' "$@"; }
uid=$(admin -X POST -d '{"email":"ed@example.com","roles":["editor"]}' http://127.0.0.1:$EPORT/_emulator/users | sed -E 's/.*"user_id":"([^"]+)".*/\1/')
jwt=$(admin -X POST -d "{\"user_id\":\"$uid\"}" http://127.0.0.1:$EPORT/_emulator/sessions | sed -E 's/.*"session_jwt":"([^"]+)".*/\1/')
admin -X POST -d "{\"endpoint\":\"$EP\",\"status\":$STATUS,\"retry_after_ms\":$RA}" http://127.0.0.1:$EPORT/_emulator/faults >/dev/null
STYTCH_PROJECT_ID=project-test-pacing STYTCH_SECRET=secret-pacing STYTCH_BASE_URL=http://127.0.0.1:$EPORT $APP -addr 127.0.0.1:$APORT > $dir/app.log 2>&1 &
apid=$!
for i in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:$APORT/livez && break; sleep 0.1; done
before=$(admin http://127.0.0.1:$EPORT/_emulator/calls)
lines0=$(wc -l < $dir/app.log)
cat > $dir/cookie.lua <<LUA
wrk.headers["Cookie"] = "stytch_session_jwt=$jwt"
LUA
wrk -t2 -c4 -d8s http://127.0.0.1:$APORT/readyz > $dir/wrk1.txt 2>&1 &
w1=$!
wrk -t2 -c4 -d8s -s $dir/cookie.lua http://127.0.0.1:$APORT/api/documents > $dir/wrk2.txt 2>&1
wait $w1
after=$(admin http://127.0.0.1:$EPORT/_emulator/calls)
key=$EP
n0=$(echo "$before" | grep -o "\"$key\":[0-9]*" | cut -d: -f2); n1=$(echo "$after" | grep -o "\"$key\":[0-9]*" | cut -d: -f2)
auth1=$(echo "$after" | grep -o "\"sessions.authenticate\":[0-9]*" | cut -d: -f2)
lines=$(tail -n +$((lines0+1)) $dir/app.log | grep -ci -E "policy|jwks")
echo "$EP $STATUS RA=${RA}ms: $key calls during the 8 s: $(( ${n1:-0} - ${n0:-0} )) (from start: ${n1:-0}); authenticate calls: ${auth1:-0}; log lines about it: $lines; readyz reqs: $(grep -o '[0-9]* requests' $dir/wrk1.txt); documents reqs: $(grep -o '[0-9]* requests' $dir/wrk2.txt); statuses: $(grep -o 'Non-2xx.*' $dir/wrk2.txt)"
kill $apid $epid 2>/dev/null; wait 2>/dev/null
[ -n "${KEEP:-}" ] && echo "logs in $dir" || rm -rf $dir
