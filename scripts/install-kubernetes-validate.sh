#!/usr/bin/env bash
# Installs kubernetes-validate (PyPI), which validates Kubernetes objects
# against the API's published schemas (bundled with it, so it works
# offline), into a virtual environment outside the repository, once
# (scripts/lib/pypi-tool.sh). Prints the command's path on its last line;
# the deployment test finds it there (or at TALENTGRAPH_KUBERNETES_VALIDATE).
set -euo pipefail
source "$(dirname "$0")/lib/pypi-tool.sh"

KUBERNETES_VALIDATE_VERSION="1.37.0"
runs() { "$1/bin/kubernetes-validate" --version; }

install_pypi_tool kubernetes-validate "${KUBERNETES_VALIDATE_VERSION}" \
    "kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}" runs
echo "${TOOLS_DIR}/kubernetes-validate-${KUBERNETES_VALIDATE_VERSION}/bin/kubernetes-validate"
