# Sourced by the scripts that install a tool from PyPI (localstripe,
# squawk, kubernetes-validate, Docker Compose): each goes into its own
# virtual environment under ~/.cache/talentgraph (or TALENTGRAPH_TOOLS_DIR),
# outside every clone, once per version. Two installs at once (CI beside a
# developer's shell, or two clones) would break each other's environment,
# so the second waits for the first one's lock, then finds its result.
#
#   install_pypi_tool NAME VERSION REQUIREMENT CHECK
#
# installs REQUIREMENT (say `squawk-cli==2.70.0`) into
# ${TOOLS_DIR}/NAME-VERSION unless CHECK (a shell function or command,
# given the environment's folder) already succeeds, and fails when CHECK
# does not succeed afterwards. Prints nothing on standard output.

TOOLS_DIR="${TALENTGRAPH_TOOLS_DIR:-${HOME:-/root}/.cache/talentgraph}"

install_pypi_tool() {
    local name="$1" version="$2" requirement="$3" check="$4"
    local root="${TOOLS_DIR}/${name}-${version}"
    if "${check}" "${root}" >/dev/null 2>&1; then
        return 0
    fi
    mkdir -p "${TOOLS_DIR}"
    (
        flock 9
        if "${check}" "${root}" >/dev/null 2>&1; then
            exit 0
        fi
        echo "installing ${requirement} into ${root}" >&2
        rm -rf "${root}"
        python3 -m venv "${root}" >&2
        "${root}/bin/pip" install --quiet --disable-pip-version-check "${requirement}" >&2
    ) 9>"${TOOLS_DIR}/.${name}-${version}.lock"
    if ! "${check}" "${root}" >&2; then
        echo "${requirement} installed, but does not work (${check} failed)" >&2
        return 1
    fi
}
