//! H.323 fast connect ("fast start", H.323 §8.1.7): the `fastStart` elements of H.225.0
//! messages, each an aligned-PER `OpenLogicalChannel`, to and from the call model's
//! [`Media`].
//!
//! Every direction word here is seen from the side that *proposed* the channel (the
//! caller). An OLC's forward direction is proposer -> answerer, so:
//! - forward parameters carrying audio: a channel the proposer sends on
//!   ([`Flow::ProposerSends`]); its `mediaControlChannel` is the proposer's RTCP; the
//!   answerer accepts it by filling in `mediaChannel`, where it wants the RTP;
//! - forward parameters `nullData` and reverse parameters carrying audio: a channel the
//!   proposer receives on ([`Flow::ProposerReceives`]); its `mediaChannel` is the
//!   proposer's RTP address; the answerer accepts it by sending it back with its own RTCP
//!   address as `mediaControlChannel` (as Cisco IOS does).
//!
//! The answerer returns only the proposals it accepts, at most one per direction and
//! session (H.323 §8.1.7). Codecs map to RTP static payload types (RFC 3551): G.711
//! u-law 0, A-law 8, G.729 18.

use std::net::SocketAddr;

use h323_asn1::h245::build::{
    AudioChannel, AudioCodec, audio_fast_start_receive, audio_open_logical_channel, socket_addr,
    transport_address,
};
use h323_asn1::h245::{
    self, AudioCapability, DataType, H2250LogicalChannelParameters, OpenLogicalChannel,
    OpenLogicalChannelForwardLogicalChannelParametersMultiplexParameters as ForwardMux,
    OpenLogicalChannelReverseLogicalChannelParametersMultiplexParameters as ReverseMux,
};
use mapping::model::{Codec, CodecName, Media, MediaDirection};

/// The RTP session of audio (H.225.0: session 1 audio, 2 video, 3 data).
pub const AUDIO_SESSION: u8 = 1;

/// Packetisation when the offer does not say (H.323 gateways default to 20 ms).
pub const DEFAULT_PTIME_MS: u16 = 20;

/// Which way a channel's media flows, seen from the side that proposed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// The proposer sends (forward parameters carry the codec).
    ProposerSends,
    /// The proposer receives (reverse parameters carry the codec).
    ProposerReceives,
}

/// One audio channel of a `fastStart` list.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// Direction, seen from the proposer.
    pub flow: Flow,
    /// The codec.
    pub codec: Codec,
    /// Packetisation in ms, from the capability's frame count.
    pub ptime: Option<u16>,
    /// `mediaChannel`: where the receiving side of this channel wants RTP.
    pub media: Option<SocketAddr>,
    /// `mediaControlChannel`: an RTCP address.
    pub control: Option<SocketAddr>,
    olc: OpenLogicalChannel,
}

/// A codec of an H.245 audio capability, with the frame count and the frame length in ms
/// (G.711 counts 1 ms "frames", G.729 10 ms ones). `None` for capabilities the gateway
/// does not carry.
pub fn codec_of(cap: &AudioCapability) -> Option<(Codec, u16, u16)> {
    let codec = |name, pt, fmtp: Option<&str>| Codec {
        name,
        clock_rate: 8000,
        channels: 1,
        payload_type: pt,
        fmtp: fmtp.map(str::to_owned),
    };
    Some(match cap {
        AudioCapability::g711Ulaw64k(n) => (codec(CodecName::Pcmu, 0, None), *n, 1),
        AudioCapability::g711Alaw64k(n) => (codec(CodecName::Pcma, 8, None), *n, 1),
        AudioCapability::g729(n) | AudioCapability::g729AnnexA(n) => {
            (codec(CodecName::G729, 18, Some("annexb=no")), *n, 10)
        }
        AudioCapability::g729wAnnexB(n) | AudioCapability::g729AnnexAwAnnexB(n) => {
            (codec(CodecName::G729, 18, None), *n, 10)
        }
        _ => return None,
    })
}

/// The H.245 capability for `codec` at `ptime` ms. `None` for codecs H.245 has no fixed
/// capability for here (telephone-event, comfort noise, dynamic ones).
pub fn audio_codec_for(codec: &Codec, ptime: u16) -> Option<AudioCodec> {
    let ptime = ptime.clamp(10, 240);
    match codec.name {
        CodecName::Pcmu => Some(AudioCodec::G711Ulaw { frames: ptime }),
        CodecName::Pcma => Some(AudioCodec::G711Alaw { frames: ptime }),
        CodecName::G729
            if codec
                .fmtp
                .as_deref()
                .is_some_and(|f| f.contains("annexb=no")) =>
        {
            Some(AudioCodec::G729AnnexA { frames: ptime / 10 })
        }
        CodecName::G729 => Some(AudioCodec::G729AnnexAwAnnexB { frames: ptime / 10 }),
        _ => None,
    }
}

