"""H.245 for the scripted peer, on pycrate's aligned-PER codec: fast start
OpenLogicalChannel proposals and answers (H.323 §8.1.7), and a tunnelled control channel
(H.245 §8) reduced to one audio session: capability exchange, master/slave
determination (Annex C.2), unidirectional logical channels, endSessionCommand.
"""

import random

from pycrate_asn1dir import H245

MSCM = H245.MULTIMEDIA_SYSTEM_CONTROL.MultimediaSystemControlMessage
OLC = H245.MULTIMEDIA_SYSTEM_CONTROL.OpenLogicalChannel

# itu-t(0) recommendation(0) h(8) 245 version(0) 7.
PROTOCOL_ID = (0, 0, 8, 245, 0, 7)

# H.323 Table 1: a terminal (no MC).
TERMINAL_TYPE = 50

AUDIO_SESSION = 1

CAPABILITY = {"PCMU": "g711Ulaw64k", "PCMA": "g711Alaw64k"}
CODEC_OF_CAPABILITY = {v: k for k, v in CAPABILITY.items()}

# Our logical channel numbers (the gateway numbers its own from 1).
FIRST_LCN = 101


class H245Error(Exception):
    pass


def _roundtrip(obj, value):
    obj.set_val(value)
    data = obj.to_aper()
    obj.from_aper(data)
    if obj.get_val() != value:
        raise H245Error(f"pycrate round trip differs for {value!r}")
    return data


def encode(value):
    """An aligned-PER MultimediaSystemControlMessage, checked by decoding it again."""
    return _roundtrip(MSCM, value)


def decode(data):
    MSCM.from_aper(data)
    return MSCM.get_val()


def message_name(value):
    """`terminalCapabilitySet`, `openLogicalChannelAck`, ... of a decoded message."""
    return value[1][0]


def address(ip, port):
    """H.245 TransportAddress (unicast IPv4)."""
    network = bytes(int(x) for x in ip.split("."))
    return ("unicastAddress", ("iPAddress", {"network": network, "tsapIdentifier": port}))


def socket_of(addr):
    """(ip, port) of an H.245 TransportAddress, or None."""
    if not addr or addr[0] != "unicastAddress" or addr[1][0] != "iPAddress":
        return None
    ip = addr[1][1]
    return (".".join(str(b) for b in ip["network"]), ip["tsapIdentifier"])


def audio(codec, frames=20):
    return ("audioData", (CAPABILITY[codec], frames))


def codec_of_data_type(data_type):
    if data_type[0] != "audioData":
        return None
    return CODEC_OF_CAPABILITY.get(data_type[1][0])


# ----- fast start -----------------------------------------------------------------------


def proposal_send(lcn, codec, rtcp):
    """A channel the proposer sends on: forward audio, our RTCP as control channel."""
    return {
        "forwardLogicalChannelNumber": lcn,
        "forwardLogicalChannelParameters": {
            "dataType": audio(codec),
            "multiplexParameters": (
                "h2250LogicalChannelParameters",
                {
                    "sessionID": AUDIO_SESSION,
                    "mediaControlChannel": address(*rtcp),
                    "silenceSuppression": False,
                },
            ),
        },
    }


def proposal_receive(lcn, codec, rtp, rtcp):
    """A channel the proposer receives on: forward nullData, reverse audio with our RTP."""
    return {
        "forwardLogicalChannelNumber": lcn,
        "forwardLogicalChannelParameters": {
            "dataType": ("nullData", 0),
            "multiplexParameters": ("none", 0),
        },
        "reverseLogicalChannelParameters": {
            "dataType": audio(codec),
            "multiplexParameters": (
                "h2250LogicalChannelParameters",
                {
                    "sessionID": AUDIO_SESSION,
                    "mediaChannel": address(*rtp),
                    "mediaControlChannel": address(*rtcp),
                },
            ),
        },
    }


def encode_olc(value):
    return _roundtrip(OLC, value)


