#!/usr/bin/env bash
# The same RTP load through gatewayd and then through rtpengine, back to back, for each
# number of calls given (BENCHMARKS.md "Comparison: rtpengine"). Loopback only.
#
#   cargo build --release -p gateway -p rtp-load
#   apt-get install rtpengine-daemon
#   tests/rtp-load/versus.sh 100 250 500          # SECONDS=10 by default
#
# Starts one rtpengine (userspace forwarding) for the whole run and a fresh gatewayd per
# size; prints one RESULT line per run. Stops both when done.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${SECONDS_PER_RUN:-10}
tool=target/release/rtp-load
gw=target/release/gatewayd
dir=$(mktemp -d)
trap 'kill "${re_pid:-}" "${gw_pid:-}" 2>/dev/null || true; rm -rf "$dir"' EXIT

$tool --print-config --gatewayd 127.0.0.1:5160 --uac 127.0.0.1:5190 --uas 127.0.0.1:5192 \
    --rtp-range 20000-32767 | sed 's/:9464/:19464/' > "$dir/gw.yaml"
rtpengine --config-file=none --foreground --log-stderr --interface=127.0.0.1 \
    --listen-ng=127.0.0.1:2223 --port-min=40000 --port-max=44999 --table=-1 \
    --log-level=4 2> "$dir/rtpengine.log" &
re_pid=$!
sleep 1

for n in "$@"; do
    (cd "$dir" && exec "$OLDPWD/$gw" run --config gw.yaml --log-level warn 2> gw.log) &
    gw_pid=$!
    sleep 1
    echo "gatewayd $n calls, loadavg $(cut -d' ' -f1 /proc/loadavg)"
    $tool --gatewayd 127.0.0.1:5160 --uac 127.0.0.1:5190 --uas 127.0.0.1:5192 --calls "$n" \
        --duration "$secs" --warmup 2 --shared-sockets --pid "$gw_pid" | grep RESULT
    kill "$gw_pid"; wait "$gw_pid" 2>/dev/null || true
    tests/rtp-load/rtpengine-pairs.py --calls "$n" --shared --base-port 46000 > "$dir/pairs.txt"
    echo "rtpengine $n calls, loadavg $(cut -d' ' -f1 /proc/loadavg), RSS $(awk '/VmRSS/ {print $2}' /proc/$re_pid/status) KiB"
    $tool --pairs "$dir/pairs.txt" --duration "$secs" --warmup 2 --pid "$re_pid" | grep RESULT
    tests/rtp-load/rtpengine-pairs.py --calls "$n" --delete
done
