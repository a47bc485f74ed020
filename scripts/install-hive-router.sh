#!/usr/bin/env bash
# Installs Hive Router (The Guild's federation router, MIT), pinned, into a
# known directory, once. It is the second router the bench measures beside
# the pinned Apollo Router (docs/performance.md, "Pages under load").
#
# 0.2.0 is the newest release that builds with this machine's rustc (0.3.x
# needs rustc 1.97). The `graphiql` feature makes its build script use the
# GraphiQL bundle shipped in the crate; without it, the build script runs
# `npm install` for a package version the npm registry does not have.
# Prints the binary's path on its last line.
set -euo pipefail

HIVE_ROUTER_VERSION="0.2.0"
TOOLS_DIR="${TALENTGRAPH_TOOLS_DIR:-${HOME:-/root}/.cache/talentgraph}"
ROOT="${TOOLS_DIR}/hive-router-${HIVE_ROUTER_VERSION}"
BINARY="${ROOT}/bin/hive_router"

if [ -x "${BINARY}" ]; then
    echo "${BINARY}"
    exit 0
fi

# Two installs at once (CI beside a developer's shell, or two clones) would
# build into the same directory and break each other's build, so the second
# waits for the first one's lock, then finds its result and stops.
mkdir -p "${TOOLS_DIR}"
exec 9>"${TOOLS_DIR}/.hive-router-${HIVE_ROUTER_VERSION}.lock"
flock 9
if [ -x "${BINARY}" ]; then
    echo "${BINARY}"
    exit 0
fi

echo "building Hive Router ${HIVE_ROUTER_VERSION} into ${ROOT}" >&2
mkdir -p "${TOOLS_DIR}"
CARGO_TARGET_DIR="${TOOLS_DIR}/hive-router-build" \
    cargo install hive-router --version "${HIVE_ROUTER_VERSION}" --locked --features graphiql --root "${ROOT}" >&2
rm -rf "${TOOLS_DIR}/hive-router-build"
ls "${ROOT}/bin" >&2
echo "${BINARY}"
