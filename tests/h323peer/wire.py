"""H.225.0 call signalling on the wire: TPKT (RFC 1006), Q.931 framing and the few
information elements an H.323 endpoint needs (ITU-T Q.931 §4, H.225.0 §7), and the
H.323-UserInformation inside the User-user IE, encoded and decoded with pycrate's
aligned-PER codec.

Every UUIE this module encodes is decoded again and compared with what was meant
(PEERS.md §7: pycrate has an encoder bug with some NULL CHOICE alternatives, e.g. a
ReleaseComplete `reason`; such a message is refused here instead of being sent).
"""

import struct

from pycrate_asn1dir import H225

UUIE = H225.H323_MESSAGES.H323_UserInformation

# H.225.0 version 4 protocol identifier: itu-t(0) recommendation(0) h(8) 2250 version(0) 4.
PROTOCOL_ID = (0, 0, 8, 2250, 0, 4)

# Q.931 §4.2 / H.225.0 §7.2.2.
PROTOCOL_DISCRIMINATOR = 0x08
USER_USER_PROTOCOL_H323 = 0x05

# Q.931 message types (Table 4-2) used by H.225.0.
ALERTING = 0x01
CALL_PROCEEDING = 0x02
PROGRESS = 0x03
SETUP = 0x05
CONNECT = 0x07
RELEASE_COMPLETE = 0x5A
STATUS_ENQUIRY = 0x75
STATUS = 0x7D
INFORMATION = 0x7B
FACILITY = 0x62
NOTIFY = 0x6E

MESSAGE_NAMES = {
    ALERTING: "alerting",
    CALL_PROCEEDING: "callProceeding",
    PROGRESS: "progress",
    SETUP: "setup",
    CONNECT: "connect",
    RELEASE_COMPLETE: "releaseComplete",
    STATUS_ENQUIRY: "statusEnquiry",
    STATUS: "status",
    INFORMATION: "information",
    FACILITY: "facility",
    NOTIFY: "notify",
}

# Information element identifiers (Q.931 Table 4-3).
IE_BEARER_CAPABILITY = 0x04
IE_CAUSE = 0x08
IE_CALL_STATE = 0x14
IE_DISPLAY = 0x28
IE_PROGRESS = 0x1E
IE_CALLING_NUMBER = 0x6C
IE_CALLED_NUMBER = 0x70
IE_USER_USER = 0x7E


class WireError(Exception):
    """Bytes that are not what H.225.0 says they should be."""


# ----- TPKT -----------------------------------------------------------------------------


def tpkt(payload):
    """One TPKT packet: version 3, reserved 0, length including the 4-octet header."""
    if len(payload) + 4 > 0xFFFF:
        raise WireError("message too long for TPKT")
    return struct.pack("!BBH", 3, 0, len(payload) + 4) + payload


class TpktReader:
    """Splits a TCP byte stream into TPKT payloads (keeps a partial packet buffered)."""

    def __init__(self):
        self.buf = b""

    def feed(self, data):
        self.buf += data
        out = []
        while len(self.buf) >= 4:
            version, _, length = struct.unpack("!BBH", self.buf[:4])
            if version != 3 or length < 4:
                raise WireError(f"not TPKT: {self.buf[:4].hex()}")
            if len(self.buf) < length:
                break
            out.append(self.buf[4:length])
            self.buf = self.buf[length:]
        return out


# ----- Q.931 information elements -------------------------------------------------------


def bearer_capability(law="pcmu"):
    """Bearer capability: ITU-T coding, speech, circuit mode 64 kbit/s, layer 1 G.711."""
    layer1 = 0xA2 if law == "pcmu" else 0xA3
    return bytes([0x80, 0x90, layer1])


def party_number(digits):
    """Called/calling party number contents: type unknown, ISDN/telephony plan, IA5 digits."""
    return bytes([0x81]) + digits.encode("ascii")


def cause_ie(value, location=0):
    """Cause contents: ITU-T coding, `location` (0 user), the Q.850 cause value."""
    return bytes([0x80 | (location & 0x0F), 0x80 | (value & 0x7F)])


def read_cause(contents):
    """The cause value of a Cause IE, skipping the optional recommendation octet 3a."""
    if not contents:
        return None
    at = 1 if contents[0] & 0x80 else 2
    if len(contents) <= at:
        return None
    return contents[at] & 0x7F


def read_number(contents):
    """Digits of a called/calling party number IE (octet 3, optional 3a, then IA5)."""
    if not contents:
        return ""
    at = 1 if contents[0] & 0x80 else 2
    return contents[at:].decode("ascii", "replace")


# ----- Q.931 messages -------------------------------------------------------------------


def encode_uuie(value):
    """Aligned-PER H323-UserInformation, checked by decoding it again."""
    UUIE.set_val(value)
    data = UUIE.to_aper()
    UUIE.from_aper(data)
    if UUIE.get_val() != value:
        raise WireError(f"pycrate round trip differs for {value!r}")
    return data


def decode_uuie(data):
    UUIE.from_aper(data)
    return UUIE.get_val()


def encode_message(msg_type, crv, from_destination, ies, uuie):
    """A Q.931 message for H.225.0: call reference of 2 octets (flag set when sent by the
    side that did not allocate it), the IEs in ascending order, then the User-user IE with
    its 2-octet length (H.225.0 §7.2.2.30)."""
    flag = 0x8000 if from_destination else 0
    out = bytearray([PROTOCOL_DISCRIMINATOR, 2])
    out += struct.pack("!H", flag | (crv & 0x7FFF))
    out.append(msg_type)
    for ie_id, contents in sorted(ies, key=lambda ie: ie[0]):
        if len(contents) > 255:
            raise WireError(f"IE {ie_id:#x} too long")
        out += bytes([ie_id, len(contents)]) + contents
    if uuie is not None:
        body = bytes([USER_USER_PROTOCOL_H323]) + encode_uuie(uuie)
        out += bytes([IE_USER_USER]) + struct.pack("!H", len(body)) + body
    return bytes(out)


