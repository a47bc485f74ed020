#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests when it is missing. The
# tests drive it with playwright-core (web/package.json); Playwright's own
# browser download is not used, because it needs the internet at test time.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
echo "installing Chromium (Debian package chromium) for the browser tests" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
${SUDO} apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive ${SUDO} apt-get install -y -qq chromium >&2
