#!/usr/bin/env bash
# Builds the web app (web/dist) and the development GraphiQL page
# (web/dist-graphiql), once: the npm packages are installed when
# web/package-lock.json changed since the last install, and the build is
# skipped when none of its inputs (the app's sources, pages/, operations/,
# the API schema, the lock file) changed since the last build.
# Needs Node.js and npm (Debian: nodejs, npm).
set -euo pipefail
cd "$(dirname "$0")/../web"

if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    echo "installing Node.js and npm (Debian packages)" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    ${SUDO} apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive ${SUDO} apt-get install -y -qq nodejs npm >&2
fi

installed="node_modules/.installed-from-lock"
if [ ! -f "${installed}" ] || ! cmp -s package-lock.json "${installed}"; then
    echo "installing the web app's npm packages" >&2
    npm ci --no-audit --no-fund --loglevel=error >&2
    cp package-lock.json "${installed}"
fi

inputs_digest="$(
    find src graphiql public index.html vite.config.ts codegen.ts tsconfig.json tsconfig.node.json \
        schema.graphql package.json \
        package-lock.json ../pages ../operations -type f -print0 \
        | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1
)"
built="dist/.built-from"
if [ -f "${built}" ] && [ "$(cat "${built}")" = "${inputs_digest}" ] && [ -f dist-graphiql/index.html ]; then
    echo "web app up to date in web/dist" >&2
    exit 0
fi
echo "building the web app into web/dist" >&2
# Stale generated types fail here, before a build could hide them.
npm run --silent codegen:check >&2
npm run --silent build >&2
npm run --silent build:graphiql -- --logLevel error >&2
echo "${inputs_digest}" > "${built}"
