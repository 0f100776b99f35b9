//! The answerer's side of RFC 3264 §6: from a received offer and our capabilities, the
//! answer, the chosen codecs and the payload-type mapping the relay needs. Pure functions.

use super::codecs::{g729_annexb, same_format};
use super::convert::audio_line;
use super::description::{Attribute, Connection, MediaDescription, Origin, SessionDescription};
use super::error::NegotiationError;
use mapping::model::{Codec, CodecName, Media, MediaDirection};
use std::net::SocketAddr;

/// What we can do, for answering and offering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCapabilities {
    /// Voice codecs in our order of preference, each with the payload type we use on
    /// our side of the relay (our offers carry these).
    pub codecs: Vec<Codec>,
    /// RFC 4733 telephone-event with our payload type and events (`fmtp` `0-15`/`0-16`);
    /// None: we do not take RFC 4733 DTMF.
    pub telephone_event: Option<Codec>,
    /// Where we receive RTP for the audio stream.
    pub rtp: SocketAddr,
    /// Where we receive T.38 UDPTL; None refuses T.38 m-lines.
    pub t38: Option<SocketAddr>,
    /// Our packetisation time when the peer states none.
    pub ptime: Option<u16>,
    /// Our own wish for the stream direction (sendonly while we hold the peer).
    pub direction: MediaDirection,
    /// Answer with the single best common codec (plus telephone-event), so the peer
    /// cannot switch codecs mid-stream behind the relay's back.
    pub single_codec: bool,
    /// Order the answer by the offerer's preference instead of ours (RFC 3264 §6.1
    /// allows either).
    pub prefer_offerer_order: bool,
}

impl LocalCapabilities {
    /// G.711 A-law then u-law on their static types, telephone-event `0-16` on 101,
    /// 20 ms, sendrecv, T.38 refused; the usual start for a trunk's configuration.
    pub fn g711(rtp: SocketAddr) -> Self {
        let codec = |name, payload_type, fmtp: Option<&str>| Codec {
            name,
            clock_rate: 8000,
            channels: 1,
            payload_type,
            fmtp: fmtp.map(str::to_owned),
        };
        LocalCapabilities {
            codecs: vec![
                codec(CodecName::Pcma, 8, None),
                codec(CodecName::Pcmu, 0, None),
            ],
            telephone_event: Some(codec(CodecName::TelephoneEvent, 101, Some("0-16"))),
            rtp,
            t38: None,
            ptime: Some(20),
            direction: MediaDirection::SendRecv,
            single_codec: false,
            prefer_offerer_order: true,
        }
    }
}

/// One chosen format: the offerer's payload type and ours (RFC 3264 §6.1: the answer
/// uses the offerer's numbers; the relay translates to ours).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadMapping {
    /// The codec.
    pub name: CodecName,
    /// The payload type on the peer's side (offerer's number).
    pub remote: u8,
    /// Our payload type for the same format.
    pub local: u8,
}

/// The payload-type map of a negotiated stream, both ways.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PayloadMap(pub Vec<PayloadMapping>);

impl PayloadMap {
    /// Our payload type for the peer's.
    pub fn to_local(&self, remote: u8) -> Option<u8> {
        self.0.iter().find(|m| m.remote == remote).map(|m| m.local)
    }

    /// The peer's payload type for ours.
    pub fn to_remote(&self, local: u8) -> Option<u8> {
        self.0.iter().find(|m| m.local == local).map(|m| m.remote)
    }
}

/// A negotiated audio stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedAudio {
    /// Position of the m-line.
    pub index: usize,
    /// The peer's side: its RTP address, the chosen codecs in its payload types, its
    /// direction as it wrote it.
    pub remote: Media,
    /// Our side as sent: our RTP address, the same codecs and payload types, our direction.
    pub local: Media,
    /// Peer payload type <-> ours, telephone-event included.
    pub payload_map: PayloadMap,
}

impl NegotiatedAudio {
    /// The voice codec in use: the first chosen one that is not telephone-event or CN.
    pub fn codec(&self) -> Option<&Codec> {
        self.local.codecs.iter().find(|c| is_voice(c))
    }

    /// The telephone-event format, when both sides take RFC 4733 events.
    pub fn telephone_event(&self) -> Option<&Codec> {
        self.local
            .codecs
            .iter()
            .find(|c| c.name == CodecName::TelephoneEvent)
    }
}

/// A negotiated T.38 stream (RFC 3362).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiatedT38 {
    /// Position of the m-line.
    pub index: usize,
    /// Where the peer receives UDPTL.
    pub remote: Option<SocketAddr>,
    /// The T38* attributes of the answer.
    pub attributes: Vec<Attribute>,
}