class Message:
    """A decoded Q.931 message: type, call reference, IEs and the UUIE value (or None)."""

    def __init__(self, msg_type, crv, flag, ies, uuie):
        self.msg_type = msg_type
        self.crv = crv
        self.flag = flag
        self.ies = ies
        self.uuie = uuie

    @property
    def name(self):
        return MESSAGE_NAMES.get(self.msg_type, f"type-{self.msg_type:#04x}")

    def ie(self, ie_id):
        for i, contents in self.ies:
            if i == ie_id:
                return contents
        return None

    @property
    def body(self):
        """(h323-message-body name, value), or (None, None) without a UUIE."""
        if self.uuie is None:
            return (None, None)
        return self.uuie["h323-uu-pdu"]["h323-message-body"]

    @property
    def pdu(self):
        return self.uuie["h323-uu-pdu"] if self.uuie is not None else {}

    @property
    def cause(self):
        contents = self.ie(IE_CAUSE)
        return read_cause(contents) if contents is not None else None


def decode_message(data):
    if len(data) < 5 or data[0] != PROTOCOL_DISCRIMINATOR:
        raise WireError(f"not Q.931: {data[:8].hex()}")
    ref_len = data[1] & 0x0F
    if ref_len != 2:
        raise WireError(f"call reference of {ref_len} octets (H.225.0 wants 2)")
    ref = struct.unpack("!H", data[2:4])[0]
    msg_type = data[4]
    at = 5
    ies = []
    uuie = None
    while at < len(data):
        ie_id = data[at]
        if ie_id & 0x80:
            # Single-octet IE (shift, more data, sending complete, ...).
            ies.append((ie_id, b""))
            at += 1
            continue
        if ie_id == IE_USER_USER:
            if at + 3 > len(data):
                raise WireError("truncated User-user IE")
            length = struct.unpack("!H", data[at + 1 : at + 3])[0]
            contents = data[at + 3 : at + 3 + length]
            if len(contents) != length:
                raise WireError("truncated User-user IE")
            if not contents or contents[0] != USER_USER_PROTOCOL_H323:
                raise WireError("User-user IE is not X.208/X.209 coded (5)")
            uuie = decode_uuie(contents[1:])
            at += 3 + length
            continue
        if at + 2 > len(data):
            raise WireError(f"truncated IE {ie_id:#x}")
        length = data[at + 1]
        contents = data[at + 2 : at + 2 + length]
        if len(contents) != length:
            raise WireError(f"truncated IE {ie_id:#x}")
        ies.append((ie_id, contents))
        at += 2 + length
    return Message(msg_type, ref & 0x7FFF, bool(ref & 0x8000), ies, uuie)


# ----- H.225.0 values -------------------------------------------------------------------


def transport_address(ip, port):
    """H.225.0 TransportAddress ipAddress."""
    return ("ipAddress", {"ip": bytes(int(x) for x in ip.split(".")), "port": port})


def endpoint_type():
    """What we are: a terminal (H.225.0 EndpointType; no vendor: we have no T.35 code)."""
    return {
        "terminal": {},
        "mc": False,
        "undefinedNode": False,
    }


def user_information(body_name, body, tunnelling, h245=None):
    pdu = {"h323-message-body": (body_name, body), "h245Tunnelling": tunnelling}
    if h245:
        pdu["h245Control"] = list(h245)
    return {"h323-uu-pdu": pdu}


def setup_body(call_id, conference_id, called, calling, src, fast_start):
    body = {
        "protocolIdentifier": PROTOCOL_ID,
        "sourceInfo": endpoint_type(),
        "activeMC": False,
        "conferenceID": conference_id,
        "conferenceGoal": ("create", 0),
        "callType": ("pointToPoint", 0),
        "sourceCallSignalAddress": transport_address(*src),
        "callIdentifier": {"guid": call_id},
        "mediaWaitForConnect": False,
        "canOverlapSend": False,
        "multipleCalls": False,
        "maintainConnection": False,
    }
    if called:
        body["destinationAddress"] = [("dialledDigits", called)]
    if calling:
        body["sourceAddress"] = [("dialledDigits", calling)]
    if fast_start:
        body["fastStart"] = list(fast_start)
    return body


def response_body(call_id, fast_start=None, conference_id=None, refused=False):
    """CallProceeding, Alerting or Connect body (Connect also needs `conference_id`)."""
    body = {"protocolIdentifier": PROTOCOL_ID, "destinationInfo": endpoint_type()}
    if conference_id is not None:
        body["conferenceID"] = conference_id
    body["callIdentifier"] = {"guid": call_id}
    if fast_start:
        body["fastStart"] = list(fast_start)
    body["multipleCalls"] = False
    body["maintainConnection"] = False
    if refused:
        body["fastConnectRefused"] = 0
    return body


def release_complete_body(call_id):
    # No `reason`: pycrate mis-encodes it (PEERS.md §7); the Cause IE carries the cause.
    return {"protocolIdentifier": PROTOCOL_ID, "callIdentifier": {"guid": call_id}}


def facility_body(call_id, conference_id):
    """Facility carrying tunnelled H.245 only (H.225.0 §8.2.1, reason transportedInformation)."""
    return {
        "protocolIdentifier": PROTOCOL_ID,
        "conferenceID": conference_id,
        "reason": ("transportedInformation", 0),
        "callIdentifier": {"guid": call_id},
        "multipleCalls": False,
        "maintainConnection": False,
    }
