#!/usr/bin/env python3
"""A scripted H.323 endpoint for gatewayd's end-to-end tests (no packaged H.323 endpoint
exists in Debian or PyPI; PEERS.md §7). Written for these tests from H.225.0, H.245 and
Q.931; the ASN.1 PER codec is pycrate's.

Two modes:

  peer.py answer --ip 127.0.0.5 --port 1720 [...]
      listen, answer one incoming Setup: CallProceeding, Alerting, Connect (fast start:
      one G.711 proposal accepted each way; or slow start over tunnelled H.245: TCS, MSD,
      OpenLogicalChannel), or refuse it with ReleaseComplete (`--answer refuse`).

  peer.py call --ip 127.0.0.6 --to 127.0.0.1:1720 --called 5000 --calling 7000 [...]
      place one call from --ip: Setup with fast start proposals (G.711 u-law and A-law,
      both directions) or without (`--slow-start`), follow the answer.

`--separate-h245` (no tunnelling, slow start): H.245 runs on a TCP connection of its
own (H.225.0 §7.2). Answering, the peer listens and names its `h245Address` in
CallProceeding; calling, it connects to the first `h245Address` the gateway names (in a
response or a Facility startH245).

Either side releases with ReleaseComplete and `--cause` after `--talk` seconds of
connected call, or waits for the gateway's ReleaseComplete. While connected it sends a
sine (`--tone-hz`) as 20 ms G.711 RTP packets and records what it receives
(`--record x.wav`). `--pcap` writes the H.225.0 connection as the peer saw it.

Output: one JSON object per line on stdout, `{"event": NAME, "t": SECONDS, ...}`:
listening, tcp_connected, sent, received, setup_received, call_proceeding, alerting,
connected, media, h245_*, released {by, cause}, rtp_stats, done, and timeout / error.

Exit codes: 0 the call ran and was released (by either side), 1 internal error,
2 usage, 3 timeout (`--timeout` bounds the whole run), 4 TCP connection failed or closed
before a ReleaseComplete, 5 a message that does not decode.
"""

import argparse
import json
import os
import random
import selectors
import socket
import sys
import time
import traceback

# Our modules sit beside this script; leave no __pycache__ in the source tree.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import h245  # noqa: E402
import media  # noqa: E402
import pcap  # noqa: E402
import wire  # noqa: E402

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_TIMEOUT = 3
EXIT_CONNECTION = 4
EXIT_PROTOCOL = 5

T0 = time.monotonic()


def emit(event, **fields):
    line = {"event": event, "t": round(time.monotonic() - T0, 3)}
    line.update(fields)
    print(json.dumps(line, sort_keys=False), flush=True)


class Exit(Exception):
    def __init__(self, code, what):
        super().__init__(what)
        self.code = code
        self.what = what


def host_port(text):
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected IP:PORT, got {text!r}")
    return host, int(port)


def codec_list(text):
    codecs = [c.strip().upper() for c in text.split(",") if c.strip()]
    bad = [c for c in codecs if c not in media.PAYLOAD_TYPES]
    if not codecs or bad:
        raise argparse.ArgumentTypeError(f"codecs are PCMU and/or PCMA, got {text!r}")
    return codecs


