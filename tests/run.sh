#!/usr/bin/env bash
# The project's test command (README "Run the tests").
#
# Installs what the end-to-end tests need when it is missing (Debian packages via
# apt-get, when run as root; PyPI packages into the venv tests/.venv), then runs every
# test of the workspace. Safe to run again: installed packages are skipped.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use, one per line in tests/debian-packages.txt.
need=()
while read -r pkg; do
    case "$pkg" in ''|'#'*) continue ;; esac
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$pkg")
done < tests/debian-packages.txt
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "tests/run.sh: installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
        echo "tests/run.sh: missing Debian packages (install as root): ${need[*]}" >&2
        exit 2
    fi
fi

# PyPI tools in a venv (Debian 12's pip refuses global installs): pycrate for the scripted
# H.323 peer (tests/h323peer/peer.py). Created and filled only when missing or at another
# version, so a run without network works once it is there. A GATEWAY_PYTHON set by the
# caller is used as it is.
if [ -z "${GATEWAY_PYTHON:-}" ]; then
    venv=tests/.venv
    pycrate_version=0.8.1
    if ! "$venv/bin/python" -c "import importlib.metadata as m, pycrate_asn1dir.H225, pycrate_asn1dir.H245
assert m.version('pycrate') == '$pycrate_version'" >/dev/null 2>&1; then
        echo "tests/run.sh: installing pycrate $pycrate_version into $venv"
        [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "pycrate==$pycrate_version"
    fi
    GATEWAY_PYTHON="$PWD/$venv/bin/python"
fi
export GATEWAY_PYTHON

# `tests/run.sh --install-only`: the packages above and nothing else (CI runs it before
# clippy, since the gateway links libopus).
if [ "${1:-}" = "--install-only" ]; then
    exit 0
fi

exec cargo test --workspace --all-targets "$@"
