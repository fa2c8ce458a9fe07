#!/usr/bin/env bash
# The test command (`npm test`): unit, workflow (time-skipping server) and integration tests
# (Temporal CLI dev server + Samba AD DC + simulators), in one node:test run.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup.sh

# Tests get their own state: a fresh DC and a fresh Temporal database per run, provisioned once
# and shared by every test file (files run one at a time: some stop and start the DC).
export TUNNUS_STATE_DIR="${TUNNUS_TEST_STATE_DIR:-$PWD/.state/test}"
export TUNNUS_TEST_TEMPORAL_PORT="${TUNNUS_TEST_TEMPORAL_PORT:-17233}"
# Parallel runs: give each its own TUNNUS_TEST_STATE_DIR, TUNNUS_DC_HOST (127.0.0.x) and port.

stop_services() {
  npx tsx sandbox/down.ts --quiet || true
}
# The sandbox's DC (npm start) listens on the same LDAPS port: stop it for the run.
TUNNUS_STATE_DIR="$PWD/.state" npx tsx sandbox/samba-cli.ts down >/dev/null 2>&1 || true
stop_services
rm -rf "$TUNNUS_STATE_DIR/samba" "$TUNNUS_STATE_DIR/temporal"
trap stop_services EXIT

npx tsx sandbox/samba-cli.ts up

# `npm test -- test/integration/x.test.ts` runs only the files given.
if [ "$#" -gt 0 ]; then files=("$@"); else
  files=(test/unit/*.test.ts test/workflows/*.test.ts test/replay/*.test.ts test/integration/*.test.ts)
fi
# A test that hangs (a run waiting for an approval nobody gives) fails after 10 minutes instead
# of holding CI until its limit.
node --import tsx --test --test-concurrency=1 --test-timeout=600000 --test-reporter=spec "${files[@]}"
