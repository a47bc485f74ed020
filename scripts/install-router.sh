#!/usr/bin/env bash
# Installs the pinned Apollo Router into a known directory, once.
#
# The router is built from crates.io (no prebuilt download is reachable
# here), which takes about 14 minutes on two cores, so the binary lives
# outside the repository and is reused by every clone, the dev stack, the
# tests and CI. Prints the binary's path on its last line.
set -euo pipefail

ROUTER_VERSION="2.17.0"
TOOLS_DIR="${TALENTGRAPH_TOOLS_DIR:-${HOME:-/root}/.cache/talentgraph}"
ROOT="${TOOLS_DIR}/apollo-router-${ROUTER_VERSION}"
BINARY="${ROOT}/bin/router"

if [ -x "${BINARY}" ] && "${BINARY}" --version 2>/dev/null | grep -q "${ROUTER_VERSION}"; then
    echo "${BINARY}"
    exit 0
fi

# Two installs at once (CI beside a developer's shell, or two clones) would
# build into the same directory and break each other's build, so the second
# waits for the first one's lock, then finds its result and stops.
mkdir -p "${TOOLS_DIR}"
exec 9>"${TOOLS_DIR}/.apollo-router-${ROUTER_VERSION}.lock"
flock 9
if [ -x "${BINARY}" ] && "${BINARY}" --version 2>/dev/null | grep -q "${ROUTER_VERSION}"; then
    echo "${BINARY}"
    exit 0
fi

if ! command -v protoc >/dev/null 2>&1; then
    echo "installing protoc (Debian protobuf-compiler), needed to build the router" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    ${SUDO} apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive ${SUDO} apt-get install -y -qq protobuf-compiler >&2
fi

echo "building Apollo Router ${ROUTER_VERSION} into ${ROOT} (about 14 minutes on 2 cores)" >&2
mkdir -p "${TOOLS_DIR}"
# A private target directory keeps the build away from the workspace's.
CARGO_TARGET_DIR="${TOOLS_DIR}/router-build" \
    cargo install apollo-router --version "${ROUTER_VERSION}" --locked --root "${ROOT}" >&2
rm -rf "${TOOLS_DIR}/router-build"
"${BINARY}" --version >&2
echo "${BINARY}"
