"""Audio for the scripted H.323 peer: G.711 (ITU-T G.711, A-law and u-law, written from
the recommendation's segment tables), a phase-continuous sine source, one RTP session
(RFC 3550) sending 20 ms packets and recording what it receives, and a WAV writer.
"""

import math
import random
import socket
import struct
import time
import wave

SAMPLE_RATE = 8000
PACKET_MS = 20
SAMPLES_PER_PACKET = SAMPLE_RATE * PACKET_MS // 1000

# RTP static payload types (RFC 3551).
PAYLOAD_TYPES = {"PCMU": 0, "PCMA": 8}
CODEC_OF_PT = {pt: name for name, pt in PAYLOAD_TYPES.items()}


# ----- G.711 ----------------------------------------------------------------------------


def ulaw_encode(x):
    """16-bit linear sample -> u-law octet. The magnitude, biased by 0x84, has its
    leading one at bit 7 + segment; the four bits after it are the step."""
    sign = 0x80 if x < 0 else 0x00
    mag = min(-x if x < 0 else x, 32635) + 0x84
    seg = mag.bit_length() - 8
    step = (mag >> (seg + 3)) & 0x0F
    return ~(sign | (seg << 4) | step) & 0xFF


def ulaw_decode(octet):
    u = ~octet & 0xFF
    seg = (u >> 4) & 0x07
    step = u & 0x0F
    mag = (((step << 3) + 0x84) << seg) - 0x84
    return -mag if u & 0x80 else mag


def alaw_encode(x):
    """16-bit linear sample -> A-law octet: 12-bit magnitude, segment 0 linear (step of
    2), segments 1-7 with the leading one at bit 4 + segment; even bits inverted."""
    positive = x >= 0
    mag = min(x if positive else -x, 32767) >> 3
    if mag < 32:
        seg, step = 0, mag >> 1
    else:
        seg = mag.bit_length() - 5
        step = (mag >> seg) & 0x0F
    return ((0x80 if positive else 0x00) | (seg << 4) | step) ^ 0x55


def alaw_decode(octet):
    a = octet ^ 0x55
    seg = (a >> 4) & 0x07
    step = a & 0x0F
    if seg == 0:
        mag = (step << 4) + 8
    else:
        mag = ((step << 4) + 0x108) << (seg - 1)
    return mag if a & 0x80 else -mag


_DECODE = {
    "PCMU": [ulaw_decode(b) for b in range(256)],
    "PCMA": [alaw_decode(b) for b in range(256)],
}
_ENCODE = {"PCMU": ulaw_encode, "PCMA": alaw_encode}


def encode(codec, samples):
    enc = _ENCODE[codec]
    return bytes(enc(s) for s in samples)


def decode(codec, payload):
    table = _DECODE[codec]
    return [table[b] for b in payload]


# ----- tone -----------------------------------------------------------------------------


class Sine:
    """A sine of `hz` at `level` of full scale, continuous across blocks."""

    def __init__(self, hz, level=0.5):
        self.step = 2.0 * math.pi * hz / SAMPLE_RATE
        self.amp = level * 32767.0
        self.phase = 0.0

    def block(self, n):
        out = []
        for _ in range(n):
            out.append(int(round(self.amp * math.sin(self.phase))))
            self.phase += self.step
            if self.phase > 2.0 * math.pi:
                self.phase -= 2.0 * math.pi
        return out


# ----- RTP ------------------------------------------------------------------------------


def bind_pair(ip):
    """An RTP socket on an even port of `ip` with RTCP on the next port (both UDP)."""
    for _ in range(200):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind((ip, 0))
        port = rtp.getsockname()[1]
        if port % 2 == 0 and port < 65535:
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtcp.bind((ip, port + 1))
            except OSError:
                rtcp.close()
                rtp.close()
                continue
            return rtp, rtcp
        rtp.close()
    raise OSError(f"no free RTP/RTCP port pair on {ip}")


