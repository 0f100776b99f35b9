//! Hand-written constructors for the H.245 messages an audio gateway sends, and small
//! readers for what it receives. They sit beside the generated types, never inside them.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use rasn::types::{GeneralString, Ia5String, ObjectIdentifier, OctetString};

use super::*;

/// The H.245 protocol identifier we announce in a TerminalCapabilitySet:
/// `{itu-t(0) recommendation(0) h(8) h245(245) version(0) 15}`, the module version our
/// ASN.1 follows.
pub const PROTOCOL_IDENTIFIER: &[u32] = &[0, 0, 8, 245, 0, 15];

/// The `protocolIdentifier` value of [`PROTOCOL_IDENTIFIER`].
pub fn protocol_identifier() -> ObjectIdentifier {
    ObjectIdentifier::new_unchecked(Cow::Borrowed(PROTOCOL_IDENTIFIER))
}

/// An audio codec the gateway offers, in the order of preference.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioCodec {
    /// G.711 A-law, 64 kbit/s (`g711Alaw64k`), with frames per packet.
    G711Alaw { frames: u16 },
    /// G.711 mu-law, 64 kbit/s (`g711Ulaw64k`), with frames per packet.
    G711Ulaw { frames: u16 },
    /// G.729 (`g729`), with frames per packet.
    G729 { frames: u16 },
    /// G.729 Annex A (`g729AnnexA`), with frames per packet.
    G729AnnexA { frames: u16 },
    /// G.729 Annex A with Annex B (`g729AnnexAwAnnexB`), with frames per packet.
    G729AnnexAwAnnexB { frames: u16 },
}

impl AudioCodec {
    /// The `AudioCapability` (also the `DataType.audioData` of an OpenLogicalChannel).
    ///
    /// Frame counts are clamped into the ASN.1 range 1..=256.
    pub fn capability(self) -> AudioCapability {
        let f = |n: u16| n.clamp(1, 256);
        match self {
            Self::G711Alaw { frames } => AudioCapability::g711Alaw64k(f(frames)),
            Self::G711Ulaw { frames } => AudioCapability::g711Ulaw64k(f(frames)),
            Self::G729 { frames } => AudioCapability::g729(f(frames)),
            Self::G729AnnexA { frames } => AudioCapability::g729AnnexA(f(frames)),
            Self::G729AnnexAwAnnexB { frames } => AudioCapability::g729AnnexAwAnnexB(f(frames)),
        }
    }
}

/// What a TerminalCapabilitySet offers: audio codecs, RFC 4733 telephone-events and the
/// user input forms.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioTerminalCapabilities {
    /// Audio codecs, most preferred first; each becomes a receive capability.
    pub codecs: Vec<AudioCodec>,
    /// RFC 2833/4733 telephone-events: dynamic payload type (96..=127) and the events,
    /// e.g. `"0-16"`.
    pub telephone_event: Option<(u8, String)>,
    /// Announce UserInputIndication `dtmf` (signal) and `basicString` (alphanumeric).
    pub user_input: bool,
}

