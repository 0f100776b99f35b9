//! The media side of a call as the call core plans it: the gateway anchors every call's
//! RTP (side A faces the ingress leg, side B the egress leg), so each leg is offered
//! and answered with the gateway's own addresses, and the relay is told where the
//! peers are and how payload types map. No sockets here: the shell carries out the
//! [`MediaCommand`]s.

use crate::media::codec::CodecKind;
pub use crate::media::dtmf::DtmfPolicy;
use crate::media::g711::Law;
use crate::media::relay::Side;
pub use crate::media::transcode_path::Transcode;
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
    /// Decoded and re-encoded in another codec (the legs share none, issue 6).
    pub transcode: Option<Transcode>,
}

/// The codec layer's name for `c`, when this build can decode and encode it: G.711,
/// G.722, L16 at 8 or 16 kHz, Opus and (with the `g729` feature) G.729. Opus is run at
/// `pcm_rate` when that is one of its rates (8 or 16 kHz here), so that it meets the
/// other leg's codec without resampling.
pub fn codec_kind(c: &Codec, pcm_rate: u32) -> Option<CodecKind> {
    match (&c.name, c.clock_rate) {
        (CodecName::Pcmu, 8000) => Some(CodecKind::Pcmu),
        (CodecName::Pcma, 8000) => Some(CodecKind::Pcma),
        (CodecName::G722, 8000) => Some(CodecKind::G722),
        (CodecName::G729, 8000) if cfg!(feature = "g729") => Some(CodecKind::G729),
        (CodecName::L16, rate @ (8000 | 16000)) if c.channels <= 1 => Some(CodecKind::L16 { rate }),
        // RFC 7587 §7: always opus/48000/2 in SDP, whatever is sent.
        (CodecName::Opus, 48000) => Some(CodecKind::Opus {
            rate: if pcm_rate >= 16000 { 16000 } else { 8000 },
        }),
        _ => None,
    }
}

/// Whether this build can transcode `c`.
pub fn transcodable(c: &Codec) -> bool {
    codec_kind(c, 8000).is_some()
}

/// The packetisation time a transcoder sends at: the stated one when the transcoder
/// can frame it, else 20 ms (RFC 3551 §4.5's usual default).
fn transcode_ptime(ptime: Option<u16>) -> u16 {
    ptime
        .filter(|p| matches!(p, 10 | 20 | 30 | 40))
        .unwrap_or(20)
}

/// The two transcoding rules between A's codec `ca` (A sends and receives it) and B's
/// `b_in` (what B sends) / `b_out` (what B receives); `None` when a codec is not one
/// this build has.
fn transcode_rules(
    ca: &Codec,
    a_ptime: Option<u16>,
    b_in: &Codec,
    b_out: &Codec,
    b_ptime: Option<u16>,
) -> Option<[PtRule; 2]> {
    let rate = |c: &Codec| codec_kind(c, 8000).map_or(8000, |k| k.info().sample_rate);
    let ka_out = codec_kind(ca, rate(b_out))?;
    let kb_out = codec_kind(b_out, rate(ca))?;
    let ka_in = codec_kind(ca, rate(b_in))?;
    let kb_in = codec_kind(b_in, rate(ca))?;
    Some([
        PtRule {
            from: Side::A,
            pt_in: ca.payload_type,
            pt_out: b_out.payload_type,
            laws: None,
            transcode: Some(Transcode {
                codec_in: ka_out,
                codec_out: kb_out,
                ptime_ms: transcode_ptime(b_ptime),
            }),
        },
        PtRule {
            from: Side::B,
            pt_in: b_in.payload_type,
            pt_out: ca.payload_type,
            laws: None,
            transcode: Some(Transcode {
                codec_in: kb_in,
                codec_out: ka_in,
                ptime_ms: transcode_ptime(a_ptime),
            }),
        },
    ])
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
            transcode: None,
        });
    }
    Some(PtRule {
        from,
        pt_in: cin.payload_type,
        pt_out: cout.payload_type,
        laws: Some((law_of(cin)?, law_of(cout)?)),
        transcode: None,
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
        match (ca, b_in) {
            (Some(ca), Some(b_in)) => {
                pairs.extend(voice_rules(ca, ca, b_in, b_out));
                codecs.push(ca.clone());
            }
            // No codec in common: A is answered with its most preferred codec this
            // build can transcode, and the relay transcodes both ways (issue 6).
            (None, Some(b_in)) => {
                let rules = offer_a
                    .codecs
                    .iter()
                    .filter(|c| c.name != CodecName::TelephoneEvent)
                    .find_map(|ca| {
                        transcode_rules(ca, offer_a.ptime, b_in, b_out, answer_b.ptime)
                            .map(|r| (ca, r))
                    });
                if let Some((ca, rules)) = rules {
                    pairs.extend(rules);
                    codecs.push(ca.clone());
                }
            }
            _ => {}
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
            ptime: if pairs.iter().any(|r| r.transcode.is_some()) {
                offer_a.ptime
            } else {
                answer_b.ptime
            },
            codecs,
            direction: answer_b.direction,
        },
        pairs,
    )
}

