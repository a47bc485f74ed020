#!/usr/bin/env bash
# Installs kubernetes-validate (PyPI), which validates Kubernetes objects
# against the API's published schemas (bundled with it, so it works
# offline), into a virtual environment outside the repository, once.
# Prints the command's path on its last line; the deployment test finds it
# there (or at TALENTGRAPH_KUBERNETES_VALIDATE).
set -euo pipefail

KUBERNETES_VALIDATE_VERSION="1.37.0"
TOOLS_DIR="${TALENTGRAPH_TOOLS_DIR:-${HOME:-/root}/.cache/talentgraph}"
ROOT="${TOOLS_DIR}/kubernetes-validate-${KUBERNETES_VALIDATE_VERSION}"
BINARY="${ROOT}/bin/kubernetes-validate"

installed() { [ -x "${BINARY}" ] && "${BINARY}" --version >/dev/null 2>&1; }

if installed; then
    echo "${BINARY}"
    exit 0
fi

# A second install at once (CI beside a developer's shell) waits for the
# first one's lock, then finds its result.
mkdir -p "${TOOLS_DIR}"
exec 9>"${TOOLS_DIR}/.kubernetes-validate-${KUBERNETES_VALIDATE_VERSION}.lock"
flock 9
if installed; then
    echo "${BINARY}"
    exit 0
fi

echo "installing kubernetes-validate ${KUBERNETES_VALIDATE_VERSION} into ${ROOT}" >&2
rm -rf "${ROOT}"
python3 -m venv "${ROOT}" >&2
"${ROOT}/bin/pip" install --quiet --disable-pip-version-check \
    "kubernetes-validate==${KUBERNETES_VALIDATE_VERSION}" >&2
"${BINARY}" --version >&2
echo "${BINARY}"
