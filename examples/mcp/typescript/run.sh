#!/usr/bin/env bash
# Drives the built examples/mcp, against the built standalone emulator, with
# the MCP TypeScript SDK's own OAuth client: discovery from the 401,
# registration, consent (a browser with the demo person's session cookie),
# token, tool calls, step-up. Needs Node.js and npm; .ci/run runs it, and
# any failure (the agent's included) fails it. The SDK's version is pinned
# in package-lock.json (npm ci).
#   bash examples/mcp/typescript/run.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
tmp=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"' EXIT
(cd "$root" && go build -o "$tmp/stytch-emulator" ./cmd/stytch-emulator)
(cd "$root/examples" && go build -o "$tmp/mcp" ./mcp)
(cd "$here" && npm ci --silent --no-audit --no-fund >/dev/null)
"$tmp/stytch-emulator" -addr 127.0.0.1:0 -dcr -authorization-url http://127.0.0.1:8093/oauth/authorize >"$tmp/emu.out" &
for _ in $(seq 300); do grep -q '^export STYTCH' "$tmp/emu.out" 2>/dev/null && break; sleep 0.1; done
eval "$(grep '^export' "$tmp/emu.out")"
STYTCH_DOMAIN=$STYTCH_BASE_URL "$tmp/mcp" -addr 127.0.0.1:8093 >"$tmp/mcp.out" &
for _ in $(seq 300); do grep -q '^listening' "$tmp/mcp.out" 2>/dev/null && break; sleep 0.1; done
node "$here/agent.mjs" http://127.0.0.1:8093/mcp "stytch_session=$DEMO_SESSION_TOKEN"