/// The model codec for a configured name, with its static payload type or `dynamic`.
fn configured(c: crate::config::Codec, dynamic: u8) -> Codec {
    use crate::config::Codec as C;
    let (name, clock_rate, channels, pt, fmtp) = match c {
        C::Pcmu => (CodecName::Pcmu, 8000, 1, 0, None),
        C::Pcma => (CodecName::Pcma, 8000, 1, 8, None),
        C::G722 => (CodecName::G722, 8000, 1, 9, None),
        // RFC 4856 §2.1.9: we send no Annex B SID frames (received ones are decoded).
        C::G729 => (CodecName::G729, 8000, 1, 18, Some("annexb=no".to_owned())),
        C::L16 => (CodecName::L16, 16000, 1, dynamic, None),
        // RFC 7587 §7: opus/48000/2 whatever is sent; mono is what we send.
        C::Opus => (CodecName::Opus, 48000, 2, dynamic, None),
        C::TelephoneEvent => (
            CodecName::TelephoneEvent,
            8000,
            1,
            dynamic,
            Some("0-16".to_owned()),
        ),
    };
    Codec {
        name,
        clock_rate,
        channels,
        payload_type: pt,
        fmtp,
    }
}

/// The offer toward an egress trunk that names its codecs (`trunk`): the caller's
/// codecs the trunk allows, in the trunk's order, then the trunk's other codecs that
/// this build can transcode to from one of the caller's, in free payload types
/// (transcoding only when the far end picks one of those). The caller's
/// telephone-event stays. A trunk that names none gets the caller's offer as it is.
pub fn offer_toward(
    offer_a: &Media,
    trunk: Option<&[crate::config::Codec]>,
    local: SocketAddr,
) -> Media {
    let mut offer = anchored(offer_a, local);
    let Some(list) = trunk else {
        return offer;
    };
    let voice = |c: &crate::config::Codec| *c != crate::config::Codec::TelephoneEvent;
    let mut codecs: Vec<Codec> = Vec::new();
    for want in list.iter().filter(|c| voice(c)) {
        let w = configured(*want, 0);
        if let Some(c) = offer_a.codecs.iter().find(|c| same_codec(c, &w)) {
            codecs.push(c.clone());
        }
    }
    let can_transcode = offer_a
        .codecs
        .iter()
        .any(|c| c.name != CodecName::TelephoneEvent && transcodable(c));
    if can_transcode {
        let mut used: Vec<u8> = offer_a.codecs.iter().map(|c| c.payload_type).collect();
        for want in list.iter().filter(|c| voice(c)) {
            let Some(pt) = (96..=127).find(|pt| !used.contains(pt)) else {
                break;
            };
            let w = configured(*want, pt);
            if codecs.iter().any(|c| same_codec(c, &w)) || !transcodable(&w) {
                continue;
            }
            used.push(w.payload_type);
            codecs.push(w);
        }
    }
    codecs.extend(
        offer_a
            .codecs
            .iter()
            .filter(|c| c.name == CodecName::TelephoneEvent)
            .cloned(),
    );
    offer.codecs = codecs;
    offer
}

