#!/usr/bin/env bash
# The project's test command (README "Run the tests").
#
# Installs what the end-to-end tests need when it is missing (Debian packages via
# apt-get, when run as root), then runs every test of the workspace. Safe to run again:
# installed packages are skipped.
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

exec cargo test --workspace --all-targets "$@"
