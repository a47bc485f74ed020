#!/usr/bin/env bash
# Runs every test. The end-to-end tests need the pinned Apollo Router and
# Hive Router; each is built on first use (Apollo Router in about 14
# minutes on two idle cores) and reused afterwards. The
# agreement tests need the npm reference implementations, installed (once
# per lock file) into schema-registry/oracle; the payment tests need
# localstripe; the browser tests need Chromium and the built web app (web/).
# Tests start their own
# PostgreSQL clusters unless DATABASE_URL names a server.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TALENTGRAPH_ROUTER:-}" ]; then
    TALENTGRAPH_ROUTER="$(bash scripts/install-router.sh | tail -n 1)"
    export TALENTGRAPH_ROUTER
fi
# The page and auth tests run through Hive Router too, the supported
# alternative router (`devstack up --router hive`); built once, like Apollo
# Router's.
if [ -z "${TALENTGRAPH_HIVE_ROUTER:-}" ]; then
    TALENTGRAPH_HIVE_ROUTER="$(bash scripts/install-hive-router.sh | tail -n 1)"
    export TALENTGRAPH_HIVE_ROUTER
fi
bash scripts/install-oracles.sh
# The payment tests charge through localstripe, installed once.
bash scripts/install-localstripe.sh >/dev/null
# The rate limits' tests and stacks start throwaway Redis servers.
if ! command -v redis-server >/dev/null 2>&1 && [ ! -x /usr/bin/redis-server ]; then
    echo "installing redis-server (Debian), which the rate-limit tests run" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    ${SUDO} apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive ${SUDO} apt-get install -y -qq redis-server >&2
fi
# The drill puts HAProxy (Debian's package) in front of the replicas.
if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
    echo "installing haproxy (Debian), which the drill test runs" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    ${SUDO} apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive ${SUDO} apt-get install -y -qq haproxy >&2
fi
# The deployment test renders deploy/k8s with `kubectl kustomize` (kubectl
# 1.21 or later, whose kustomize takes folders as resources) and validates
# every object with kubernetes-validate (PyPI, installed once).
if ! command -v kubectl >/dev/null 2>&1; then
    echo "installing kubectl (Debian: kubernetes-client)" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    ${SUDO} apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive ${SUDO} apt-get install -y -qq kubernetes-client >&2
fi
bash scripts/install-kubernetes-validate.sh >/dev/null
# The browser tests drive Debian's Chromium through the built web app.
bash scripts/install-chromium.sh
bash scripts/build-web.sh
# Every test binary runs even after one fails, so a run reports all its
# failures at once (the exit status is still the failure's).
exec cargo test --workspace --no-fail-fast "$@"