/// Two codecs are the same for channel matching when their names are (G.729 annexes
/// interoperate).
pub fn same_codec(a: &Codec, b: &Codec) -> bool {
    a.name == b.name && a.clock_rate == b.clock_rate
}

fn h2250_of_forward(olc: &OpenLogicalChannel) -> Option<&H2250LogicalChannelParameters> {
    match &olc.forward_logical_channel_parameters.multiplex_parameters {
        ForwardMux::h2250LogicalChannelParameters(p) => Some(p),
        _ => None,
    }
}

fn h2250_of_reverse(olc: &OpenLogicalChannel) -> Option<&H2250LogicalChannelParameters> {
    match olc
        .reverse_logical_channel_parameters
        .as_ref()?
        .multiplex_parameters
        .as_ref()?
    {
        ReverseMux::h2250LogicalChannelParameters(p) => Some(p),
        _ => None,
    }
}

/// Reads one `fastStart` element: `None` when it does not decode or is not an audio
/// channel in one direction (video, data, T.38 and bidirectional channels are skipped).
pub fn read_channel(bytes: &[u8]) -> Option<Channel> {
    let olc = h245::decode_open_logical_channel(bytes).ok()?;
    let forward = &olc.forward_logical_channel_parameters.data_type;
    let (flow, cap, params) = match (forward, &olc.reverse_logical_channel_parameters) {
        (DataType::audioData(cap), None) => (Flow::ProposerSends, cap, h2250_of_forward(&olc)),
        (DataType::nullData(()), Some(rev)) => match &rev.data_type {
            DataType::audioData(cap) => (Flow::ProposerReceives, cap, h2250_of_reverse(&olc)),
            _ => return None,
        },
        _ => return None,
    };
    let (codec, frames, frame_ms) = codec_of(cap)?;
    let ptime = frames
        .checked_mul(frame_ms)
        .filter(|p| (5..=240).contains(p));
    let media = params
        .and_then(|p| p.media_channel.as_ref())
        .and_then(socket_addr);
    let control = params
        .and_then(|p| p.media_control_channel.as_ref())
        .and_then(socket_addr);
    Some(Channel {
        flow,
        codec,
        ptime,
        media,
        control,
        olc,
    })
}

/// The audio channels of a `fastStart` list, in order; elements that are not one-way
/// audio channels (or do not decode) are left out.
pub fn read_channels<B: AsRef<[u8]>>(elements: &[B]) -> Vec<Channel> {
    elements
        .iter()
        .filter_map(|e| read_channel(e.as_ref()))
        .collect()
}

fn push_unique(codecs: &mut Vec<Codec>, c: &Codec) {
    if !codecs.iter().any(|k| k == c) {
        codecs.push(c.clone());
    }
}

fn rtcp_of(m: &Media, rtp: SocketAddr) -> SocketAddr {
    m.rtcp
        .unwrap_or_else(|| SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1)))
}

/// The fast start proposals of an incoming Setup.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposals {
    channels: Vec<Channel>,
}

/// What the answerer returns: the accepted elements, encoded, and the codec it sends.
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    /// The `fastStart` elements of the answer.
    pub elements: Vec<Vec<u8>>,
    /// The codec the answerer sends with.
    pub codec: Codec,
}

impl Proposals {
    /// Reads the `fastStart` elements of a Setup.
    pub fn parse<B: AsRef<[u8]>>(elements: &[B]) -> Proposals {
        Proposals {
            channels: read_channels(elements),
        }
    }

    /// True when no usable audio proposal was found.
    pub fn is_empty(&self) -> bool {
        self.channels.is_empty()
    }

    /// The audio channels.
    pub fn channels(&self) -> &[Channel] {
        &self.channels
    }

