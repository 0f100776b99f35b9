"""A classic pcap file (LINKTYPE_RAW, IPv4) of the peer's H.225.0 connection: the bytes
it sent and received, each write or read as one TCP segment with consistent sequence
and acknowledgement numbers, framed by a three-way handshake and a FIN exchange, so an
independent decoder (tshark) sees the signalling as it went over the wire.
"""

import struct
import time

LINKTYPE_RAW = 101


def _checksum(data):
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _ip(addr):
    return bytes(int(x) for x in addr.split("."))


class PcapWriter:
    def __init__(self, path):
        self.file = open(path, "wb")
        # Magic, version 2.4, GMT offset, accuracy, snaplen, link type.
        self.file.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW))
        self.file.flush()
        self.ip_id = 1

    def packet(self, data):
        now = time.time()
        sec = int(now)
        usec = int((now - sec) * 1_000_000)
        self.file.write(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)
        self.file.flush()

    def tcp(self, src, dst, seq, ack, flags, payload=b""):
        (sip, sport), (dip, dport) = src, dst
        tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0)
        pseudo = _ip(sip) + _ip(dip) + struct.pack("!BBH", 0, 6, len(tcp) + len(payload))
        csum = _checksum(pseudo + tcp + payload)
        tcp = tcp[:16] + struct.pack("!H", csum) + tcp[18:]
        total = 20 + len(tcp) + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, self.ip_id, 0x4000, 64, 6, 0, _ip(sip), _ip(dip))
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        self.packet(ip + tcp + payload)

    def udp(self, src, dst, payload):
        (sip, sport), (dip, dport) = src, dst
        udp = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
        pseudo = _ip(sip) + _ip(dip) + struct.pack("!BBH", 0, 17, len(udp) + len(payload))
        csum = _checksum(pseudo + udp + payload) or 0xFFFF
        udp = udp[:6] + struct.pack("!H", csum)
        total = 20 + len(udp) + len(payload)
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, self.ip_id, 0x4000, 64, 17, 0, _ip(sip), _ip(dip))
        ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
        self.ip_id = (self.ip_id + 1) & 0xFFFF
        self.packet(ip + udp + payload)

    def close(self):
        self.file.close()


FIN, SYN, PSH, ACK = 0x01, 0x02, 0x08, 0x10


class TcpFlow:
    """One TCP connection in the capture: `client` opened it (SYN), `server` accepted."""

    def __init__(self, writer, client, server):
        self.w = writer
        self.ends = {"client": client, "server": server}
        self.next = {"client": 1000, "server": 5000}
        self.closed = False
        w = self.w
        w.tcp(client, server, self.next["client"] - 1, 0, SYN)
        w.tcp(server, client, self.next["server"] - 1, self.next["client"], SYN | ACK)
        w.tcp(client, server, self.next["client"], self.next["server"], ACK)

    @staticmethod
    def _other(side):
        return "server" if side == "client" else "client"

    def data(self, side, payload):
        """`side` ("client" or "server") sent `payload`."""
        if self.closed or not payload:
            return
        other = self._other(side)
        self.w.tcp(self.ends[side], self.ends[other], self.next[side], self.next[other], PSH | ACK, payload)
        self.next[side] = (self.next[side] + len(payload)) & 0xFFFFFFFF
        self.w.tcp(self.ends[other], self.ends[side], self.next[other], self.next[side], ACK)

    def close(self, first):
        """`first` closes, the other side closes too."""
        if self.closed:
            return
        self.closed = True
        a, b = first, self._other(first)
        self.w.tcp(self.ends[a], self.ends[b], self.next[a], self.next[b], FIN | ACK)
        self.next[a] += 1
        self.w.tcp(self.ends[b], self.ends[a], self.next[b], self.next[a], FIN | ACK)
        self.next[b] += 1
        self.w.tcp(self.ends[a], self.ends[b], self.next[a], self.next[b], ACK)