class Peer:
    def __init__(self, args):
        self.args = args
        self.mode = args.mode
        self.sel = selectors.DefaultSelector()
        self.deadline = T0 + args.timeout
        self.rtp = media.RtpSession(args.ip, args.tone_hz, args.level)
        self.sel.register(self.rtp.rtp, selectors.EVENT_READ, self.rtp.on_rtp)
        self.sel.register(self.rtp.rtcp, selectors.EVENT_READ, self.rtp.on_rtcp)
        self.writer = pcap.PcapWriter(args.pcap) if args.pcap else None
        self.flow = None
        self.sock = None
        self.listener = None
        self.reader = wire.TpktReader()
        self.timers = []
        self.state = "idle"
        self.crv = None
        self.call_id = None
        self.conference_id = None
        self.tunnelling = False
        self.control = None
        self.proposals = []
        self.fast_answered = False
        self.media_mode = None
        self.release = None
        self.finished = False
        self.separate = args.separate_h245
        self.h245_listener = None
        self.h245_sock = None
        self.h245_reader = wire.TpktReader()
        self.h245_flow = None
        self.h245_accepted = False

    # ----- plumbing -----------------------------------------------------------------

    @property
    def our_side(self):
        return "server" if self.mode == "answer" else "client"

    @property
    def their_side(self):
        return "client" if self.mode == "answer" else "server"

    def at(self, delay, name, fn):
        self.timers.append((time.monotonic() + delay, name, fn))

    def run(self):
        if self.mode == "answer":
            self.listen()
        else:
            self.place_call()
        while not self.finished:
            now = time.monotonic()
            if now >= self.deadline:
                raise Exit(EXIT_TIMEOUT, f"--timeout {self.args.timeout}s ran out in state {self.state}")
            self.rtp.send_due(now)
            for timer in sorted(t for t in self.timers if t[0] <= now):
                self.timers.remove(timer)
                timer[2]()
                if self.finished:
                    return
            waits = [self.deadline - now, 0.25]
            if self.rtp.timeout(now) is not None:
                waits.append(self.rtp.timeout(now))
            waits.extend(t[0] - now for t in self.timers)
            for key, _ in self.sel.select(max(0.0, min(waits))):
                key.data()
                if self.finished:
                    return

    def connection_up(self, sock, local, remote):
        self.sock = sock
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self.sel.register(sock, selectors.EVENT_READ, self.on_readable)
        if self.writer:
            client, server = (remote, local) if self.mode == "answer" else (local, remote)
            self.flow = pcap.TcpFlow(self.writer, client, server)
        emit("tcp_connected", local=f"{local[0]}:{local[1]}", remote=f"{remote[0]}:{remote[1]}")

    def on_readable(self):
        try:
            data = self.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            raise Exit(EXIT_CONNECTION, f"H.225.0 connection failed: {e}") from e
        if not data:
            if self.flow:
                self.flow.close(self.their_side)
            raise Exit(EXIT_CONNECTION, f"the remote closed the H.225.0 connection in state {self.state}")
        if self.flow:
            self.flow.data(self.their_side, data)
        try:
            payloads = self.reader.feed(data)
        except wire.WireError as e:
            raise Exit(EXIT_PROTOCOL, str(e)) from e
        for payload in payloads:
            try:
                msg = wire.decode_message(payload)
            except Exception as e:  # noqa: BLE001 - pycrate raises its own error types
                raise Exit(EXIT_PROTOCOL, f"undecodable H.225.0 message {payload.hex()}: {e}") from e
            self.on_message(msg)
            if self.finished:
                return

    def send(self, msg_type, body_name, body, ies=()):
        h245_out = self.control.take_outgoing() if self.control and self.tunnelling else []
        self.flush_h245_events()
        uuie = wire.user_information(body_name, body, self.tunnelling, h245_out)
        payload = wire.encode_message(msg_type, self.crv, self.mode == "answer", list(ies), uuie)
        data = wire.tpkt(payload)
        # Recorded (and flushed) before it leaves: a test that stops the peer as soon as
        # the gateway has acted on the message still finds it in the pcap.
        if self.flow:
            self.flow.data(self.our_side, data)
        self.sock.setblocking(True)
        self.sock.settimeout(5)
        try:
            self.sock.sendall(data)
        except OSError as e:
            raise Exit(EXIT_CONNECTION, f"sending {body_name}: {e}") from e
        finally:
            self.sock.setblocking(False)
        emit("sent", message=body_name, h245=len(h245_out))

    def flush_h245_events(self):
        if self.control:
            for name, fields in self.control.events:
                emit(name, **fields)
            self.control.events.clear()

    def handle_h245(self, msg):
        """Tunnelled H.245 carried by `msg`, then whatever H.245 it made us send (in a
        Facility when the call is up and not being released)."""
        if not (self.control and self.tunnelling):
            return
        for item in msg.pdu.get("h245Control", []):
            try:
                self.control.handle(item)
            except Exception as e:  # noqa: BLE001 - pycrate raises its own error types
                raise Exit(EXIT_PROTOCOL, f"undecodable tunnelled H.245 {item.hex()}: {e}") from e
        self.flush_h245_events()
        self.check_slow_start()

    def flush_h245(self):
        if (
            self.control
            and self.tunnelling
            and self.control.outgoing
            and self.state in ("proceeding", "alerting", "connected")
        ):
            self.send(wire.FACILITY, "facility", wire.facility_body(self.call_id, self.conference_id))

    def check_slow_start(self):
        got = self.control.media() if self.control else None
        if got:
            tx, remote, rx = got
            self.media_mode = "slow"
            self.rtp.start(remote, tx, time.monotonic())
            emit("media", mode="slow", tx_codec=tx, rx_codec=rx, remote_rtp=f"{remote[0]}:{remote[1]}")

    # ----- separate H.245 connection ------------------------------------------------

    def h245_listen(self):
        """Listens for the gateway's H.245 connection; returns our h245Address."""
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.bind((self.args.ip, 0))
        lst.listen(1)
        lst.setblocking(False)
        self.sel.register(lst, selectors.EVENT_READ, self.on_h245_accept)
        self.h245_listener = lst
        addr = lst.getsockname()
        emit("h245_listening", address=f"{addr[0]}:{addr[1]}")
        return addr

    def on_h245_accept(self):
        sock, remote = self.h245_listener.accept()
        self.sel.unregister(self.h245_listener)
        self.h245_listener.close()
        self.h245_listener = None
        self.h245_up(sock, sock.getsockname(), remote, accepted=True)

    def h245_connect(self, addr):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.args.ip, 0))
        sock.settimeout(max(0.1, min(5.0, self.deadline - time.monotonic())))
        try:
            sock.connect(addr)
        except OSError as e:
            raise Exit(EXIT_CONNECTION, f"cannot connect to H.245 at {addr[0]}:{addr[1]}: {e}") from e
        self.h245_up(sock, sock.getsockname(), addr, accepted=False)

    def h245_up(self, sock, local, remote, accepted):
        self.h245_sock = sock
        self.h245_accepted = accepted
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        self.sel.register(sock, selectors.EVENT_READ, self.on_h245_readable)
        if self.writer:
            client, server = (remote, local) if accepted else (local, remote)
            self.h245_flow = pcap.TcpFlow(self.writer, client, server)
        emit("h245_connected", local=f"{local[0]}:{local[1]}", remote=f"{remote[0]}:{remote[1]}", accepted=accepted)
        if self.control is None:
            self.control = h245.Control(self.args.codecs, True, self.rtp.local, self.rtp.local_rtcp)
        self.control.slow_start = True
        self.control.start()
        self.flush_link()

    def h245_side(self, ours):
        if ours:
            return "server" if self.h245_accepted else "client"
        return "client" if self.h245_accepted else "server"

    def on_h245_readable(self):
        try:
            data = self.h245_sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            emit("h245_closed")
            if self.h245_flow:
                self.h245_flow.close(self.h245_side(False))
            self.close_link()
            return
        if self.h245_flow:
            self.h245_flow.data(self.h245_side(False), data)
        try:
            payloads = self.h245_reader.feed(data)
        except wire.WireError as e:
            raise Exit(EXIT_PROTOCOL, f"H.245 connection: {e}") from e
        for payload in payloads:
            try:
                self.control.handle(payload)
            except Exception as e:  # noqa: BLE001 - pycrate raises its own error types
                raise Exit(EXIT_PROTOCOL, f"undecodable H.245 {payload.hex()}: {e}") from e
        self.flush_h245_events()
        self.check_slow_start()
        self.flush_link()

    def flush_link(self):
        """Sends what H.245 waits on the separate connection."""
        if not (self.h245_sock and self.control):
            return
        for item in self.control.take_outgoing():
            data = wire.tpkt(item)
            self.h245_sock.setblocking(True)
            self.h245_sock.settimeout(5)
            try:
                self.h245_sock.sendall(data)
            except OSError as e:
                emit("error", what=f"H.245 send failed: {e}")
                break
            finally:
                self.h245_sock.setblocking(False)
            if self.h245_flow:
                self.h245_flow.data(self.h245_side(True), data)
        self.flush_h245_events()

    def close_link(self):
        if self.h245_sock:
            try:
                self.sel.unregister(self.h245_sock)
            except (KeyError, ValueError):
                pass
            self.h245_sock.close()
            self.h245_sock = None
        if self.h245_listener:
            try:
                self.sel.unregister(self.h245_listener)
            except (KeyError, ValueError):
                pass
            self.h245_listener.close()
            self.h245_listener = None

    def peer_h245_address(self, body):
        """Connects to an h245Address the gateway names (once)."""
        if not self.separate or self.h245_sock or not isinstance(body, dict):
            return
        addr = body.get("h245Address")
        if not addr or addr[0] != "ipAddress":
            return
        ip = ".".join(str(b) for b in addr[1]["ip"])
        self.h245_connect((ip, addr[1]["port"]))

    # ----- answering ----------------------------------------------------------------

    def listen(self):
        a = self.args
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((a.ip, a.port))
        self.listener.listen(1)
        self.listener.setblocking(False)
        self.sel.register(self.listener, selectors.EVENT_READ, self.on_accept)
        self.state = "listening"
        emit("listening", ip=a.ip, port=self.listener.getsockname()[1])

    def on_accept(self):
        sock, remote = self.listener.accept()
        self.sel.unregister(self.listener)
        self.listener.close()
        self.listener = None
        self.state = "waiting-setup"
        self.connection_up(sock, sock.getsockname(), remote)

    def on_setup(self, msg):
        a = self.args
        name, body = msg.body
        if name != "setup":
            raise Exit(EXIT_PROTOCOL, f"a Setup without a setup UUIE ({name})")
        self.crv = msg.crv
        self.call_id = body.get("callIdentifier", {}).get("guid", bytes(16))
        self.conference_id = body["conferenceID"]
        self.tunnelling = a.tunnelling and bool(msg.pdu.get("h245Tunnelling"))
        self.proposals = body.get("fastStart", [])
        called = msg.ie(wire.IE_CALLED_NUMBER)
        calling = msg.ie(wire.IE_CALLING_NUMBER)
        read = [h245.read_proposal(p) for p in self.proposals]
        emit(
            "setup_received",
            called=wire.read_number(called) if called is not None else None,
            calling=wire.read_number(calling) if calling is not None else None,
            crv=self.crv,
            call_id=self.call_id.hex(),
            tunnelling=bool(msg.pdu.get("h245Tunnelling")),
            fast_start=[
                {"flow": p["flow"], "codec": p["codec"], "media": "%s:%d" % p["media"] if p["media"] else None}
                if p
                else None
                for p in read
            ],
            bearer=(msg.ie(wire.IE_BEARER_CAPABILITY) or b"").hex(),
        )
        slow = a.slow_start or not self.proposals
        if self.tunnelling:
            self.control = h245.Control(a.codecs, slow, self.rtp.local, self.rtp.local_rtcp)
        self.handle_h245(msg)
        proceeding = wire.response_body(self.call_id)
        if self.separate:
            proceeding["h245Address"] = wire.transport_address(*self.h245_listen())
        self.send(wire.CALL_PROCEEDING, "callProceeding", proceeding)
        self.state = "proceeding"
        if a.answer == "refuse":
            self.release_by_us()
            return
        self.send(wire.ALERTING, "alerting", wire.response_body(self.call_id))
        self.state = "alerting"
        self.at(a.alert_ms / 1000.0, "connect", self.answer_call)

    def answer_call(self):
        a = self.args
        elements, refused = None, False
        if self.proposals and not a.slow_start:
            got = h245.answer_proposals(self.proposals, a.codecs, self.rtp.local, self.rtp.local_rtcp)
            if got:
                elements, codec, remote = got
                self.media_mode = "fast"
                self.rtp.start(remote, codec, time.monotonic())
            else:
                refused = True
        elif self.proposals:
            refused = True
        if elements is None and self.control:
            self.control.slow_start = True
            self.control.start()
            self.control.progress()  # open our channel if ready
        body = wire.response_body(self.call_id, elements, self.conference_id, refused)
        self.send(wire.CONNECT, "connect", body)
        self.state = "connected"
        fields = {"mode": self.media_mode or "slow-pending"}
        if self.media_mode == "fast":
            fields.update(tx_codec=self.rtp.codec, remote_rtp="%s:%d" % self.rtp.remote)
        emit("connected", **fields)
        self.after_connect()

    # ----- calling ------------------------------------------------------------------

    def place_call(self):
        a = self.args
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((a.ip, 0))
        sock.settimeout(max(0.1, min(5.0, self.deadline - time.monotonic())))
        try:
            sock.connect(a.to)
        except OSError as e:
            raise Exit(EXIT_CONNECTION, f"cannot connect to {a.to[0]}:{a.to[1]}: {e}") from e
        self.connection_up(sock, sock.getsockname(), a.to)
        self.crv = random.randint(1, 0x7FFF)
        self.call_id = random.randbytes(16)
        self.conference_id = random.randbytes(16)
        self.tunnelling = a.tunnelling
        if self.tunnelling:
            self.control = h245.Control(a.codecs, a.slow_start, self.rtp.local, self.rtp.local_rtcp)
        fast = []
        if not a.slow_start:
            lcn = h245.FIRST_LCN + 10
            for codec in a.codecs:
                fast.append(h245.encode_olc(h245.proposal_receive(lcn, codec, self.rtp.local, self.rtp.local_rtcp)))
                fast.append(h245.encode_olc(h245.proposal_send(lcn + 1, codec, self.rtp.local_rtcp)))
                lcn += 2
        ies = [
            (wire.IE_BEARER_CAPABILITY, wire.bearer_capability(a.codecs[0].lower())),
            (wire.IE_CALLED_NUMBER, wire.party_number(a.called)),
        ]
        if a.calling:
            ies.append((wire.IE_CALLING_NUMBER, wire.party_number(a.calling)))
        body = wire.setup_body(
            self.call_id,
            self.conference_id,
            a.called,
            a.calling,
            self.sock.getsockname(),
            fast,
        )
        self.send(wire.SETUP, "setup", body, ies)
        self.state = "setup-sent"
        emit("call_placed", crv=self.crv, call_id=self.call_id.hex(), called=a.called, calling=a.calling)

    def on_response(self, msg):
        name, body = msg.body
        first = self.state == "setup-sent"
        if first and self.control:
            self.tunnelling = bool(msg.pdu.get("h245Tunnelling"))
            if self.tunnelling:
                self.control.start()
        if name in ("callProceeding", "alerting", "connect", "progress", "facility") and isinstance(body, dict):
            if "fastStart" in body and not self.fast_answered:
                got = h245.read_answer(body["fastStart"])
                if got:
                    tx, remote, rx = got
                    self.fast_answered = True
                    self.media_mode = "fast"
                    self.rtp.start(remote, tx, time.monotonic())
                    emit("media", mode="fast", tx_codec=tx, rx_codec=rx, remote_rtp="%s:%d" % remote)
        self.handle_h245(msg)
        if name == "callProceeding":
            self.state = "proceeding"
            emit("call_proceeding")
        elif name == "alerting":
            self.state = "alerting"
            emit("alerting")
        elif name == "connect":
            self.state = "connected"
            if not self.fast_answered and self.control:
                # Fast start refused or not answered by Connect: H.245 slow start.
                self.control.slow_start = True
                self.control.progress()
            emit("connected", mode=self.media_mode or "slow-pending")
            self.after_connect()
            return
        self.flush_h245()

    # ----- both ---------------------------------------------------------------------

    def after_connect(self):
        self.flush_h245_events()
        self.flush_h245()
        self.check_slow_start()
        if self.args.talk is not None:
            self.at(self.args.talk, "release", self.release_by_us)

    def on_message(self, msg):
        name, _ = msg.body
        fields = {"message": msg.name, "body": name}
        if msg.cause is not None:
            fields["cause"] = msg.cause
        h245_items = msg.pdu.get("h245Control", [])
        if h245_items:
            fields["h245"] = len(h245_items)
        emit("received", **fields)
        if msg.msg_type == wire.RELEASE_COMPLETE:
            if self.control and self.tunnelling:
                for item in h245_items:
                    try:
                        self.control.handle(item)
                    except Exception:  # noqa: BLE001
                        pass
                self.control.outgoing.clear()  # the call is gone: nothing more to send
                self.flush_h245_events()
            self.released("remote", msg.cause if msg.cause is not None else None, name)
            return
        if self.mode == "answer" and self.state == "waiting-setup":
            if msg.msg_type != wire.SETUP:
                raise Exit(EXIT_PROTOCOL, f"expected a Setup, got {msg.name}")
            self.on_setup(msg)
            return
        if self.crv is not None and msg.crv != self.crv:
            emit("error", what=f"message for call reference {msg.crv}, ours is {self.crv}")
        self.peer_h245_address(msg.body[1])
        if self.mode == "call":
            self.on_response(msg)
        else:
            self.handle_h245(msg)
            self.flush_h245()

    def release_by_us(self):
        if self.control and self.tunnelling and self.control.started:
            self.control.end_session()
        if self.h245_sock and self.control:
            # H.323 §8.5: endSessionCommand before ReleaseComplete.
            self.control.end_session()
            self.flush_link()
        ies = [(wire.IE_CAUSE, wire.cause_ie(self.args.cause))]
        self.send(wire.RELEASE_COMPLETE, "releaseComplete", wire.release_complete_body(self.call_id), ies)
        self.released("us", self.args.cause, None)

    def released(self, by, cause, body):
        self.state = "released"
        fields = {"by": by, "cause": cause}
        if by == "remote" and body != "releaseComplete":
            fields["uuie"] = body
        emit("released", **fields)
        self.finish(first_to_close=self.our_side if by == "us" else self.their_side)

    def finish(self, first_to_close=None):
        if self.h245_flow and first_to_close:
            self.h245_flow.close(first_to_close)
        self.close_link()
        self.rtp.stop()
        if self.args.record:
            self.rtp.write_wav(self.args.record)
        emit("rtp_stats", wav=self.args.record, mode=self.media_mode, **self.rtp.stats())
        if self.flow and first_to_close:
            self.flow.close(first_to_close)
        if self.sock:
            try:
                self.sel.unregister(self.sock)
            except (KeyError, ValueError):
                pass
            self.sock.close()
            self.sock = None
        self.finished = True

    def close(self):
        self.close_link()
        if self.sock:
            self.sock.close()
        if self.listener:
            self.listener.close()
        self.rtp.close()
        if self.writer:
            self.writer.close()


