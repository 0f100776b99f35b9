#!/usr/bin/env bash
# Records one call through gatewayd with real peers into a pcapng for captures/ (tshark
# on lo, with RTP), and gatewayd's own capture of it (--capture, signalling only, with the
# run's seed) as OUT-gatewayd.pcapng with its configuration OUT-gatewayd.yaml.
#
#   tests/record_capture.sh SCENARIO OUT.pcapng        (as root)
#
# SCENARIO:
#   tone      baresip A (440 Hz) -> gatewayd -> built-in tone endpoint (1200 Hz); A hangs up
#   b2bua     baresip A (440 Hz) -> gatewayd -> baresip B (1000 Hz, auto-answer); B hangs up
#   linphone  linphonec registers as 3000 (digest), baresip A (440 Hz) calls 3000, the
#             gateway routes the call to the registration (linphone auto-answers, 700 Hz);
#             A hangs up, linphone unregisters
#
# Everything runs in a private network namespace (unshare -n, loopback only) on fixed
# ports, so it cannot clash with other tests:
#   gatewayd SIP/UDP 127.0.0.1:25060, media 40000-40099
#   baresip A 127.0.0.2:25062, RTP 30000-30019; baresip B 127.0.0.3:25066, RTP 31000-31019
#   linphonec 127.0.0.1:25064, RTP 32000-32019
# tshark captures on lo, filtered on those ports. Afterwards only the first
# $RTP_KEEP (default 50) packets of each RTP flow are kept (SIP, RTCP and STUN all kept),
# and the RTP stream figures are printed (tshark -z rtp,streams).
#
# Environment: GATEWAYD (default target/debug/gatewayd), RTP_KEEP, KEEP_WORKDIR=1 keeps
# the scratch directory (logs, recordings, untrimmed capture) and prints its path.
# Needs tshark, baresip, linphonecsh (linphone scenario), sox, ss. linphonecsh talks to its
# daemon over a per-user socket in /tmp that the namespace does not separate: do not
# record the linphone scenario while tests/sip_registrar_linphone.rs runs.
set -euo pipefail

usage() { echo "usage: $0 tone|b2bua|linphone OUT.pcapng" >&2; exit 2; }
[ $# -eq 2 ] || usage
scenario=$1
case "$scenario" in tone|b2bua|linphone) ;; *) usage ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
out=$(realpath -m "$2")
gatewayd=$(realpath -m "${GATEWAYD:-$root/target/debug/gatewayd}")
[ -x "$gatewayd" ] || { echo "no gatewayd at $gatewayd (cargo build -p gateway)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: run as root (network namespace, live capture)" >&2; exit 2; }

# Re-run inside a private network namespace.
if [ -z "${RECORD_CAPTURE_IN_NS:-}" ]; then
    exec env RECORD_CAPTURE_IN_NS=1 GATEWAYD="$gatewayd" unshare -n "$0" "$scenario" "$out"
fi
ip link set lo up

work=$(mktemp -d /tmp/record-capture.XXXXXX)
pids=()
cleanup() {
    local rc=$?
    if [ "$scenario" = linphone ]; then
        HOME="$work/lin/home" timeout 10 linphonecsh exit >/dev/null 2>&1 || true
    fi
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ "${KEEP_WORKDIR:-}" = 1 ] || [ $rc -ne 0 ]; then
        echo "work directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
cd "$work"

# Polls (bounded, 10 s) until COMMAND succeeds.
wait_for() {
    local what=$1; shift
    for _ in $(seq 100); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
    echo "timed out waiting for $what" >&2
    exit 1
}
udp_listening() { ss -lnu | grep -q " $1 "; }

tone() { sox -n -r 8000 -c 1 -b 16 -e signed-integer "$1" synth 30 sine "$2" vol 0.5; }

