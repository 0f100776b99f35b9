#!/usr/bin/env python3
"""Sets up N calls in a running rtpengine (Debian's rtpengine-daemon) over its ng
control protocol and prints an rtp-load pairs file: `A_DST B_DST A_LOCAL B_LOCAL` per
call (where the caller and the callee send, and the addresses they send from, which
rtpengine was told in the offer and the answer).

    rtpengine-pairs.py --ng 127.0.0.1:2223 --calls 500 --base-port 46000 > pairs.txt
    rtp-load --pairs pairs.txt --duration 20 --pid $(pidof rtpengine)
    rtpengine-pairs.py --ng 127.0.0.1:2223 --calls 500 --delete

The ng protocol is a cookie, a space and a bencoded dictionary, over UDP.
"""
import argparse
import random
import socket
import sys


def bencode(v):
    if isinstance(v, int):
        return b"i%de" % v
    if isinstance(v, str):
        v = v.encode()
    if isinstance(v, bytes):
        return b"%d:%s" % (len(v), v)
    if isinstance(v, list):
        return b"l" + b"".join(bencode(x) for x in v) + b"e"
    if isinstance(v, dict):
        out = b"d"
        for k in sorted(v):
            out += bencode(k) + bencode(v[k])
        return out + b"e"
    raise TypeError(type(v))


def bdecode(data, i=0):
    c = data[i : i + 1]
    if c == b"i":
        end = data.index(b"e", i)
        return int(data[i + 1 : end]), end + 1
    if c == b"l":
        i += 1
        out = []
        while data[i : i + 1] != b"e":
            v, i = bdecode(data, i)
            out.append(v)
        return out, i + 1
    if c == b"d":
        i += 1
        out = {}
        while data[i : i + 1] != b"e":
            k, i = bdecode(data, i)
            v, i = bdecode(data, i)
            out[k.decode()] = v
        return out, i + 1
    colon = data.index(b":", i)
    n = int(data[i:colon])
    return data[colon + 1 : colon + 1 + n], colon + 1 + n


class Ng:
    def __init__(self, addr):
        host, port = addr.rsplit(":", 1)
        self.addr = (host, int(port))
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(2.0)
        self.seq = random.randrange(1 << 30)

    def call(self, **msg):
        self.seq += 1
        cookie = b"%d" % self.seq
        for _ in range(3):
            self.sock.sendto(cookie + b" " + bencode(msg), self.addr)
            try:
                while True:
                    data, _ = self.sock.recvfrom(65535)
                    c, _, body = data.partition(b" ")
                    if c == cookie:
                        reply, _ = bdecode(body)
                        if reply.get("result") != b"ok":
                            raise RuntimeError("rtpengine: %r" % reply)
                        return reply
            except socket.timeout:
                continue
        raise RuntimeError("rtpengine does not answer on %s:%d" % self.addr)


def sdp(port, sess):
    return (
        "v=0\r\no=- %d 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\n"
        "a=rtpmap:101 telephone-event/8000\r\na=ptime:20\r\na=sendrecv\r\n" % (sess, port)
    )


def audio_addr(body):
    ip, port = None, None
    for line in body.decode().splitlines():
        if line.startswith("c=IN IP4 "):
            ip = line.split()[2]
        elif line.startswith("m=audio "):
            port = int(line.split()[1])
    return "%s:%d" % (ip, port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ng", default="127.0.0.1:2223")
    ap.add_argument("--calls", type=int, required=True)
    ap.add_argument("--base-port", type=int, default=46000,
                    help="the tool's sockets: caller at base+4i, callee at base+4i+2")
    ap.add_argument("--shared", action="store_true",
                    help="every caller at base, every callee at base+2 (rtp-load shares them)")
    ap.add_argument("--delete", action="store_true")
    a = ap.parse_args()
    ng = Ng(a.ng)
    for i in range(a.calls):
        cid, ftag, ttag = "rl-%d" % i, "f%d" % i, "t%d" % i
        if a.delete:
            ng.call(command="delete", **{"call-id": cid, "from-tag": ftag})
            continue
        a_local = a.base_port + (0 if a.shared else 4 * i)
        b_local = a_local + 2
        offer = ng.call(command="offer", sdp=sdp(a_local, i), **{"call-id": cid, "from-tag": ftag})
        answer = ng.call(command="answer", sdp=sdp(b_local, i),
                         **{"call-id": cid, "from-tag": ftag, "to-tag": ttag})
        # The offer rtpengine hands on goes to the callee: where B sends. The answer goes
        # to the caller: where A sends.
        print("%s %s 127.0.0.1:%d 127.0.0.1:%d" % (
            audio_addr(answer["sdp"]), audio_addr(offer["sdp"]), a_local, b_local))


if __name__ == "__main__":
    sys.exit(main())