    /// The proposals as a media offer: RTP (and RTCP) where the caller receives (the
    /// `mediaChannel` of its first receive proposal), the codecs it can receive in its
    /// order of preference, the first one's packetisation. `None` without audio proposals.
    pub fn offer(&self) -> Option<Media> {
        let receives: Vec<&Channel> = self
            .channels
            .iter()
            .filter(|c| c.flow == Flow::ProposerReceives)
            .collect();
        let sends: Vec<&Channel> = self
            .channels
            .iter()
            .filter(|c| c.flow == Flow::ProposerSends)
            .collect();
        let first = receives.first().or(sends.first())?;
        let at = receives.iter().find(|c| c.media.is_some());
        let mut codecs = Vec::new();
        for c in if receives.is_empty() {
            &sends
        } else {
            &receives
        } {
            push_unique(&mut codecs, &c.codec);
        }
        let direction = match (receives.is_empty(), sends.is_empty()) {
            (false, false) => MediaDirection::SendRecv,
            (false, true) => MediaDirection::RecvOnly,
            _ => MediaDirection::SendOnly,
        };
        Some(Media {
            rtp: at.and_then(|c| c.media),
            rtcp: at.and_then(|c| c.control),
            codecs,
            ptime: first.ptime,
            direction,
        })
    }

    /// Accepts the proposals that fit `answer` (our RTP address and codecs, from the call
    /// core): the channel toward the caller's receive address with the first answered
    /// codec the caller can receive, and the caller's send channel (same codec if
    /// proposed, else any answered or known codec) with our RTP address as its
    /// `mediaChannel`. `None` (fast start refused) when `answer` has no RTP address or no
    /// answered codec matches a receive proposal.
    pub fn accept(&self, answer: &Media) -> Option<Accepted> {
        let rtp = answer.rtp?;
        let rtcp = rtcp_of(answer, rtp);
        let ours = transport_address(rtcp);
        let tx = answer.codecs.iter().find_map(|c| {
            self.channels
                .iter()
                .find(|p| p.flow == Flow::ProposerReceives && same_codec(&p.codec, c))
        })?;
        let sends = || {
            self.channels
                .iter()
                .filter(|p| p.flow == Flow::ProposerSends)
        };
        let rx = sends()
            .find(|p| same_codec(&p.codec, &tx.codec))
            .or_else(|| sends().find(|p| answer.codecs.iter().any(|c| same_codec(c, &p.codec))))
            .or_else(|| sends().next());
        let mut elements = Vec::new();
        if let Some(rx) = rx {
            let mut olc = rx.olc.clone();
            if let ForwardMux::h2250LogicalChannelParameters(p) =
                &mut olc.forward_logical_channel_parameters.multiplex_parameters
            {
                p.media_channel = Some(transport_address(rtp));
                p.media_control_channel = Some(ours.clone());
            }
            elements.extend(h245::encode_open_logical_channel(&olc).ok());
        }
        let mut olc = tx.olc.clone();
        if let Some(ReverseMux::h2250LogicalChannelParameters(p)) = olc
            .reverse_logical_channel_parameters
            .as_mut()
            .and_then(|r| r.multiplex_parameters.as_mut())
        {
            p.media_control_channel = Some(ours);
        }
        elements.extend(h245::encode_open_logical_channel(&olc).ok());
        Some(Accepted {
            elements,
            codec: tx.codec.clone(),
        })
    }
}

/// The fast start proposals for an outgoing Setup from our `offer`: for every codec H.245
/// can name, in the offer's order, a channel we send on (our RTCP address) and one we
/// receive on (our RTP and RTCP addresses). Logical channel numbers count up from
/// `first_lcn`. Empty when the offer has no RTP address or no such codec.
pub fn propose(offer: &Media, first_lcn: u16) -> Vec<Vec<u8>> {
    let Some(rtp) = offer.rtp else {
        return Vec::new();
    };
    let rtcp = rtcp_of(offer, rtp);
    let ptime = offer.ptime.unwrap_or(DEFAULT_PTIME_MS);
    let mut seen = Vec::new();
    let mut out = Vec::new();
    let mut lcn = first_lcn.max(1);
    for codec in &offer.codecs {
        let Some(cap) = audio_codec_for(codec, ptime) else {
            continue;
        };
        if seen.contains(&cap) {
            continue;
        }
        seen.push(cap);
        let send = AudioChannel {
            logical_channel: lcn,
            codec: cap,
            session_id: AUDIO_SESSION,
            media_channel: None,
            media_control_channel: Some(rtcp),
            silence_suppression: false,
        };
        let receive = AudioChannel {
            logical_channel: lcn.saturating_add(1),
            media_channel: Some(rtp),
            ..send.clone()
        };
        lcn = lcn.saturating_add(2);
        out.extend(h245::encode_open_logical_channel(&audio_open_logical_channel(&send)).ok());
        out.extend(h245::encode_open_logical_channel(&audio_fast_start_receive(&receive)).ok());
    }
    out
}

