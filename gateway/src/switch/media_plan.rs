//! The media side of a call as the call core plans it: the gateway anchors every call's
//! RTP (side A faces the ingress leg, side B the egress leg), so each leg is offered
//! and answered with the gateway's own addresses, and the relay is told where the
//! peers are and how payload types map. No sockets here: the shell carries out the
//! [`MediaCommand`]s.

pub use crate::media::dtmf::DtmfPolicy;
use crate::media::g711::Law;
use crate::media::relay::Side;
use mapping::model::{Codec, CodecName, Media, MediaDirection};
use std::net::SocketAddr;

/// Where a peer wants RTP and RTCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MediaPeer {
    /// RTP address.
    pub rtp: Option<SocketAddr>,
    /// RTCP address, when not RTP + 1.
    pub rtcp: Option<SocketAddr>,
}

impl MediaPeer {
    /// The peer a media description names (RTCP defaults to RTP port + 1, RFC 3550 §11).
    pub fn of(m: &Media) -> MediaPeer {
        MediaPeer {
            rtp: m.rtp.filter(|a| !a.ip().is_unspecified() && a.port() != 0),
            rtcp: m.rtcp.or_else(|| {
                m.rtp
                    .filter(|a| a.port() != 0)
                    .map(|a| SocketAddr::new(a.ip(), a.port().wrapping_add(1)))
            }),
        }
    }
}

/// A one-direction rewrite rule for the relay: `pt_in` arriving on `from` leaves as
/// `pt_out`, its G.711 payload converted between laws when `laws` is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PtRule {
    /// The side the packets arrive on.
    pub from: Side,
    /// Their payload type.
    pub pt_in: u8,
    /// The payload type they leave with.
    pub pt_out: u8,
    /// (law in, law out) when the payload is converted.
    pub laws: Option<(Law, Law)>,
}

/// The G.711 law of a codec, if it is G.711.
pub fn law_of(c: &Codec) -> Option<Law> {
    match c.name {
        CodecName::Pcmu if c.clock_rate == 8000 => Some(Law::Pcmu),
        CodecName::Pcma if c.clock_rate == 8000 => Some(Law::Pcma),
        _ => None,
    }
}

fn rule(from: Side, cin: &Codec, cout: &Codec) -> Option<PtRule> {
    if same_codec(cin, cout) {
        return (cin.payload_type != cout.payload_type).then_some(PtRule {
            from,
            pt_in: cin.payload_type,
            pt_out: cout.payload_type,
            laws: None,
        });
    }
    Some(PtRule {
        from,
        pt_in: cin.payload_type,
        pt_out: cout.payload_type,
        laws: Some((law_of(cin)?, law_of(cout)?)),
    })
}

/// The rules for a voice stream where side A sends `a_in` and expects `a_out`, and side
/// B sends `b_in` and expects `b_out` (in and out differ only where an H.245 leg opened
/// asymmetric channels): payload types renumbered and G.711 laws converted where they
/// differ. Codecs that are neither equal nor both G.711 get no rule (they wait for
/// transcoding).
pub fn voice_rules(a_in: &Codec, a_out: &Codec, b_in: &Codec, b_out: &Codec) -> Vec<PtRule> {
    [rule(Side::A, a_in, b_out), rule(Side::B, b_in, a_out)]
        .into_iter()
        .flatten()
        .collect()
}

/// The voice codecs of a description as (what its writer receives, what it sends):
/// the same codec twice, unless it comes from an H.323 leg (`h245`), which reports
/// asymmetric channels as [what we send it, what it sends us].
fn voice_pair(m: &Media, h245: bool) -> Option<(&Codec, &Codec)> {
    let mut voice = m
        .codecs
        .iter()
        .filter(|c| c.name != CodecName::TelephoneEvent);
    let first = voice.next()?;
    let second = voice.next().filter(|_| h245);
    Some((first, second.unwrap_or(first)))
}

/// What the media task does.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MediaMode {
    /// Relay A <-> B.
    Relay,
    /// Play a tone toward A.
    Tone {
        /// Frequency in Hz.
        hz: f32,
        /// Payload type on side A.
        payload_type: u8,
        /// The G.711 law of that payload type.
        law: Law,
    },
    /// Send A's audio back to A.
    Echo,
}