class RtpSession:
    """One audio RTP session: sends a tone every 20 ms once a destination is known,
    decodes and keeps every G.711 packet received (in arrival order)."""

    def __init__(self, ip, tone_hz, level=0.5):
        self.rtp, self.rtcp = bind_pair(ip)
        self.rtp.setblocking(False)
        self.rtcp.setblocking(False)
        self.local = self.rtp.getsockname()
        self.sine = Sine(tone_hz, level)
        self.remote = None
        self.last_remote = None
        self.codec = None
        self.ssrc = random.getrandbits(32)
        self.seq = random.getrandbits(16)
        self.ts = random.getrandbits(32)
        self.next_send = None
        self.sent = 0
        self.received = 0
        self.rx_bytes = 0
        self.rx_codecs = set()
        self.rx_ssrcs = set()
        self.rx_from = set()
        self.rx_bad = 0
        self.rx_lost = 0
        self.rx_last_seq = None
        self.rtcp_received = 0
        self.samples = []
        self.first_rx = None
        self.last_rx = None

    @property
    def local_rtcp(self):
        return self.rtcp.getsockname()

    def start(self, remote, codec, now):
        """Send `codec` to `remote` ((ip, port)) from now on."""
        first = self.remote is None
        self.remote = remote
        self.last_remote = remote
        self.codec = codec
        if first:
            self.next_send = now

    def stop(self):
        self.remote = None
        self.next_send = None

    def timeout(self, now):
        """Seconds until the next packet is due (None when not sending)."""
        if self.next_send is None:
            return None
        return max(0.0, self.next_send - now)

    def send_due(self, now):
        if self.remote is None or self.next_send is None:
            return
        # Far behind (a stalled loop): skip ahead instead of bursting.
        if now - self.next_send > 0.1:
            missed = int((now - self.next_send) / (PACKET_MS / 1000.0))
            self.next_send += missed * PACKET_MS / 1000.0
            self.seq = (self.seq + missed) & 0xFFFF
            self.ts = (self.ts + missed * SAMPLES_PER_PACKET) & 0xFFFFFFFF
        while self.next_send <= now:
            marker = 0x80 if self.sent == 0 else 0
            header = struct.pack(
                "!BBHII",
                0x80,
                marker | PAYLOAD_TYPES[self.codec],
                self.seq,
                self.ts,
                self.ssrc,
            )
            payload = encode(self.codec, self.sine.block(SAMPLES_PER_PACKET))
            try:
                self.rtp.sendto(header + payload, self.remote)
            except OSError:
                pass  # ICMP port unreachable from a previous send: keep going
            self.sent += 1
            self.seq = (self.seq + 1) & 0xFFFF
            self.ts = (self.ts + SAMPLES_PER_PACKET) & 0xFFFFFFFF
            self.next_send += PACKET_MS / 1000.0

    def on_rtp(self):
        while True:
            try:
                data, src = self.rtp.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                return
            self._packet(data, src)

    def on_rtcp(self):
        while True:
            try:
                self.rtcp.recvfrom(2048)
            except OSError:
                return
            self.rtcp_received += 1

    def _packet(self, data, src):
        if len(data) < 12 or data[0] >> 6 != 2:
            self.rx_bad += 1
            return
        cc = data[0] & 0x0F
        at = 12 + 4 * cc
        if data[0] & 0x10:  # header extension
            if len(data) < at + 4:
                self.rx_bad += 1
                return
            at += 4 + 4 * struct.unpack("!H", data[at + 2 : at + 4])[0]
        end = len(data)
        if data[0] & 0x20:  # padding
            end -= data[-1]
        pt = data[1] & 0x7F
        seq, _, ssrc = struct.unpack("!HII", data[2:12])
        codec = CODEC_OF_PT.get(pt)
        if codec is None or end < at:
            self.rx_bad += 1
            return
        now = time.monotonic()
        if self.first_rx is None:
            self.first_rx = now
        self.last_rx = now
        if self.rx_last_seq is not None and ssrc in self.rx_ssrcs:
            gap = (seq - self.rx_last_seq) & 0xFFFF
            if 1 < gap < 1000:
                self.rx_lost += gap - 1
        self.rx_last_seq = seq
        self.received += 1
        self.rx_bytes += end - at
        self.rx_codecs.add(codec)
        self.rx_ssrcs.add(ssrc)
        self.rx_from.add(f"{src[0]}:{src[1]}")
        self.samples.extend(decode(codec, data[at:end]))

    def stats(self):
        return {
            "local": f"{self.local[0]}:{self.local[1]}",
            "remote": f"{self.last_remote[0]}:{self.last_remote[1]}" if self.last_remote else None,
            "tx_codec": self.codec,
            "sent": self.sent,
            "received": self.received,
            "rx_codecs": sorted(self.rx_codecs),
            "rx_ssrcs": len(self.rx_ssrcs),
            "rx_from": sorted(self.rx_from),
            "rx_lost": self.rx_lost,
            "rx_bad": self.rx_bad,
            "rtcp_received": self.rtcp_received,
            "rx_seconds": round(len(self.samples) / SAMPLE_RATE, 3),
        }

    def write_wav(self, path):
        """What was received, decoded, as 8 kHz mono 16-bit WAV."""
        with wave.open(path, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(SAMPLE_RATE)
            w.writeframes(struct.pack(f"<{len(self.samples)}h", *self.samples))

    def close(self):
        self.rtp.close()
        self.rtcp.close()