/// The answer in the `fastStart` elements the callee returned for our proposals:
/// the callee's RTP address (the `mediaChannel` it put in our send channel), the codec we
/// send and, when different, the codec it sends, in our offer's payload types. `None` when
/// no audio channel was accepted.
pub fn answer_of<B: AsRef<[u8]>>(elements: &[B], offer: Option<&Media>) -> Option<Media> {
    let channels = read_channels(elements);
    let ours = channels.iter().find(|c| c.flow == Flow::ProposerSends);
    let theirs = channels.iter().find(|c| c.flow == Flow::ProposerReceives);
    let first = ours.or(theirs)?;
    let pt = |c: &Codec| {
        let payload_type = offer
            .and_then(|o| o.codecs.iter().find(|k| same_codec(k, c)))
            .map_or(c.payload_type, |k| k.payload_type);
        Codec {
            payload_type,
            ..c.clone()
        }
    };
    let mut codecs = Vec::new();
    for c in [ours, theirs].into_iter().flatten() {
        push_unique(&mut codecs, &pt(&c.codec));
    }
    let direction = match (ours.is_some(), theirs.is_some()) {
        (true, true) => MediaDirection::SendRecv,
        // Only our send channel accepted: the callee only receives.
        (true, false) => MediaDirection::RecvOnly,
        _ => MediaDirection::SendOnly,
    };
    Some(Media {
        rtp: ours.and_then(|c| c.media),
        rtcp: ours.and_then(|c| c.control),
        codecs,
        ptime: first.ptime,
        direction,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g711(name: CodecName, pt: u8) -> Codec {
        Codec {
            name,
            clock_rate: 8000,
            channels: 1,
            payload_type: pt,
            fmtp: None,
        }
    }

    fn offer(at: &str) -> Media {
        Media {
            rtp: Some(at.parse().expect("addr")),
            rtcp: None,
            codecs: vec![g711(CodecName::Pcma, 8), g711(CodecName::Pcmu, 0)],
            ptime: Some(20),
            direction: MediaDirection::SendRecv,
        }
    }

    #[test]
    fn proposals_round_trip_to_an_offer_and_back_to_an_answer() {
        let ours = offer("192.0.2.1:4000");
        let elements = propose(&ours, 1);
        assert_eq!(elements.len(), 4, "send + receive per codec");
        // The far side reads them as an offer.
        let proposals = Proposals::parse(&elements);
        let o = proposals.offer().expect("an offer");
        assert_eq!(o.rtp, ours.rtp);
        assert_eq!(o.rtcp, Some("192.0.2.1:4001".parse().expect("addr")));
        assert_eq!(o.codecs, ours.codecs);
        assert_eq!(o.ptime, Some(20));
        // It answers u-law at its own address.
        let answer = Media {
            rtp: Some("198.51.100.7:5000".parse().expect("addr")),
            codecs: vec![g711(CodecName::Pcmu, 0)],
            ..Media::default()
        };
        let accepted = proposals.accept(&answer).expect("accepted");
        assert_eq!(accepted.codec.name, CodecName::Pcmu);
        assert_eq!(accepted.elements.len(), 2);
        // And we read the answer back.
        let a = answer_of(&accepted.elements, Some(&ours)).expect("an answer");
        assert_eq!(a.rtp, answer.rtp);
        assert_eq!(a.rtcp, Some("198.51.100.7:5001".parse().expect("addr")));
        assert_eq!(a.codecs, vec![g711(CodecName::Pcmu, 0)]);
        assert_eq!(a.direction, MediaDirection::SendRecv);
    }

    #[test]
    fn nothing_matches_means_refused() {
        let proposals = Proposals::parse(&propose(&offer("192.0.2.1:4000"), 1));
        let answer = Media {
            rtp: Some("198.51.100.7:5000".parse().expect("addr")),
            codecs: vec![Codec {
                name: CodecName::Opus,
                clock_rate: 48000,
                channels: 2,
                payload_type: 111,
                fmtp: None,
            }],
            ..Media::default()
        };
        assert!(proposals.accept(&answer).is_none());
        assert!(Proposals::parse(&[vec![0xFFu8; 3]]).is_empty());
        assert!(answer_of(&[b"junk".to_vec()], None).is_none());
    }

    #[test]
    fn g729_annexes_map_both_ways() {
        let c = Codec {
            name: CodecName::G729,
            clock_rate: 8000,
            channels: 1,
            payload_type: 18,
            fmtp: Some("annexb=no".into()),
        };
        assert_eq!(
            audio_codec_for(&c, 20),
            Some(AudioCodec::G729AnnexA { frames: 2 })
        );
        let (back, frames, ms) = codec_of(&AudioCapability::g729AnnexA(2)).expect("known");
        assert_eq!((back, frames * ms), (c, 20));
    }
}