/// Commands for the shell's media engine.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaCommand {
    /// Start the media of `call` on the reserved local addresses.
    Start {
        /// The call.
        call: u64,
        /// Side A's local RTP address.
        a: SocketAddr,
        /// Side B's, when the egress is a network leg.
        b: Option<SocketAddr>,
        /// A's peer.
        a_peer: MediaPeer,
        /// B's peer.
        b_peer: MediaPeer,
        /// Payload-type pairs.
        pt_map: Vec<PtRule>,
        /// What to do.
        mode: MediaMode,
    },
    /// A peer moved (re-INVITE, a new answer).
    Repoint {
        /// The call.
        call: u64,
        /// The side.
        side: Side,
        /// The new peer.
        peer: MediaPeer,
    },
    /// New payload-type pairs.
    PtMap {
        /// The call.
        call: u64,
        /// The pairs.
        pairs: Vec<PtRule>,
    },
    /// How a side handles RFC 4733 telephone-events: their payload type there, and
    /// whether those arriving on it are taken out of the media and reported as digits.
    Dtmf {
        /// The call.
        call: u64,
        /// The side.
        side: Side,
        /// The policy.
        policy: DtmfPolicy,
    },
    /// Play a DTMF digit toward a side's peer as RFC 4733 events (its telephone-event
    /// payload type, in the stream the gateway emits there).
    SendDtmf {
        /// The call.
        call: u64,
        /// The side whose peer hears it.
        side: Side,
        /// `0-9 * # A-D`.
        digit: char,
        /// Its length (0: the default).
        duration_ms: u32,
    },
}

/// Where the shell gets local RTP ports from (it binds them as it hands them out, so
/// an address in an SDP is always one we hold).
pub trait MediaPorts: Send {
    /// A local RTP address (RTCP on the next port); `None` when the range is used up.
    fn reserve(&mut self) -> Option<SocketAddr>;
    /// Gives back an address that was never started.
    fn release(&mut self, local: SocketAddr);
}

/// Ports for tests and replays: addresses counted up from a base, nothing bound.
#[derive(Debug, Clone)]
pub struct CountingPorts {
    next: SocketAddr,
    /// How many are out.
    pub reserved: usize,
}

impl CountingPorts {
    /// Counting up from `base` by 2.
    pub fn new(base: SocketAddr) -> CountingPorts {
        CountingPorts {
            next: base,
            reserved: 0,
        }
    }
}

impl MediaPorts for CountingPorts {
    fn reserve(&mut self) -> Option<SocketAddr> {
        let a = self.next;
        self.next.set_port(a.port().checked_add(2)?);
        self.reserved += 1;
        Some(a)
    }

    fn release(&mut self, _local: SocketAddr) {
        self.reserved = self.reserved.saturating_sub(1);
    }
}

/// `m` as the gateway re-offers or re-answers it from `local`: same codecs, our address.
pub fn anchored(m: &Media, local: SocketAddr) -> Media {
    Media {
        rtp: Some(local),
        rtcp: None,
        ..m.clone()
    }
}

fn same_codec(a: &Codec, b: &Codec) -> bool {
    a.name == b.name && a.clock_rate == b.clock_rate
}

/// The answer toward the offerer on side A for `answer_b` (what side B answered to our
/// re-offer of `offer_a`): B's codecs in A's payload types, at our address `local_a`;
/// and the payload-type pairs the relay rewrites (only where they differ). When B's
/// voice codec is not among A's (an H.323 channel opened with the other G.711 law), A
/// is answered with its own first G.711 and the relay converts.
pub fn answer_toward_a(
    offer_a: &Media,
    answer_b: &Media,
    b_is_h245: bool,
    local_a: SocketAddr,
) -> (Media, Vec<PtRule>) {
    let mut pairs = Vec::new();
    let mut codecs: Vec<Codec> = Vec::new();
    let (b_out, b_in) = match voice_pair(answer_b, b_is_h245) {
        Some(p) => (Some(p.0), Some(p.1)),
        None => (None, None),
    };
    // The voice codec: B's (what we send it) in A's payload type, else A's first G.711
    // with a law conversion.
    if let Some(b_out) = b_out {
        let ca = offer_a
            .codecs
            .iter()
            .find(|ca| same_codec(ca, b_out))
            .or_else(|| {
                law_of(b_out)?;
                offer_a.codecs.iter().find(|c| law_of(c).is_some())
            });
        if let (Some(ca), Some(b_in)) = (ca, b_in) {
            pairs.extend(voice_rules(ca, ca, b_in, b_out));
            codecs.push(ca.clone());
        }
    }
    // Telephone-event and any other codec both sides have, renumbered.
    for cb in answer_b
        .codecs
        .iter()
        .filter(|c| c.name == CodecName::TelephoneEvent)
    {
        if let Some(ca) = offer_a.codecs.iter().find(|ca| same_codec(ca, cb)) {
            pairs.extend(voice_rules(ca, ca, cb, cb));
            codecs.push(Codec {
                payload_type: ca.payload_type,
                ..cb.clone()
            });
        }
    }
    (
        Media {
            rtp: Some(local_a),
            rtcp: None,
            codecs,
            ptime: answer_b.ptime,
            direction: answer_b.direction,
        },
        pairs,
    )
}

