#!/usr/bin/env python3
"""A scripted H.323 gatekeeper (RAS over UDP, H.225.0 §7) for gatewayd's end-to-end
tests. Written for these tests from H.225.0; the ASN.1 PER codec is pycrate's.

  gatekeeper.py --ip 127.0.0.9 [--port 0] [--gk-id GK-TEST] [--ttl 60]
                [--route 5=127.0.0.1:1720 ...] [--reject 17=calledPartyNotRegistered ...]
                [--routed] [--irq] [--pcap ras.pcap] [--timeout 40]

Answers GRQ with GCF, RRQ with RCF (endpoint identifier `EP-<n>`, `--ttl`), ARQ with
ACF naming the `--route` address of the longest matching called-number prefix
(`callModel` gatekeeperRouted with `--routed`) or ARJ with the `--reject` reason, DRQ
with DCF, URQ with UCF, BRQ with BCF. With `--irq` it sends one IRQ after the first RCF
and expects the IRR. Every message it builds is round-tripped through pycrate before it
goes out (PEERS.md §7). `--pcap` writes every datagram as UDP to/from port 1719 of
--ip, so tshark decodes it as RAS.

Output: one JSON object per line on stdout: listening {port}, received {message, seq,
...}, sent {message, seq}, and timeout / error. Exits 0 on SIGTERM or --timeout with
everything answered, 1 on an internal error, 5 on a datagram that does not decode.
"""

import argparse
import json
import os
import signal
import socket
import sys
import time
import traceback

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from pycrate_asn1dir import H225  # noqa: E402

import pcap  # noqa: E402

RAS = H225.H323_MESSAGES.RasMessage
PROTOCOL_ID = (0, 0, 8, 2250, 0, 4)

T0 = time.monotonic()


def emit(event, **fields):
    line = {"event": event, "t": round(time.monotonic() - T0, 3)}
    line.update(fields)
    print(json.dumps(line), flush=True)


def encode(value):
    RAS.set_val(value)
    data = RAS.to_aper()
    RAS.from_aper(data)
    if RAS.get_val() != value:
        raise RuntimeError(f"pycrate round trip differs for {value!r}")
    return data


def decode(data):
    RAS.from_aper(data)
    return RAS.get_val()


def address(ip, port):
    return ("ipAddress", {"ip": bytes(int(x) for x in ip.split(".")), "port": port})


def socket_of(addr):
    if not addr or addr[0] != "ipAddress":
        return None
    return ".".join(str(b) for b in addr[1]["ip"]), addr[1]["port"]


def aliases(values):
    out = []
    for kind, v in values or []:
        out.append({"kind": kind, "value": v if isinstance(v, str) else None})
    return out


def host_port(text):
    host, _, port = text.rpartition(":")
    return host, int(port)