/// A `TerminalCapabilitySet` request for an audio-only endpoint: an H.225.0 multiplex
/// capability, one capability table entry per codec (numbered from 1), then
/// telephone-event and user input entries, and one descriptor in which the codecs are
/// alternatives and each of the others is its own simultaneous set.
pub fn terminal_capability_set(
    sequence_number: u8,
    caps: &AudioTerminalCapabilities,
) -> MultimediaSystemControlMessage {
    let mut table = Vec::new();
    let mut next = 1u16;
    let mut entry = |table: &mut Vec<CapabilityTableEntry>, capability: Capability| {
        let n = CapabilityTableEntryNumber(next);
        next += 1;
        table.push(CapabilityTableEntry::new(n.clone(), Some(capability)));
        n
    };
    let mut audio = Vec::new();
    for codec in &caps.codecs {
        audio.push(entry(
            &mut table,
            Capability::receiveAudioCapability(codec.capability()),
        ));
    }
    let mut simultaneous = Vec::new();
    if !audio.is_empty() {
        simultaneous.push(AlternativeCapabilitySet(audio));
    }
    if let Some((pt, events)) = &caps.telephone_event {
        let n = entry(
            &mut table,
            Capability::receiveRTPAudioTelephonyEventCapability(
                AudioTelephonyEventCapability::new((*pt).clamp(96, 127), general_string(events)),
            ),
        );
        simultaneous.push(AlternativeCapabilitySet(vec![n]));
    }
    if caps.user_input {
        let dtmf = entry(
            &mut table,
            Capability::receiveAndTransmitUserInputCapability(UserInputCapability::dtmf(())),
        );
        let basic = entry(
            &mut table,
            Capability::receiveAndTransmitUserInputCapability(UserInputCapability::basicString(())),
        );
        simultaneous.push(AlternativeCapabilitySet(vec![dtmf, basic]));
    }
    let descriptors = (!simultaneous.is_empty()).then(|| {
        vec![CapabilityDescriptor::new(
            CapabilityDescriptorNumber(0),
            Some(simultaneous),
        )]
    });
    let tcs = TerminalCapabilitySet::new(
        SequenceNumber(sequence_number),
        protocol_identifier(),
        Some(MultiplexCapability::h2250Capability(h2250_capability())),
        (!table.is_empty()).then_some(table),
        descriptors,
        None,
    );
    MultimediaSystemControlMessage::request(RequestMessage::terminalCapabilitySet(tcs))
}

/// An empty `terminalCapabilitySet` (H.323 §8.4.6, third-party-initiated pause): only
/// the sequence number and protocol identifier; the receiver closes the channels it
/// transmits on until a non-empty set follows.
pub fn empty_terminal_capability_set(sequence_number: u8) -> MultimediaSystemControlMessage {
    let tcs = TerminalCapabilitySet::new(
        SequenceNumber(sequence_number),
        protocol_identifier(),
        None,
        None,
        None,
        None,
    );
    MultimediaSystemControlMessage::request(RequestMessage::terminalCapabilitySet(tcs))
}

/// The H.225.0 multiplex capability of an audio endpoint without multipoint support.
pub fn h2250_capability() -> H2250Capability {
    let no_multipoint = || MultipointCapability::new(false, false, vec![]);
    H2250Capability::new(
        60,
        no_multipoint(),
        no_multipoint(),
        no_multipoint(),
        H2250CapabilityMcCapability::new(false, false),
        false,
        MediaPacketizationCapability::new(false, None),
        None,
        None,
        Some(false),
        Some(false),
    )
}

/// `terminalCapabilitySetAck`.
pub fn terminal_capability_set_ack(sequence_number: u8) -> MultimediaSystemControlMessage {
    MultimediaSystemControlMessage::response(ResponseMessage::terminalCapabilitySetAck(
        TerminalCapabilitySetAck::new(SequenceNumber(sequence_number), None),
    ))
}

/// `masterSlaveDetermination`; `terminal_type` is 50 for a terminal, 60 for a gateway
/// (H.323 Table 1).
pub fn master_slave_determination(
    terminal_type: u8,
    status_determination_number: u32,
) -> MultimediaSystemControlMessage {
    MultimediaSystemControlMessage::request(RequestMessage::masterSlaveDetermination(
        MasterSlaveDetermination::new(terminal_type, status_determination_number & 0xFF_FFFF),
    ))
}

/// `masterSlaveDeterminationAck`; `peer_is_master` names the decision for the receiver.
pub fn master_slave_determination_ack(peer_is_master: bool) -> MultimediaSystemControlMessage {
    let decision = if peer_is_master {
        MasterSlaveDeterminationAckDecision::master(())
    } else {
        MasterSlaveDeterminationAckDecision::slave(())
    };
    MultimediaSystemControlMessage::response(ResponseMessage::masterSlaveDeterminationAck(
        MasterSlaveDeterminationAck::new(decision),
    ))
}

/// An H.245 `TransportAddress` (unicast IPv4 or IPv6) for a socket address.
pub fn transport_address(addr: SocketAddr) -> TransportAddress {
    let unicast = match addr.ip() {
        IpAddr::V4(ip) => UnicastAddress::iPAddress(UnicastAddressIPAddress::new(
            OctetString::from(ip.octets().to_vec()),
            addr.port(),
        )),
        IpAddr::V6(ip) => UnicastAddress::iP6Address(UnicastAddressIP6Address::new(
            OctetString::from(ip.octets().to_vec()),
            addr.port(),
        )),
    };
    TransportAddress::unicastAddress(unicast)
}