/// The gateway's own offer (delayed-offer calls, the built-in endpoint): G.711 in the
/// configured order and telephone-event, at `local`.
pub fn own_offer(codecs: &[crate::config::Codec], ptime: u16, local: SocketAddr) -> Media {
    let mut out = Vec::new();
    for c in codecs {
        let (name, pt, fmtp) = match c.name() {
            "PCMU" => (CodecName::Pcmu, 0, None),
            "PCMA" => (CodecName::Pcma, 8, None),
            "telephone-event" => (CodecName::TelephoneEvent, 101, Some("0-16".to_owned())),
            // Transcoded codecs arrive with the media engine's transcoding.
            _ => continue,
        };
        out.push(Codec {
            name,
            clock_rate: 8000,
            channels: 1,
            payload_type: pt,
            fmtp,
        });
    }
    if !out
        .iter()
        .any(|c| matches!(c.name, CodecName::Pcmu | CodecName::Pcma))
    {
        out.insert(0, g711(CodecName::Pcmu, 0));
    }
    Media {
        rtp: Some(local),
        rtcp: None,
        codecs: out,
        ptime: Some(ptime),
        direction: MediaDirection::SendRecv,
    }
}

fn g711(name: CodecName, payload_type: u8) -> Codec {
    Codec {
        name,
        clock_rate: 8000,
        channels: 1,
        payload_type,
        fmtp: None,
    }
}

/// The telephone-event codec of a description (8 kHz, the one DTMF uses), if any.
pub fn telephone_event(m: &Media) -> Option<&Codec> {
    m.codecs
        .iter()
        .find(|c| c.name == CodecName::TelephoneEvent && c.clock_rate == 8000)
}

/// `m` without telephone-event (toward a leg that takes DTMF as signalling, so that it
/// sends its digits that way too).
pub fn without_telephone_event(m: &Media) -> Media {
    Media {
        codecs: m
            .codecs
            .iter()
            .filter(|c| c.name != CodecName::TelephoneEvent)
            .cloned()
            .collect(),
        ..m.clone()
    }
}

/// `m` with telephone-event 0-15 added after its other codecs, unless it has it: in
/// payload type `preferred` when that is free in `m`, else the first free dynamic one
/// (96-127, RFC 3551 §3). Unchanged when no dynamic payload type is free.
pub fn with_telephone_event(m: &Media, preferred: u8) -> Media {
    if telephone_event(m).is_some() {
        return m.clone();
    }
    let used = |pt: u8| m.codecs.iter().any(|c| c.payload_type == pt);
    let pt = std::iter::once(preferred)
        .filter(|pt| (96..=127).contains(pt))
        .chain(96..=127)
        .find(|pt| !used(*pt));
    let mut out = m.clone();
    if let Some(pt) = pt {
        out.codecs.push(Codec {
            name: CodecName::TelephoneEvent,
            clock_rate: 8000,
            channels: 1,
            payload_type: pt,
            fmtp: Some("0-15".to_owned()),
        });
    }
    out
}

