#!/usr/bin/env bash
# Installs localstripe (PyPI: a stateful fake of Stripe's API), the payment
# provider of development and tests, into a virtual environment outside the
# repository, once. Prints the environment's Python on its last line; the
# dev stack and the tests find it there (or at TALENTGRAPH_LOCALSTRIPE_PYTHON).
set -euo pipefail

LOCALSTRIPE_VERSION="1.15.10"
TOOLS_DIR="${TALENTGRAPH_TOOLS_DIR:-${HOME:-/root}/.cache/talentgraph}"
ROOT="${TOOLS_DIR}/localstripe-${LOCALSTRIPE_VERSION}"
PYTHON="${ROOT}/bin/python"

if [ -x "${PYTHON}" ] && "${PYTHON}" -c "import localstripe" 2>/dev/null; then
    echo "${PYTHON}"
    exit 0
fi

# Two installs at once (CI beside a developer's shell, or two clones) would
# build into the same directory and break each other's build, so the second
# waits for the first one's lock, then finds its result and stops.
mkdir -p "${TOOLS_DIR}"
exec 9>"${TOOLS_DIR}/.localstripe-${LOCALSTRIPE_VERSION}.lock"
flock 9
if [ -x "${PYTHON}" ] && "${PYTHON}" -c "import localstripe" 2>/dev/null; then
    echo "${PYTHON}"
    exit 0
fi

echo "installing localstripe ${LOCALSTRIPE_VERSION} into ${ROOT}" >&2
mkdir -p "${TOOLS_DIR}"
rm -rf "${ROOT}"
python3 -m venv "${ROOT}" >&2
"${ROOT}/bin/pip" install --quiet --disable-pip-version-check "localstripe==${LOCALSTRIPE_VERSION}" >&2
"${PYTHON}" -c "import localstripe" >&2
echo "${PYTHON}"