/// The gateway's own offer (delayed-offer calls, the built-in endpoint): the configured
/// codecs this build can carry, in their order, and telephone-event, at `local` (a
/// G.711 codec first when none is configured).
pub fn own_offer(codecs: &[crate::config::Codec], ptime: u16, local: SocketAddr) -> Media {
    let mut out: Vec<Codec> = Vec::new();
    let mut dynamic = 96..=127u8;
    for c in codecs {
        let codec = match c {
            crate::config::Codec::TelephoneEvent => configured(*c, 101),
            _ => {
                let pt = match c {
                    crate::config::Codec::Opus | crate::config::Codec::L16 => {
                        match dynamic.find(|pt| *pt != 101) {
                            Some(pt) => pt,
                            None => continue,
                        }
                    }
                    _ => 0,
                };
                configured(*c, pt)
            }
        };
        // Only what this build can carry (G.729 needs its feature).
        if codec.name != CodecName::TelephoneEvent && !transcodable(&codec) {
            continue;
        }
        if !out.iter().any(|o| same_codec(o, &codec)) {
            out.push(codec);
        }
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
                    laws: None,
                    transcode: None
                },
                PtRule {
                    from: Side::B,
                    pt_in: 96,
                    pt_out: 101,
                    laws: None,
                    transcode: None
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

    fn codec(name: CodecName, clock_rate: u32, channels: u8, payload_type: u8) -> Codec {
        Codec {
            name,
            clock_rate,
            channels,
            payload_type,
            fmtp: None,
        }
    }

    #[test]
    fn a_trunk_with_codecs_gets_shared_ones_first_then_transcodable_ones() {
        use crate::config::Codec as C;
        let offer = media(
            4000,
            &[(CodecName::Pcmu, 0), (CodecName::TelephoneEvent, 101)],
        );
        let local = SocketAddr::from(([127, 0, 0, 1], 10002));
        // No list: the caller's offer, at our address.
        assert_eq!(offer_toward(&offer, None, local), anchored(&offer, local));
        let b = offer_toward(&offer, Some(&[C::Opus, C::G722, C::Pcmu]), local);
        let names: Vec<_> = b
            .codecs
            .iter()
            .map(|c| (c.name.clone(), c.payload_type))
            .collect();
        assert_eq!(
            names,
            [
                (CodecName::Pcmu, 0),
                (CodecName::Opus, 96),
                (CodecName::G722, 9),
                (CodecName::TelephoneEvent, 101)
            ]
        );
        let opus = &b.codecs[1];
        assert_eq!((opus.clock_rate, opus.channels), (48000, 2), "RFC 7587 §7");
        // Only G.722 allowed: the caller's PCMU is not offered.
        let b = offer_toward(&offer, Some(&[C::G722]), local);
        assert_eq!(b.codecs[0].name, CodecName::G722);
        assert_eq!(b.codecs.len(), 2);
        // A caller with nothing we can decode gets nothing added.
        let odd = media(4000, &[(CodecName::Other("AMR".into()), 97)]);
        assert!(
            offer_toward(&odd, Some(&[C::G722]), local)
                .codecs
                .is_empty()
        );
    }

    #[test]
    fn no_shared_codec_means_transcoding_both_ways() {
        let mut offer = media(
            4000,
            &[(CodecName::Pcmu, 0), (CodecName::TelephoneEvent, 101)],
        );
        offer.ptime = Some(20);
        let mut answer = Media {
            codecs: vec![codec(CodecName::Opus, 48000, 2, 96)],
            ..media(5000, &[])
        };
        answer.ptime = Some(40);
        let local = SocketAddr::from(([127, 0, 0, 1], 10000));
        let (a, rules) = answer_toward_a(&offer, &answer, false, local);
        assert_eq!(
            a.codecs[0].name,
            CodecName::Pcmu,
            "the caller keeps its codec"
        );
        assert_eq!(a.ptime, Some(20));
        let t: Vec<_> = rules
            .iter()
            .map(|r| (r.from, r.pt_in, r.pt_out, r.transcode))
            .collect();
        assert_eq!(
            t,
            [
                (
                    Side::A,
                    0,
                    96,
                    Some(Transcode {
                        codec_in: CodecKind::Pcmu,
                        codec_out: CodecKind::Opus { rate: 8000 },
                        ptime_ms: 40
                    })
                ),
                (
                    Side::B,
                    96,
                    0,
                    Some(Transcode {
                        codec_in: CodecKind::Opus { rate: 8000 },
                        codec_out: CodecKind::Pcmu,
                        ptime_ms: 20
                    })
                )
            ]
        );
        // Opus meets G.722 at 16 kHz.
        let offer = Media {
            codecs: vec![codec(CodecName::G722, 8000, 1, 9)],
            ..media(4000, &[])
        };
        let (_, rules) = answer_toward_a(&offer, &answer, false, local);
        assert_eq!(
            rules[0].transcode.map(|t| t.codec_out),
            Some(CodecKind::Opus { rate: 16000 })
        );
        // Something we cannot decode: no voice rule, no voice codec toward A.
        let answer = media(5000, &[(CodecName::Other("AMR".into()), 97)]);
        let (a, rules) = answer_toward_a(&offer, &answer, false, local);
        assert!(rules.is_empty() && a.codecs.is_empty());
    }

    #[test]
    fn own_offer_lists_what_the_build_can_carry() {
        use crate::config::Codec as C;
        let local = SocketAddr::from(([127, 0, 0, 1], 10000));
        let m = own_offer(&[C::G729, C::Opus, C::Pcma, C::TelephoneEvent], 20, local);
        let names: Vec<_> = m
            .codecs
            .iter()
            .map(|c| (c.name.clone(), c.payload_type))
            .collect();
        let mut want = vec![];
        if cfg!(feature = "g729") {
            want.push((CodecName::G729, 18));
        }
        want.extend([
            (CodecName::Opus, 96),
            (CodecName::Pcma, 8),
            (CodecName::TelephoneEvent, 101),
        ]);
        assert_eq!(names, want);
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
