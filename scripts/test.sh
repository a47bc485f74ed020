#!/usr/bin/env bash
# Runs every test. The end-to-end tests need the pinned Apollo Router; it is
# installed on first use (a ~14-minute build) and reused afterwards. Tests
# start their own PostgreSQL clusters unless DATABASE_URL names a server.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TALENTGRAPH_ROUTER:-}" ]; then
    TALENTGRAPH_ROUTER="$(bash scripts/install-router.sh | tail -n 1)"
    export TALENTGRAPH_ROUTER
fi
exec cargo test --workspace "$@"
