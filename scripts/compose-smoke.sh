#!/usr/bin/env bash
# The compose smoke: docker-compose.yml run for real, with the production
# profile, on a Docker engine of its own (Debian's dockerd with its data,
# socket and pid file under target/compose-smoke/, no default bridge, no
# iptables rules of Docker's and one FORWARD rule for its own address pool,
# removed again; it never touches another engine), with every image
# built here: a Debian base made with mmdebstrap (cached under
# ~/.cache/talentgraph/images), the subgraphs from this build's release
# binaries, the router from the pinned binary, PostgreSQL and NATS from
# Debian's packages. It loads the demo world, asks for the seven pages by
# trusted-document id through the router's published port, kills and
# restarts a subgraph's container, asks again, then takes everything down
# and removes the engine's folder, also on failure
# (tests/src/compose_smoke/). Run by .ci/run; needs root (dockerd).
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLS_DIR="${TALENTGRAPH_TOOLS_DIR:-${HOME:-/root}/.cache/talentgraph}"

missing=()
{ [ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ]; } || missing+=(docker.io)
command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing ${missing[*]} (Debian)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

COMPOSE="$(bash scripts/install-compose.sh | tail -n 1)"
ROUTER="$(bash scripts/install-router.sh | tail -n 1)"

# The images carry release binaries, as a deployment does. The smoke's own
# driver is an ordinary build of the e2e crate.
cargo build --release --locked \
    -p talentgraph-core -p talentgraph-auth -p talentgraph-jobseeker \
    -p talentgraph-employer -p talentgraph-payment -p talentgraph-internship \
    -p schema-registry --bin talentgraph-core --bin talentgraph-auth \
    --bin talentgraph-jobseeker --bin talentgraph-employer \
    --bin talentgraph-payment --bin talentgraph-internship --bin schema-registry
cargo build --locked -p talentgraph-e2e --bin compose-smoke

exec target/debug/compose-smoke --compose "${COMPOSE}" --router "${ROUTER}" \
    --cache "${TOOLS_DIR}/images"
