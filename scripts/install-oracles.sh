#!/usr/bin/env bash
# Installs the reference implementations the agreement tests compare against
# (@apollo/composition, @graphql-inspector/core; versions pinned in
# schema-registry/oracle/package-lock.json) into schema-registry/oracle/.
# Needs Node.js and npm; installs Debian's when missing. Skips the install
# when the lock file has not changed since the last one.
set -euo pipefail
cd "$(dirname "$0")/../schema-registry/oracle"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "installing Node.js and npm (Debian packages)" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    ${SUDO} apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive ${SUDO} apt-get install -y -qq nodejs npm >&2
fi

stamp="node_modules/.installed-from-lock"
if [ -f "${stamp}" ] && cmp -s package-lock.json "${stamp}"; then
    exit 0
fi
npm ci --no-audit --no-fund --loglevel=error >&2
cp package-lock.json "${stamp}"
