#!/usr/bin/env bash
# The README's first command: runs gatewayd on its embedded default configuration
# (loopback only). Installs what building it needs when that is missing (Debian
# packages via apt-get, when run as root): a C toolchain, and pkg-config and libopus-dev
# for the Opus codec the gateway links. Extra arguments go to `gatewayd run`.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in build-essential pkg-config libopus-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || need+=("$pkg")
done
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
        echo "deploy/run-default.sh: installing ${need[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
    else
        echo "deploy/run-default.sh: missing Debian packages (install as root): ${need[*]}" >&2
        exit 2
    fi
fi

exec cargo run --release --bin gatewayd -- run "$@"
