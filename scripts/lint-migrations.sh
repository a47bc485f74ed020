#!/usr/bin/env bash
# Lints every migration under migrations/, and the one the drill applies,
# with squawk (PyPI: squawk-cli, pinned), for locks that block readers and
# writers and for changes that old code would not survive (ARCHITECTURE.md,
# "Migrations"). The rules and
# the migrations applied before linting started are in .squawk.toml.
# squawk is installed once into a virtual environment outside the clone.
# Exits non-zero when a migration has a finding, or when squawk does not
# flag a migration known to be unsafe (so a broken install cannot pass).
set -euo pipefail
cd "$(dirname "$0")/.."

source scripts/lib/pypi-tool.sh
SQUAWK_VERSION="2.70.0"
SQUAWK="${TOOLS_DIR}/squawk-${SQUAWK_VERSION}/bin/squawk"
reports_its_version() { "$1/bin/squawk" --version | grep -q "${SQUAWK_VERSION}"; }
install_pypi_tool squawk "${SQUAWK_VERSION}" "squawk-cli==${SQUAWK_VERSION}" reports_its_version

# squawk must flag an unsafe migration, or the lint below proves nothing.
unsafe="$(mktemp --suffix=.sql)"
trap 'rm -f "${unsafe}"' EXIT
printf 'ALTER TABLE jobs ADD COLUMN note text NOT NULL;\nCREATE INDEX jobs_note ON jobs (note);\n' > "${unsafe}"
if "${SQUAWK}" --config .squawk.toml "${unsafe}" >/dev/null 2>&1; then
    echo "squawk passed a migration that blocks writes and breaks old code; is it installed correctly?" >&2
    exit 1
fi

# The migrations .squawk.toml does not exclude (squawk refuses a command
# line whose files are all excluded).
mapfile -t excluded < <(sed -n 's/^ *"\(migrations\/[^"]*\.sql\)",\{0,1\}$/\1/p' .squawk.toml)
linted=()
for migration in migrations/*/*.sql; do
    skip=false
    for old in "${excluded[@]}"; do
        [ "${migration}" = "${old}" ] && skip=true && break
    done
    "${skip}" || linted+=("${migration}")
done
# The migration the drill applies during employer's rolling deploy.
linted+=(tests/src/drill/expand_migration.sql)
if [ "${#linted[@]}" -eq 0 ]; then
    echo "squawk: no migration after the baseline in .squawk.toml to lint (${#excluded[@]} excluded)"
    exit 0
fi
"${SQUAWK}" --config .squawk.toml "${linted[@]}"
echo "squawk: ${#linted[@]} migrations linted, no findings"