# baresip instance: DIR USER IP:PORT RTPMIN-RTPMAX ANSWERMODE TONEFILE
baresip_dir() {
    local dir=$1 user=$2 listen=$3 rtp=$4 mode=$5 src=$6
    mkdir -p "$dir/rec"
    cat > "$dir/config" <<EOF
poll_method		epoll
sip_listen		$listen
net_interface		${listen%:*}
dns_fallback		127.0.0.1:53
call_local_timeout	120
call_max_calls		4
audio_source		aufile,$src
audio_player		aubridge,nowhere
audio_alert		aubridge,nowhere
audio_level		no
ausrc_format		s16
auplay_format		s16
auenc_format		s16
audec_format		s16
audio_buffer		20-160
rtp_ports		$rtp
rtcp_mux		no
rtp_stats		yes
jitter_buffer_delay	5-10
module_path		/usr/lib/baresip/modules
module			g711.so
module			aufile.so
module			sndfile.so
module			aubridge.so
snd_path		$dir/rec
module_app		account.so
module_app		menu.so
EOF
    echo "<sip:$user@$listen>;regint=0;answermode=$mode;audio_codecs=PCMU,PCMA" > "$dir/accounts"
}

# ----- gateway --------------------------------------------------------------------------
cat > gw.yaml <<EOF
general:
  node_name: capture
  drain_timeout_seconds: 5
listeners:
  sip:
    - { transport: udp, address: "127.0.0.1:25060" }
metrics:
  listen: "127.0.0.1:29464"
media:
  rtp_port_range: "40000-40099"
trunks:
  - { name: a, kind: sip, remote: "127.0.0.2:25062" }
  - { name: b, kind: sip, remote: "127.0.0.3:25066" }
  - name: phones
    kind: sip
    realm: gw.test
    users:
      - { name: "3000", password: "s3cret" }
  - { name: tone, kind: local, answer: tone, tone_hz: 1200, ring_ms: 200 }
routes:
  default:
    - { name: tone, match: {called: {prefix: "1"}}, egress: [tone] }
    - { name: phones, match: {called: {prefix: "3"}}, egress: [phones] }
    - { name: b, match: {called: {prefix: "5"}}, egress: [b] }
EOF
"$gatewayd" run --config gw.yaml --capture gatewayd.pcapng 2> gatewayd.log &
gw_pid=$!
pids+=($gw_pid)
wait_for "gatewayd on 127.0.0.1:25060" udp_listening 127.0.0.1:25060

tshark -n -q -i lo -w raw.pcapng \
    -f 'udp port 25060 or udp port 25062 or udp port 25064 or udp port 25066 or
        udp portrange 30000-30019 or udp portrange 31000-31019 or
        udp portrange 32000-32019 or udp portrange 40000-40099' 2> tshark.log &
tshark_pid=$!
pids+=($tshark_pid)
wait_for "tshark capturing" grep -q "Capturing on" tshark.log
sleep 1 # the capture filter is installed just after the message

tone tone440.wav 440
baresip_dir "$work/a" 2000 127.0.0.2:25062 30000-30019 manual "$work/tone440.wav"

# ----- the call -------------------------------------------------------------------------
case "$scenario" in
tone)
    # A talks for about 2 s, then -t makes it send BYE and exit.
    baresip -f "$work/a" -e "/dial sip:1000@127.0.0.1:25060" -t 3 < /dev/null > a.log 2>&1
    ;;
b2bua)
    tone tone1000.wav 1000
    baresip_dir "$work/b" 5000 127.0.0.3:25066 31000-31019 auto "$work/tone1000.wav"
    # B hangs up (BYE) when its -t runs out, about 2.5 s into the call; A stays longer.
    baresip -f "$work/b" -t 4 < /dev/null > b.log 2>&1 &
    b_pid=$!
    pids+=($b_pid)
    wait_for "baresip B" udp_listening 127.0.0.3:25066
    baresip -f "$work/a" -e "/dial sip:5000@127.0.0.1:25060" -t 6 < /dev/null > a.log 2>&1 &
    a_pid=$!
    pids+=($a_pid)
    wait "$b_pid" || true
    wait "$a_pid" || true
    ;;