def parse_args(argv):
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--ip", required=True, help="our address (listen / source), e.g. 127.0.0.5")
    common.add_argument("--codecs", type=codec_list, default=["PCMU", "PCMA"], help="G.711 preference, e.g. PCMA,PCMU")
    common.add_argument("--tone-hz", type=float, default=700.0, help="frequency of the sine we send")
    common.add_argument("--level", type=float, default=0.5, help="tone level, fraction of full scale")
    common.add_argument("--record", help="write the audio we receive to this WAV file")
    common.add_argument("--pcap", help="write the H.225.0 connection to this pcap file")
    common.add_argument("--timeout", type=float, default=30.0, help="bound on the whole run, seconds")
    common.add_argument("--talk", type=float, help="release this many seconds after connect (default: wait for the remote)")
    common.add_argument("--cause", type=int, default=16, help="Q.850 cause of our ReleaseComplete")
    common.add_argument("--slow-start", action="store_true", help="no fast start: media by tunnelled H.245")
    common.add_argument(
        "--no-tunnelling", dest="tunnelling", action="store_false", help="h245Tunnelling FALSE (fast start only)"
    )
    common.add_argument(
        "--separate-h245",
        action="store_true",
        help="no tunnelling, slow start: H.245 on its own TCP connection",
    )
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    ans = sub.add_parser("answer", parents=[common], help="listen and answer one call")
    ans.add_argument("--port", type=int, required=True, help="H.225.0 listen port (0: any)")
    ans.add_argument("--alert-ms", type=int, default=200, help="Alerting to Connect delay")
    ans.add_argument("--answer", choices=["connect", "refuse"], default="connect")
    call = sub.add_parser("call", parents=[common], help="place one call")
    call.add_argument("--to", type=host_port, required=True, help="the gateway's H.225.0 address IP:PORT")
    call.add_argument("--called", required=True)
    call.add_argument("--calling", default="")
    args = parser.parse_args(argv)
    if args.separate_h245:
        args.tunnelling = False
        args.slow_start = True
    if not 1 <= args.cause <= 127:
        parser.error("--cause is a Q.850 cause value, 1-127")
    return args


def main(argv):
    try:
        args = parse_args(argv)
    except SystemExit as e:
        return EXIT_USAGE if e.code else EXIT_OK
    peer = None
    code = EXIT_OK
    try:
        peer = Peer(args)
        peer.run()
    except Exit as e:
        code = e.code
        emit("timeout" if code == EXIT_TIMEOUT else "error", what=e.what, exit=code)
        if peer and not peer.finished:
            try:
                peer.finish()
            except Exception:  # noqa: BLE001 - best effort: stats and the WAV
                pass
    except Exception as e:  # noqa: BLE001
        code = EXIT_ERROR
        emit("error", what=f"{type(e).__name__}: {e}", exit=code)
        traceback.print_exc()
    finally:
        if peer:
            peer.close()
    emit("done", exit=code)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