/// The answer to an offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The answer SDP (origin as given; the session stamps the version).
    pub sdp: SessionDescription,
    /// The audio stream, if one was accepted.
    pub audio: Option<NegotiatedAudio>,
    /// The T.38 stream, if one was accepted.
    pub t38: Option<NegotiatedT38>,
}

/// True for a T.38 session attribute (`a=T38FaxVersion`, `a=T38MaxBitRate`...).
pub fn is_t38_attribute(a: &Attribute) -> bool {
    a.name
        .get(..3)
        .is_some_and(|p| p.eq_ignore_ascii_case("T38"))
}

/// True for a codec that carries voice (not RFC 4733 events, not RFC 3389 CN).
pub fn is_voice(c: &Codec) -> bool {
    !matches!(c.name, CodecName::TelephoneEvent | CodecName::ComfortNoise)
}

/// The answer direction for an offered one (RFC 3264 §6.1), limited by our own wish.
pub fn answer_direction(offered: MediaDirection, ours: MediaDirection) -> MediaDirection {
    let reversed = match offered {
        MediaDirection::SendOnly => MediaDirection::RecvOnly,
        MediaDirection::RecvOnly => MediaDirection::SendOnly,
        d => d,
    };
    let (send, recv) = halves(reversed);
    let (our_send, our_recv) = halves(ours);
    from_halves(send && our_send, recv && our_recv)
}

fn halves(d: MediaDirection) -> (bool, bool) {
    match d {
        MediaDirection::SendRecv => (true, true),
        MediaDirection::SendOnly => (true, false),
        MediaDirection::RecvOnly => (false, true),
        MediaDirection::Inactive => (false, false),
    }
}

fn from_halves(send: bool, recv: bool) -> MediaDirection {
    match (send, recv) {
        (true, true) => MediaDirection::SendRecv,
        (true, false) => MediaDirection::SendOnly,
        (false, true) => MediaDirection::RecvOnly,
        (false, false) => MediaDirection::Inactive,
    }
}

/// Builds the answer to `offer` (RFC 3264 §6): one m-line per offered m-line, in order.
/// The first RTP/AVP audio line with a common voice codec is accepted, the first T.38
/// line too when `caps.t38` is set; every other line is rejected with port 0.
///
/// Errors with [`NegotiationError::NoCommonCodec`] (488 + Warning 305) when the offer
/// has active streams and none can be accepted.
pub fn answer_offer(
    offer: &SessionDescription,
    caps: &LocalCapabilities,
    origin: Origin,
) -> Result<Answer, NegotiationError> {
    let mut lines = Vec::with_capacity(offer.media.len());
    let mut audio = None;
    let mut t38 = None;
    for (index, m) in offer.media.iter().enumerate() {
        let accepted = if m.port == 0 {
            None
        } else if audio.is_none() && m.is_rtp_audio() && !m.is_secure() {
            answer_audio(offer, index, caps).map(|(line, n)| {
                audio = Some(n);
                line
            })
        } else if t38.is_none() && m.is_t38() {
            caps.t38.map(|addr| {
                let (line, n) = answer_t38(offer, index, addr);
                t38 = Some(n);
                line
            })
        } else {
            None
        };
        lines.push(accepted.unwrap_or_else(|| m.rejected()));
    }
    let any_active = offer.media.iter().any(|m| m.port != 0);
    if any_active && audio.is_none() && t38.is_none() {
        return Err(NegotiationError::NoCommonCodec);
    }
    // The session-level c= is our audio address (the T.38 one when only T.38 is
    // accepted); lines at that address need no c= of their own.
    let session_ip = match (&audio, &t38, caps.t38) {
        (None, Some(_), Some(fax)) => fax.ip(),
        _ => caps.rtp.ip(),
    };
    for line in &mut lines {
        if line.port != 0 && line.connection == Some(Connection::Ip(session_ip)) {
            line.connection = None;
        }
    }
    let sdp = SessionDescription {
        origin,
        session_name: "-".to_owned(),
        connection: Some(Connection::Ip(session_ip)),
        bandwidths: Vec::new(),
        attributes: Vec::new(),
        media: lines,
    };
    Ok(Answer { sdp, audio, t38 })
}