/// The built-in endpoint's answer to `offer`: the offerer's first G.711 codec (and its
/// telephone-event), at `local`. `None` when the offer has no G.711.
pub fn local_answer(offer: &Media, local: SocketAddr) -> Option<(Media, u8, Law)> {
    let (voice, law) = offer
        .codecs
        .iter()
        .find_map(|c| law_of(c).map(|law| (c, law)))?;
    let mut codecs = vec![voice.clone()];
    if let Some(te) = offer
        .codecs
        .iter()
        .find(|c| c.name == CodecName::TelephoneEvent && c.clock_rate == 8000)
    {
        codecs.push(te.clone());
    }
    let direction = crate::sip::sdp::answer_direction(offer.direction, MediaDirection::SendRecv);
    Some((
        Media {
            rtp: Some(local),
            rtcp: None,
            codecs,
            ptime: offer.ptime.or(Some(20)),
            direction,
        },
        voice.payload_type,
        law,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(port: u16, codecs: &[(CodecName, u8)]) -> Media {
        Media {
            rtp: Some(SocketAddr::from(([127, 0, 0, 2], port))),
            rtcp: None,
            codecs: codecs
                .iter()
                .map(|(n, pt)| Codec {
                    name: n.clone(),
                    clock_rate: 8000,
                    channels: 1,
                    payload_type: *pt,
                    fmtp: None,
                })
                .collect(),
            ptime: Some(20),
            direction: MediaDirection::SendRecv,
        }
    }

    #[test]
    fn answer_keeps_the_offerers_payload_types() {
        let offer = media(
            4000,
            &[(CodecName::Pcmu, 0), (CodecName::TelephoneEvent, 101)],
        );
        let answer = media(
            5000,
            &[(CodecName::Pcmu, 0), (CodecName::TelephoneEvent, 96)],
        );
        let local = SocketAddr::from(([127, 0, 0, 1], 10000));
        let (a, pairs) = answer_toward_a(&offer, &answer, false, local);
        assert_eq!(a.rtp, Some(local));
        assert_eq!(
            a.codecs.iter().map(|c| c.payload_type).collect::<Vec<_>>(),
            [0, 101]
        );
        assert_eq!(
            pairs,
            [
                PtRule {
                    from: Side::A,
                    pt_in: 101,
                    pt_out: 96,
                    laws: None
                },
                PtRule {
                    from: Side::B,
                    pt_in: 96,
                    pt_out: 101,
                    laws: None
                }
            ]
        );
    }

    #[test]
    fn other_g711_law_is_converted() {
        let offer = media(4000, &[(CodecName::Pcmu, 0)]);
        let answer = media(5000, &[(CodecName::Pcma, 8)]);
        let local = SocketAddr::from(([127, 0, 0, 1], 10000));
        let (a, pairs) = answer_toward_a(&offer, &answer, false, local);
        assert_eq!(a.codecs[0].name, CodecName::Pcmu);
        assert_eq!(pairs.len(), 2);
        assert_eq!(pairs[0].laws, Some((Law::Pcmu, Law::Pcma)));
        assert_eq!(pairs[1].laws, Some((Law::Pcma, Law::Pcmu)));
    }

    #[test]
    fn local_endpoint_takes_the_first_g711() {
        let offer = media(
            4000,
            &[
                (CodecName::Other("G729".into()), 18),
                (CodecName::Pcma, 8),
                (CodecName::TelephoneEvent, 101),
            ],
        );
        let local = SocketAddr::from(([127, 0, 0, 1], 10000));
        let (m, pt, law) = local_answer(&offer, local).expect("G.711 offered");
        assert_eq!((pt, law), (8, Law::Pcma));
        assert_eq!(m.codecs.len(), 2);
        assert!(local_answer(&media(1, &[(CodecName::Opus, 111)]), local).is_none());
    }

    #[test]
    fn telephone_event_added_and_removed() {
        let m = media(
            4000,
            &[(CodecName::Pcmu, 0), (CodecName::Other("x".into()), 101)],
        );
        let with = with_telephone_event(&m, 101);
        let te = telephone_event(&with).expect("added");
        assert_eq!((te.payload_type, te.fmtp.as_deref()), (96, Some("0-15")));
        assert_eq!(with_telephone_event(&with, 101), with, "already there");
        let without = without_telephone_event(&with);
        assert_eq!(without.codecs, m.codecs);
        let m = media(4000, &[(CodecName::Pcmu, 0)]);
        assert_eq!(
            telephone_event(&with_telephone_event(&m, 101)).map(|c| c.payload_type),
            Some(101)
        );
    }

    #[test]
    fn rtcp_defaults_to_the_next_port() {
        let p = MediaPeer::of(&media(4000, &[]));
        assert_eq!(p.rtcp.map(|a| a.port()), Some(4001));
        let mut held = media(4000, &[]);
        held.rtp = Some(SocketAddr::from(([0, 0, 0, 0], 4000)));
        assert_eq!(MediaPeer::of(&held).rtp, None);
    }
}
