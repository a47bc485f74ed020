#!/usr/bin/env bash
# Installs localstripe (PyPI: a stateful fake of Stripe's API), the payment
# provider of development and tests, into a virtual environment outside the
# repository, once (scripts/lib/pypi-tool.sh). Prints the environment's
# Python on its last line; the dev stack and the tests find it there (or at
# TALENTGRAPH_LOCALSTRIPE_PYTHON).
set -euo pipefail
source "$(dirname "$0")/lib/pypi-tool.sh"

LOCALSTRIPE_VERSION="1.15.10"
imports_localstripe() { "$1/bin/python" -c "import localstripe"; }

install_pypi_tool localstripe "${LOCALSTRIPE_VERSION}" \
    "localstripe==${LOCALSTRIPE_VERSION}" imports_localstripe
echo "${TOOLS_DIR}/localstripe-${LOCALSTRIPE_VERSION}/bin/python"