/// The accepted audio line and its negotiation, or None when no voice codec is common.
fn answer_audio(
    offer: &SessionDescription,
    index: usize,
    caps: &LocalCapabilities,
) -> Option<(MediaDescription, NegotiatedAudio)> {
    let remote = offer.media_at(index)?;
    let offered = &remote.codecs;
    // (offered codec, our codec) pairs of common voice formats.
    let mut common: Vec<(&Codec, &Codec)> = if caps.prefer_offerer_order {
        offered
            .iter()
            .filter(|o| is_voice(o))
            .filter_map(|o| {
                caps.codecs
                    .iter()
                    .find(|l| same_format(o, l))
                    .map(|l| (o, l))
            })
            .collect()
    } else {
        caps.codecs
            .iter()
            .filter_map(|l| offered.iter().find(|o| same_format(o, l)).map(|o| (o, l)))
            .filter(|(o, _)| is_voice(o))
            .collect()
    };
    if common.is_empty() {
        return None;
    }
    if caps.single_codec {
        common.truncate(1);
    }
    let extras = caps.telephone_event.iter().chain(
        caps.codecs
            .iter()
            .filter(|c| c.name == CodecName::ComfortNoise),
    );
    for l in extras {
        if let Some(o) = offered.iter().find(|o| same_format(o, l)) {
            common.push((o, l));
        }
    }
    let chosen: Vec<Codec> = common
        .iter()
        .map(|(o, l)| Codec {
            fmtp: answer_fmtp(o, l),
            ..(*o).clone()
        })
        .collect();
    let payload_map = PayloadMap(
        common
            .iter()
            .map(|(o, l)| PayloadMapping {
                name: o.name.clone(),
                remote: o.payload_type,
                local: l.payload_type,
            })
            .collect(),
    );
    // `media_at` succeeded above, so `index` is in range.
    let offer_line = &offer.media[index];
    let ptime = match (remote.ptime.or(caps.ptime), offer_line.maxptime()) {
        (Some(p), Some(max)) => Some(p.min(max)),
        (p, _) => p,
    };
    let local = Media {
        rtp: Some(caps.rtp),
        rtcp: None,
        codecs: chosen.clone(),
        ptime,
        direction: answer_direction(remote.direction, caps.direction),
    };
    let mut line = audio_line(&local);
    line.connection = Some(Connection::Ip(caps.rtp.ip()));
    let remote = Media {
        codecs: chosen,
        ..remote
    };
    Some((
        line,
        NegotiatedAudio {
            index,
            remote,
            local,
            payload_map,
        },
    ))
}

/// fmtp of an answered format: ours when we state one, else the offerer's; G.729
/// Annex B is off when either side turns it off (RFC 4856 §2.1.9).
fn answer_fmtp(offered: &Codec, ours: &Codec) -> Option<String> {
    if offered.name == CodecName::G729
        && !(g729_annexb(offered.fmtp.as_deref()) && g729_annexb(ours.fmtp.as_deref()))
    {
        return Some("annexb=no".to_owned());
    }
    ours.fmtp.clone().or_else(|| offered.fmtp.clone())
}

/// The accepted T.38 line: our UDPTL port, the offer's `T38*` attributes echoed
/// (ITU-T T.38 Annex D.2.3: the answerer may only lower them; we take them as offered).
fn answer_t38(
    offer: &SessionDescription,
    index: usize,
    addr: SocketAddr,
) -> (MediaDescription, NegotiatedT38) {
    // `index` comes from enumerating `offer.media`.
    let m = &offer.media[index];
    let mut line = m.rejected();
    line.port = addr.port();
    line.connection = Some(Connection::Ip(addr.ip()));
    line.attributes = m
        .attributes
        .iter()
        .filter(|a| is_t38_attribute(a))
        .cloned()
        .collect();
    let remote = offer
        .connection_for(index)
        .and_then(Connection::ip)
        .map(|ip| SocketAddr::new(ip, m.port));
    let n = NegotiatedT38 {
        index,
        remote,
        attributes: line.attributes.clone(),
    };
    (line, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use MediaDirection::*;

    #[test]
    fn rfc3264_6_1_direction_table() {
        // Offer -> answer when we want both ways.
        assert_eq!(answer_direction(SendRecv, SendRecv), SendRecv);
        assert_eq!(answer_direction(SendOnly, SendRecv), RecvOnly);
        assert_eq!(answer_direction(RecvOnly, SendRecv), SendOnly);
        assert_eq!(answer_direction(Inactive, SendRecv), Inactive);
        // Limited by our own wish (we hold: sendonly).
        assert_eq!(answer_direction(SendRecv, SendOnly), SendOnly);
        assert_eq!(answer_direction(SendOnly, SendOnly), Inactive);
        assert_eq!(answer_direction(RecvOnly, Inactive), Inactive);
    }

    #[test]
    fn payload_map_both_ways() {
        let map = PayloadMap(vec![
            PayloadMapping {
                name: CodecName::TelephoneEvent,
                remote: 97,
                local: 101,
            },
            PayloadMapping {
                name: CodecName::Pcma,
                remote: 8,
                local: 8,
            },
        ]);
        assert_eq!(map.to_local(97), Some(101));
        assert_eq!(map.to_remote(101), Some(97));
        assert_eq!(map.to_local(8), Some(8));
        assert_eq!(map.to_local(101), None);
        assert_eq!(map.to_remote(97), None);
    }
}