/// The socket address of a unicast or multicast IPv4/IPv6 `TransportAddress`, if it is one.
pub fn socket_addr(addr: &TransportAddress) -> Option<SocketAddr> {
    let (network, port) = match addr {
        TransportAddress::unicastAddress(UnicastAddress::iPAddress(a)) => {
            (&a.network, a.tsap_identifier)
        }
        TransportAddress::unicastAddress(UnicastAddress::iP6Address(a)) => {
            (&a.network, a.tsap_identifier)
        }
        TransportAddress::multicastAddress(MulticastAddress::iPAddress(a)) => {
            (&a.network, a.tsap_identifier)
        }
        TransportAddress::multicastAddress(MulticastAddress::iP6Address(a)) => {
            (&a.network, a.tsap_identifier)
        }
        _ => return None,
    };
    let ip = match network.len() {
        4 => IpAddr::V4(Ipv4Addr::from(<[u8; 4]>::try_from(&network[..]).ok()?)),
        16 => IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&network[..]).ok()?)),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

/// The parameters of an audio logical channel on RTP.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioChannel {
    /// `forwardLogicalChannelNumber` (1..=65535).
    pub logical_channel: u16,
    /// Codec and frames per packet.
    pub codec: AudioCodec,
    /// RTP session: 1 for audio.
    pub session_id: u8,
    /// Where the sender's RTP goes (set in a fast start proposal for the reverse
    /// direction; in a normal OLC the receiver gives it in the ack).
    pub media_channel: Option<SocketAddr>,
    /// The sender's RTCP address.
    pub media_control_channel: Option<SocketAddr>,
    /// Silence suppression on.
    pub silence_suppression: bool,
}

/// The `H2250LogicalChannelParameters` of an audio channel.
pub fn h2250_parameters(ch: &AudioChannel) -> H2250LogicalChannelParameters {
    H2250LogicalChannelParameters::new(
        None,
        ch.session_id,
        None,
        ch.media_channel.map(transport_address),
        None,
        ch.media_control_channel.map(transport_address),
        None,
        Some(ch.silence_suppression),
        None,
        None,
        None,
        None,
        None,
        None,
    )
}

/// A unidirectional audio `OpenLogicalChannel` (forward direction only), as sent in an
/// H.245 request or as one `fastStart` element (encode with
/// [`encode_open_logical_channel`](super::encode_open_logical_channel)).
pub fn audio_open_logical_channel(ch: &AudioChannel) -> OpenLogicalChannel {
    let forward = OpenLogicalChannelForwardLogicalChannelParameters::new(
        None,
        DataType::audioData(ch.codec.capability()),
        OpenLogicalChannelForwardLogicalChannelParametersMultiplexParameters::h2250LogicalChannelParameters(
            h2250_parameters(ch),
        ),
        None,
        None,
    );
    OpenLogicalChannel::new(
        LogicalChannelNumber(ch.logical_channel.max(1)),
        forward,
        None,
        None,
        None,
        None,
    )
}

/// A fast start proposal for the receive direction: forward parameters `nullData` with
/// multiplex `none`, the reverse parameters carrying the codec and our RTP/RTCP
/// addresses (H.323 8.1.7.1).
pub fn audio_fast_start_receive(ch: &AudioChannel) -> OpenLogicalChannel {
    let forward = OpenLogicalChannelForwardLogicalChannelParameters::new(
        None,
        DataType::nullData(()),
        OpenLogicalChannelForwardLogicalChannelParametersMultiplexParameters::none(()),
        None,
        None,
    );
    let reverse = OpenLogicalChannelReverseLogicalChannelParameters::new(
        DataType::audioData(ch.codec.capability()),
        Some(
            OpenLogicalChannelReverseLogicalChannelParametersMultiplexParameters::h2250LogicalChannelParameters(
                h2250_parameters(ch),
            ),
        ),
        None,
        None,
    );
    OpenLogicalChannel::new(
        LogicalChannelNumber(ch.logical_channel.max(1)),
        forward,
        Some(reverse),
        None,
        None,
        None,
    )
}