def decode_olc(data):
    OLC.from_aper(data)
    return OLC.get_val()


def read_proposal(data):
    """A fastStart element as {lcn, flow, codec, media, control, value}; flow is
    `proposer_sends` or `proposer_receives`; None for what is not one-way G.711 audio."""
    try:
        olc = decode_olc(data)
    except Exception:  # noqa: BLE001 - anything undecodable is just not usable
        return None
    fwd = olc["forwardLogicalChannelParameters"]
    rev = olc.get("reverseLogicalChannelParameters")
    if fwd["dataType"][0] == "audioData" and rev is None:
        flow, data_type, mux = "proposer_sends", fwd["dataType"], fwd["multiplexParameters"]
    elif fwd["dataType"][0] == "nullData" and rev is not None:
        flow, data_type, mux = "proposer_receives", rev["dataType"], rev.get("multiplexParameters")
    else:
        return None
    codec = codec_of_data_type(data_type)
    if codec is None:
        return None
    params = mux[1] if mux and mux[0] == "h2250LogicalChannelParameters" else {}
    return {
        "lcn": olc["forwardLogicalChannelNumber"],
        "flow": flow,
        "codec": codec,
        "frames": data_type[1][1],
        "media": socket_of(params.get("mediaChannel")),
        "control": socket_of(params.get("mediaControlChannel")),
        "value": olc,
    }


def answer_proposals(elements, prefs, rtp, rtcp):
    """As the answerer, accept one G.711 channel each way: the caller's receive channel
    with the first codec of `prefs` it proposes (we send there), and its send channel of
    that codec with our RTP as `mediaChannel`. Returns (elements, codec, remote_rtp) or
    None when no proposal fits."""
    proposals = [p for p in (read_proposal(e) for e in elements) if p]
    receive = None
    for codec in prefs:
        receive = next(
            (p for p in proposals if p["flow"] == "proposer_receives" and p["codec"] == codec and p["media"]),
            None,
        )
        if receive:
            break
    if receive is None:
        return None
    send = next(
        (p for p in proposals if p["flow"] == "proposer_sends" and p["codec"] == receive["codec"]),
        None,
    )
    out = []
    if send is not None:
        olc = send["value"]
        params = olc["forwardLogicalChannelParameters"]["multiplexParameters"][1]
        params["mediaChannel"] = address(*rtp)
        params["mediaControlChannel"] = address(*rtcp)
        out.append(encode_olc(olc))
    olc = receive["value"]
    params = olc["reverseLogicalChannelParameters"]["multiplexParameters"][1]
    params["mediaControlChannel"] = address(*rtcp)
    out.append(encode_olc(olc))
    return out, receive["codec"], receive["media"]


def read_answer(elements):
    """As the proposer, the accepted channels of a fastStart answer: (codec we send,
    where to, codec the answerer sends) or None when no send channel was accepted."""
    accepted = [p for p in (read_proposal(e) for e in elements) if p]
    ours = next((p for p in accepted if p["flow"] == "proposer_sends" and p["media"]), None)
    theirs = next((p for p in accepted if p["flow"] == "proposer_receives"), None)
    if ours is None:
        return None
    return ours["codec"], ours["media"], theirs["codec"] if theirs else None


# ----- the control channel --------------------------------------------------------------


def determine(our_type, our_sdn, their_type, their_sdn):
    """H.245 Annex C.2.1: True when we are master, None when indeterminate."""
    if our_type != their_type:
        return our_type > their_type
    diff = (their_sdn - our_sdn) & 0xFFFFFF
    if diff in (0, 0x800000):
        return None
    return diff < 0x800000