class Gatekeeper:
    def __init__(self, args):
        self.args = args
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((args.ip, args.port))
        self.local = self.sock.getsockname()
        self.writer = pcap.PcapWriter(args.pcap) if args.pcap else None
        self.routes = {}
        for r in args.route:
            prefix, _, where = r.partition("=")
            self.routes[prefix] = host_port(where)
        self.rejects = {}
        for r in args.reject:
            prefix, _, reason = r.partition("=")
            self.rejects[prefix] = reason
        self.endpoints = 0
        self.irq_sent = False
        self.seq = 30000

    def record(self, src, dst, data):
        if self.writer:
            # As seen on the well-known RAS port, so tshark decodes it without options.
            s = (src[0], 1719) if src == self.local else src
            d = (dst[0], 1719) if dst == self.local else dst
            self.writer.udp(s, d, data)

    def send(self, to, value, seq):
        data = encode(value)
        # Recorded (and flushed) before it leaves: a test that stops the gatekeeper as
        # soon as the gateway has acted on the reply still finds the reply in the pcap.
        self.record(self.local, to, data)
        self.sock.sendto(data, to)
        emit("sent", message=value[0], seq=seq, to=f"{to[0]}:{to[1]}")

    def route(self, called):
        best = None
        for table in (self.rejects, self.routes):
            for prefix in table:
                if called.startswith(prefix) and (best is None or len(prefix) > len(best[1])):
                    best = (table is self.rejects, prefix)
        return best

    def on_datagram(self, data, src):
        self.record(src, self.local, data)
        try:
            name, body = decode(data)
        except Exception as e:  # noqa: BLE001 - pycrate raises its own error types
            emit("error", what=f"undecodable RAS {data.hex()}: {e}", exit=5)
            raise SystemExit(5) from e
        seq = body.get("requestSeqNum")
        fields = {"message": name, "seq": seq, "from": f"{src[0]}:{src[1]}"}
        if name == "gatekeeperRequest":
            fields["ras_address"] = "%s:%d" % socket_of(body["rasAddress"])
            fields["gatekeeper_id"] = body.get("gatekeeperIdentifier")
            emit("received", **fields)
            self.send(
                src,
                (
                    "gatekeeperConfirm",
                    {
                        "requestSeqNum": seq,
                        "protocolIdentifier": PROTOCOL_ID,
                        "gatekeeperIdentifier": self.args.gk_id,
                        "rasAddress": address(*self.local),
                    },
                ),
                seq,
            )
        elif name == "registrationRequest":
            fields.update(
                keep_alive=body.get("keepAlive"),
                endpoint_id=body.get("endpointIdentifier"),
                time_to_live=body.get("timeToLive"),
                aliases=[list(a) for a in body.get("terminalAlias", [])],
                call_signal=["%s:%d" % socket_of(a) for a in body["callSignalAddress"]],
                ras=["%s:%d" % socket_of(a) for a in body["rasAddress"]],
                gatekeeper_id=body.get("gatekeeperIdentifier"),
            )
            emit("received", **fields)
            self.endpoints += 0 if body.get("keepAlive") else 1
            ras_to = socket_of(body["rasAddress"][0]) or src
            self.send(
                ras_to,
                (
                    "registrationConfirm",
                    {
                        "requestSeqNum": seq,
                        "protocolIdentifier": PROTOCOL_ID,
                        "callSignalAddress": [],
                        "gatekeeperIdentifier": self.args.gk_id,
                        "endpointIdentifier": body.get("endpointIdentifier") or f"EP-{self.endpoints}",
                        "timeToLive": self.args.ttl,
                        "willRespondToIRR": False,
                        "maintainConnection": False,
                    },
                ),
                seq,
            )
            if self.args.irq and not self.irq_sent:
                self.irq_sent = True
                self.seq += 1
                self.send(
                    ras_to,
                    (
                        "infoRequest",
                        {"requestSeqNum": self.seq, "callReferenceValue": 0, "replyAddress": address(*self.local)},
                    ),
                    self.seq,
                )
        elif name == "admissionRequest":
            called = ""
            for kind, v in body.get("destinationInfo", []):
                if kind in ("dialedDigits", "dialledDigits"):
                    called = v
            fields.update(
                called=called,
                answer_call=body["answerCall"],
                crv=body["callReferenceValue"],
                call_id=body.get("callIdentifier", {}).get("guid", b"").hex(),
                conference_id=body["conferenceID"].hex(),
                endpoint_id=body["endpointIdentifier"],
                bandwidth=body["bandWidth"],
            )
            emit("received", **fields)
            hit = self.route(called)
            if hit is None or hit[0]:
                reason = self.rejects[hit[1]] if hit else "calledPartyNotRegistered"
                self.send(
                    src,
                    ("admissionReject", {"requestSeqNum": seq, "rejectReason": (reason, 0)}),
                    seq,
                )
                return
            dest = self.routes[hit[1]]
            self.send(
                src,
                (
                    "admissionConfirm",
                    {
                        "requestSeqNum": seq,
                        "bandWidth": body["bandWidth"],
                        "callModel": ("gatekeeperRouted", 0) if self.args.routed else ("direct", 0),
                        "destCallSignalAddress": address(*dest),
                        "willRespondToIRR": False,
                    },
                ),
                seq,
            )
        elif name == "disengageRequest":
            fields.update(
                crv=body["callReferenceValue"],
                call_id=body.get("callIdentifier", {}).get("guid", b"").hex(),
                reason=body["disengageReason"][0],
                answered_call=body.get("answeredCall"),
            )
            emit("received", **fields)
            self.send(src, ("disengageConfirm", {"requestSeqNum": seq}), seq)
        elif name == "unregistrationRequest":
            fields["endpoint_id"] = body.get("endpointIdentifier")
            emit("received", **fields)
            self.send(src, ("unregistrationConfirm", {"requestSeqNum": seq}), seq)
        elif name == "bandwidthRequest":
            emit("received", **fields)
            self.send(src, ("bandwidthConfirm", {"requestSeqNum": seq, "bandWidth": body["bandWidth"]}), seq)
        elif name == "infoRequestResponse":
            fields["endpoint_id"] = body.get("endpointIdentifier")
            emit("received", **fields)
        else:
            emit("received", **fields)

    def run(self):
        emit("listening", ip=self.local[0], port=self.local[1])
        deadline = T0 + self.args.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                emit("timeout", what=f"--timeout {self.args.timeout}s ran out")
                return 0
            self.sock.settimeout(min(left, 0.5))
            try:
                data, src = self.sock.recvfrom(65535)
            except socket.timeout:
                continue
            self.on_datagram(data, src)


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ip", required=True)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--gk-id", default="GK-TEST")
    parser.add_argument("--ttl", type=int, default=60)
    parser.add_argument("--route", action="append", default=[], help="PREFIX=IP:PORT for ACF")
    parser.add_argument("--reject", action="append", default=[], help="PREFIX=ARJ reason")
    parser.add_argument("--routed", action="store_true", help="ACF callModel gatekeeperRouted")
    parser.add_argument("--irq", action="store_true", help="send one IRQ after the first RCF")
    parser.add_argument("--pcap")
    parser.add_argument("--timeout", type=float, default=40.0)
    args = parser.parse_args(argv)
    gk = None

    def stop(*_):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    code = 0
    try:
        gk = Gatekeeper(args)
        code = gk.run()
    except SystemExit as e:
        code = e.code or 0
    except Exception as e:  # noqa: BLE001
        emit("error", what=f"{type(e).__name__}: {e}", exit=1)
        traceback.print_exc()
        code = 1
    finally:
        if gk and gk.writer:
            gk.writer.close()
    emit("done", exit=code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