/// An `openLogicalChannel` request.
pub fn open_logical_channel(olc: OpenLogicalChannel) -> MultimediaSystemControlMessage {
    MultimediaSystemControlMessage::request(RequestMessage::openLogicalChannel(olc))
}

/// `openLogicalChannelAck` giving where to send RTP (and RTCP) for the channel.
pub fn open_logical_channel_ack(
    logical_channel: u16,
    session_id: u8,
    rtp: SocketAddr,
    rtcp: SocketAddr,
) -> MultimediaSystemControlMessage {
    let ack = H2250LogicalChannelAckParameters::new(
        None,
        Some(session_id.max(1)),
        Some(transport_address(rtp)),
        Some(transport_address(rtcp)),
        None,
        None,
        None,
    );
    MultimediaSystemControlMessage::response(ResponseMessage::openLogicalChannelAck(
        OpenLogicalChannelAck::new(
            LogicalChannelNumber(logical_channel.max(1)),
            None,
            None,
            Some(OpenLogicalChannelAckForwardMultiplexAckParameters::h2250LogicalChannelAckParameters(ack)),
            None,
            None,
        ),
    ))
}

/// `closeLogicalChannel` by the user (not the LCSE).
pub fn close_logical_channel(logical_channel: u16) -> MultimediaSystemControlMessage {
    MultimediaSystemControlMessage::request(RequestMessage::closeLogicalChannel(
        CloseLogicalChannel::new(
            LogicalChannelNumber(logical_channel.max(1)),
            CloseLogicalChannelSource::user(()),
            None,
        ),
    ))
}

/// `endSessionCommand` `disconnect`.
pub fn end_session() -> MultimediaSystemControlMessage {
    MultimediaSystemControlMessage::command(CommandMessage::endSessionCommand(
        EndSessionCommand::disconnect(()),
    ))
}

/// `userInput` `alphanumeric` (e.g. DTMF digits as text). Characters outside the
/// GeneralString repertoire rasn accepts are dropped.
pub fn user_input_alphanumeric(text: &str) -> MultimediaSystemControlMessage {
    MultimediaSystemControlMessage::indication(IndicationMessage::userInput(
        UserInputIndication::alphanumeric(general_string(text)),
    ))
}

/// `userInput` `signal`: one DTMF digit (`0-9 # * A-D`, or `!` for hook flash) with an
/// optional duration in milliseconds. `None` for a character outside that set.
pub fn user_input_signal(
    digit: char,
    duration_ms: Option<u16>,
) -> Option<MultimediaSystemControlMessage> {
    if !"0123456789#*ABCD!".contains(digit) {
        return None;
    }
    let signal_type = Ia5String::from_iso646_bytes(&[digit as u8]).ok()?;
    let signal = UserInputIndicationSignal::new(
        signal_type,
        duration_ms.map(|d| d.max(1)),
        None,
        None,
        None,
        None,
        None,
    );
    Some(MultimediaSystemControlMessage::indication(
        IndicationMessage::userInput(UserInputIndication::signal(signal)),
    ))
}

/// The DTMF digits of a received `userInput`: `signal` gives one digit, `alphanumeric`
/// and `extendedAlphanumeric` their text. `None` for other alternatives.
pub fn user_input_digits(uii: &UserInputIndication) -> Option<String> {
    match uii {
        UserInputIndication::signal(s) => {
            Some(String::from_utf8_lossy(s.signal_type.as_iso646_bytes()).into_owned())
        }
        UserInputIndication::alphanumeric(a) => {
            Some(String::from_utf8_lossy(a.as_bytes()).into_owned())
        }
        UserInputIndication::extendedAlphanumeric(e) => {
            Some(String::from_utf8_lossy(e.alphanumeric.as_bytes()).into_owned())
        }
        _ => None,
    }
}

/// A GeneralString of `text`, with the characters rasn does not accept dropped.
fn general_string(text: &str) -> GeneralString {
    let bytes: Vec<u8> = text.bytes().filter(|b| b.is_ascii()).collect();
    // Printable ASCII and C0 controls are in the GeneralString repertoire rasn checks.
    GeneralString::from_bytes(&bytes).unwrap_or_default()
}