class Control:
    """One tunnelled H.245 session. Feed it received messages with `handle`; take what to
    send with `take_outgoing`; `events` collects (name, fields) for the log."""

    def __init__(self, prefs, slow_start, local_rtp, local_rtcp):
        self.prefs = list(prefs)
        self.slow_start = slow_start
        self.local_rtp = local_rtp
        self.local_rtcp = local_rtcp
        self.started = False
        self.outgoing = []
        self.events = []
        self.tcs_seq = 1
        self.tcs_acked = False
        self.remote_codecs = None
        self.sdn = random.getrandbits(24)
        self.msd = "idle"  # idle, outgoing, incoming, determined
        self.master = None
        self.our_lcn = FIRST_LCN
        self.our_channel = None  # None, ("proposed", codec), ("open", codec, rtp)
        self.their_channel = None  # (lcn, codec)
        self.media_reported = False
        self.end_sent = False
        self.end_received = False

    def _send(self, value):
        self.outgoing.append(encode(value))
        self.events.append(("h245_sent", {"message": message_name(value)}))

    def take_outgoing(self):
        out, self.outgoing = self.outgoing, []
        return out

    def start(self):
        """Our TerminalCapabilitySet and MasterSlaveDetermination."""
        if self.started:
            return
        self.started = True
        table = [
            {
                "capabilityTableEntryNumber": i + 1,
                "capability": ("receiveAudioCapability", (CAPABILITY[c], 20)),
            }
            for i, c in enumerate(self.prefs)
        ]
        self._send(
            (
                "request",
                (
                    "terminalCapabilitySet",
                    {
                        "sequenceNumber": self.tcs_seq,
                        "protocolIdentifier": PROTOCOL_ID,
                        "capabilityTable": table,
                        "capabilityDescriptors": [
                            {
                                "capabilityDescriptorNumber": 0,
                                "simultaneousCapabilities": [[e["capabilityTableEntryNumber"] for e in table]],
                            }
                        ],
                    },
                ),
            )
        )
        if self.msd == "idle":
            self._send_msd()
        self.progress()

    def _send_msd(self):
        self.msd = "outgoing"
        self._send(
            (
                "request",
                (
                    "masterSlaveDetermination",
                    {"terminalType": TERMINAL_TYPE, "statusDeterminationNumber": self.sdn},
                ),
            )
        )

    def _msd_ack(self, remote_is_master):
        decision = ("master", 0) if remote_is_master else ("slave", 0)
        self._send(("response", ("masterSlaveDeterminationAck", {"decision": decision})))

    def end_session(self):
        if not self.end_sent:
            self.end_sent = True
            self._send(("command", ("endSessionCommand", ("disconnect", 0))))

    def handle(self, data):
        value = decode(data)
        kind, (name, body) = value
        self.events.append(("h245_received", {"message": name}))
        if not self.started:
            self.start()
        if kind == "request":
            self._request(name, body)
        elif kind == "response":
            self._response(name, body)
        elif kind == "command" and name == "endSessionCommand":
            self.end_received = True
            self.end_session()
        self.progress()

    def _request(self, name, body):
        if name == "terminalCapabilitySet":
            codecs = []
            for entry in body.get("capabilityTable", []):
                cap = entry.get("capability")
                if cap and cap[0] in ("receiveAudioCapability", "receiveAndTransmitAudioCapability"):
                    codec = CODEC_OF_CAPABILITY.get(cap[1][0])
                    if codec and codec not in codecs:
                        codecs.append(codec)
            self.remote_codecs = codecs
            self.events.append(("h245_capabilities", {"codecs": codecs}))
            self._send(("response", ("terminalCapabilitySetAck", {"sequenceNumber": body["sequenceNumber"]})))
        elif name == "masterSlaveDetermination":
            we_master = determine(TERMINAL_TYPE, self.sdn, body["terminalType"], body["statusDeterminationNumber"])
            if we_master is None:
                self._send(
                    (
                        "response",
                        ("masterSlaveDeterminationReject", {"cause": ("identicalNumbers", 0)}),
                    )
                )
                self.sdn = random.getrandbits(24)
                self._send_msd()
                return
            self._msd_ack(remote_is_master=not we_master)
            self.master = we_master
            self.msd = "incoming"
        elif name == "openLogicalChannel":
            lcn = body["forwardLogicalChannelNumber"]
            codec = codec_of_data_type(body["forwardLogicalChannelParameters"]["dataType"])
            if codec is None or "reverseLogicalChannelParameters" in body:
                self._send(
                    (
                        "response",
                        (
                            "openLogicalChannelReject",
                            {"forwardLogicalChannelNumber": lcn, "cause": ("dataTypeNotSupported", 0)},
                        ),
                    )
                )
                return
            self.their_channel = (lcn, codec)
            self.events.append(("h245_channel_offered", {"lcn": lcn, "codec": codec}))
            self._send(
                (
                    "response",
                    (
                        "openLogicalChannelAck",
                        {
                            "forwardLogicalChannelNumber": lcn,
                            "forwardMultiplexAckParameters": (
                                "h2250LogicalChannelAckParameters",
                                {
                                    "sessionID": AUDIO_SESSION,
                                    "mediaChannel": address(*self.local_rtp),
                                    "mediaControlChannel": address(*self.local_rtcp),
                                },
                            ),
                        },
                    ),
                )
            )
        elif name == "closeLogicalChannel":
            lcn = body["forwardLogicalChannelNumber"]
            self._send(("response", ("closeLogicalChannelAck", {"forwardLogicalChannelNumber": lcn})))
        elif name == "roundTripDelayRequest":
            self._send(("response", ("roundTripDelayResponse", {"sequenceNumber": body["sequenceNumber"]})))

    def _response(self, name, body):
        if name == "terminalCapabilitySetAck":
            self.tcs_acked = body["sequenceNumber"] == self.tcs_seq
        elif name == "masterSlaveDeterminationAck":
            we_master = body["decision"][0] == "master"
            if self.msd == "outgoing":
                self._msd_ack(remote_is_master=not we_master)
                self.master = we_master
            self.msd = "determined"
            self.events.append(("h245_master_slave", {"master": self.master}))
        elif name == "masterSlaveDeterminationReject":
            self.sdn = random.getrandbits(24)
            self._send_msd()
        elif name == "openLogicalChannelAck" and body["forwardLogicalChannelNumber"] == self.our_lcn:
            params = body.get("forwardMultiplexAckParameters", ("", {}))[1]
            rtp = socket_of(params.get("mediaChannel"))
            if rtp and self.our_channel:
                self.our_channel = ("open", self.our_channel[1], rtp)
        elif name == "openLogicalChannelReject":
            self.events.append(("h245_channel_rejected", {"lcn": body["forwardLogicalChannelNumber"]}))

    def progress(self):
        """Slow start: open our channel once capabilities are known and the
        determination is done."""
        if (
            self.slow_start
            and self.our_channel is None
            and self.remote_codecs is not None
            and self.msd == "determined"
        ):
            codec = next((c for c in self.prefs if c in self.remote_codecs), None)
            if codec is None:
                self.events.append(("h245_no_common_codec", {"remote": self.remote_codecs}))
                self.our_channel = ("none",)
                return
            self.our_channel = ("proposed", codec)
            self._send(
                (
                    "request",
                    (
                        "openLogicalChannel",
                        {
                            "forwardLogicalChannelNumber": self.our_lcn,
                            "forwardLogicalChannelParameters": {
                                "dataType": audio(codec),
                                "multiplexParameters": (
                                    "h2250LogicalChannelParameters",
                                    {
                                        "sessionID": AUDIO_SESSION,
                                        "mediaControlChannel": address(*self.local_rtcp),
                                        "silenceSuppression": False,
                                    },
                                ),
                            },
                        },
                    ),
                )
            )

    def media(self):
        """Once, when slow start is done: (codec we send, remote RTP, codec they send)."""
        if self.media_reported or not self.our_channel or self.our_channel[0] != "open":
            return None
        if self.their_channel is None:
            return None
        self.media_reported = True
        return self.our_channel[1], self.our_channel[2], self.their_channel[1]