linphone)
    tone tone700.wav 700
    export HOME="$work/lin/home"
    mkdir -p "$HOME/.local/share/linphone"
    cat > "$work/lin/linphonerc" <<EOF
[sip]
bind_address=127.0.0.1
sip_port=25064
sip_tcp_port=0
sip_tls_port=0
use_ipv6=0
default_proxy=-1
guess_hostname=0
contact=sip:3000@127.0.0.1:25064

[rtp]
bind_address=127.0.0.1
audio_rtp_port=32000-32019
video_rtp_port=33000-33019

[video]
enabled=0
EOF
    lsh() { timeout 10 linphonecsh "$@"; }
    lsh exit >/dev/null 2>&1 || true # a daemon left over from another run
    lsh init -a -c "$work/lin/linphonerc" -d 4 -l "$work/lin/linphone.log"
    wait_for "linphonec" sh -c 'timeout 10 linphonecsh status hook | grep -q hook='
    lsh generic "soundcard use files"
    lsh generic "play $work/tone700.wav"
    lsh generic "record $work/lin/rec.wav"
    lsh register --host 127.0.0.1:25060 --username 3000 --password s3cret
    wait_for "registration" sh -c 'timeout 10 linphonecsh status register | grep -q "^registered,"'
    baresip -f "$work/a" -e "/dial sip:3000@127.0.0.1:25060" -t 3 < /dev/null > a.log 2>&1
    wait_for "linphone on hook" sh -c 'timeout 10 linphonecsh status hook | grep -q "^hook=on-hook"'
    lsh unregister
    wait_for "unregistration" sh -c 'timeout 10 linphonecsh status register | grep -q "^registered=0"'
    lsh exit
    ;;
esac

sleep 1 # last retransmissions or late responses
kill -INT "$tshark_pid"
wait "$tshark_pid" || true
# gatewayd's own capture of the run (with its seed) and its configuration, for the
# golden replay: OUT-gatewayd.pcapng and OUT-gatewayd.yaml.
kill -TERM "$gw_pid"
wait "$gw_pid" || true
cp gatewayd.pcapng "${out%.pcapng}-gatewayd.pcapng"
cp gw.yaml "${out%.pcapng}-gatewayd.yaml"

# ----- trim RTP: the first $RTP_KEEP packets of each flow (even ports on both ends, not
# SIP, not STUN); everything else is kept -----------------------------------------------
keep=${RTP_KEEP:-50}
frames=$(tshark -n -r raw.pcapng -T fields -E separator=' ' \
    -e frame.number -e ip.src -e udp.srcport -e ip.dst -e udp.dstport -e _ws.col.Protocol |
    awk -v keep="$keep" '
        { media = ($3 % 2 == 0 && $5 % 2 == 0 && $3 >= 30000 && $5 >= 30000 && $6 != "STUN") }
        !media || ++n[$2 " " $3 " " $4 " " $5] <= keep { printf "%s%s", sep, $1; sep = "," }')
tshark -n -r raw.pcapng -Y "frame.number in {$frames}" -w "$out"

echo "== $out: $(stat -c %s "$out") bytes"
tshark -n -r "$out" -Y sip -T fields -e frame.number -e ip.src -e udp.srcport -e ip.dst \
    -e udp.dstport -e sip.Method -e sip.Status-Code -e sip.CSeq
echo "== malformed or warnings (must be empty):"
tshark -n -r "$out" -Y '_ws.malformed || _ws.expert.severity >= "warning"'
echo "== RTP streams:"
decode=()
[ "$scenario" = linphone ] && decode=(-d udp.port==32000-32019,rtp)
tshark -n -r "$out" "${decode[@]}" -q -z rtp,streams
echo "== gatewayd log:"
cat gatewayd.log
