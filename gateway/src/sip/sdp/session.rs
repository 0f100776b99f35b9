//! The offer/answer state of one call (RFC 3264 §4, §8): our origin and version, the
//! offer we have outstanding, the early answer, and what was negotiated. No I/O.
//!
//! Flows it serves:
//! - early offer: INVITE offer -> [`OfferAnswer::receive_offer`] -> answer in 18x/200;
//! - we call: [`OfferAnswer::create_offer`] in the INVITE -> answer in 18x
//!   ([`AnswerStage::Early`]) and 200 ([`AnswerStage::Final`]);
//! - delayed offer (INVITE without SDP): [`OfferAnswer::create_offer`] in the 200, the
//!   answer comes in the ACK ([`AnswerStage::Final`]);
//! - hold/resume re-offers: [`OfferAnswer::create_offer`] with `caps.direction` sendonly /
//!   sendrecv; the version goes up (RFC 3264 §8), the m-line layout stays (§8.1);
//! - fax: [`OfferAnswer::create_t38_offer`] puts T.38 where the audio was.

use super::convert::audio_line;
use super::description::{
    Attribute, Connection, MediaDescription, MediaKind, Origin, SessionDescription, Transport,
};
use super::error::NegotiationError;
use super::negotiate::{
    Answer, LocalCapabilities, NegotiatedAudio, NegotiatedT38, PayloadMap, PayloadMapping,
    answer_offer, is_t38_attribute, is_voice,
};
use mapping::model::{Codec, Media};
use std::net::{IpAddr, SocketAddr};

/// Whether an answer came early (18x) or final (2xx, or ACK for a delayed offer).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerStage {
    /// In a provisional response (183 Session Progress): early media.
    Early,
    /// In the 2xx or the ACK: closes the offer.
    Final,
}

/// What a received answer told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerOutcome {
    /// The audio stream, if the peer accepted it.
    pub audio: Option<NegotiatedAudio>,
    /// The T.38 stream, if the peer accepted one (answer to [`OfferAnswer::create_t38_offer`]).
    pub t38: Option<NegotiatedT38>,
    /// For a final answer after an early one: true when the media differ from the early
    /// answer (an unreliable 183 may be superseded by the 200; the relay must re-latch).
    pub changed_from_early: bool,
    /// Payload types of the answer that were not in our offer, ignored. RFC 3264 §6.1
    /// forbids them, but some peers add their telephone-event (a Cisco CUCM 200 OK in
    /// `captures/sip-cisco-cucm-gw-hold-resume` does); refusing the call would be worse.
    pub unoffered_payload_types: Vec<u8>,
}

/// The offer/answer state of one call.
#[derive(Debug, Clone)]
pub struct OfferAnswer {
    origin: Origin,
    last_sent: Option<SessionDescription>,
    pending_offer: Option<SessionDescription>,
    early_answer: Option<SessionDescription>,
    negotiated: Option<NegotiatedAudio>,
}

impl OfferAnswer {
    /// A new call: `session_id` stays for the whole call (RFC 8866 §5.2); the first
    /// description we send has version `session_id`, later changed ones count up.
    pub fn new(session_id: u64, address: IpAddr) -> Self {
        OfferAnswer {
            origin: Origin {
                username: "-".to_owned(),
                session_id: session_id.to_string(),
                version: session_id,
                address: address.to_string(),
            },
            last_sent: None,
            pending_offer: None,
            early_answer: None,
            negotiated: None,
        }
    }

    /// The audio stream negotiated last, if any.
    pub fn negotiated(&self) -> Option<&NegotiatedAudio> {
        self.negotiated.as_ref()
    }

    /// True while an offer of ours awaits its answer.
    pub fn offer_pending(&self) -> bool {
        self.pending_offer.is_some()
    }

    /// The last description we sent.
    pub fn last_sent(&self) -> Option<&SessionDescription> {
        self.last_sent.as_ref()
    }

    /// Sets our origin and version: the version goes up by one when the description
    /// differs from the one sent before, and stays when it is the same (RFC 3264 §8).
    fn stamp(&mut self, mut sdp: SessionDescription) -> SessionDescription {
        if let Some(prev) = &self.last_sent {
            let mut same = sdp.clone();
            same.origin = prev.origin.clone();
            self.origin.version = if &same == prev {
                prev.origin.version
            } else {
                prev.origin.version.wrapping_add(1)
            };
        }
        sdp.origin = self.origin.clone();
        self.last_sent = Some(sdp.clone());
        sdp
    }

    /// Our offer (initial, re-offer for hold/resume, or in a 200 for a delayed offer):
    /// one audio line with our codecs in our payload types, telephone-event, ptime and
    /// `caps.direction`. A re-offer keeps the m-line count and order of the previous
    /// description (RFC 3264 §8.1): the audio line takes its old position and other
    /// lines stay, disabled with port 0 (§8.2).
    pub fn create_offer(&mut self, caps: &LocalCapabilities) -> SessionDescription {
        let media = Media {
            rtp: Some(caps.rtp),
            rtcp: None,
            codecs: caps
                .codecs
                .iter()
                .chain(caps.telephone_event.iter())
                .cloned()
                .collect(),
            ptime: caps.ptime,
            direction: caps.direction,
        };
        let sdp = self.offer_layout(caps, audio_line(&media));
        let sdp = self.stamp(sdp);
        self.pending_offer = Some(sdp.clone());
        self.early_answer = None;
        sdp
    }

    /// An offer with `line` at the position of the previous description's audio (or T.38)
    /// line, the other lines disabled in place (RFC 3264 §8.1, §8.2).
    fn offer_layout(&self, caps: &LocalCapabilities, line: MediaDescription) -> SessionDescription {
        let media_lines = match &self.last_sent {
            Some(prev) if !prev.media.is_empty() => {
                let in_use = |m: &MediaDescription| (m.is_rtp_audio() || m.is_t38()) && m.port != 0;
                let at = prev
                    .media
                    .iter()
                    .position(in_use)
                    .or_else(|| prev.media.iter().position(MediaDescription::is_rtp_audio));
                let mut lines: Vec<MediaDescription> =
                    prev.media.iter().map(MediaDescription::rejected).collect();
                match at {
                    // `at` is a position in `prev.media`, which `lines` mirrors.
                    Some(i) => lines[i] = line,
                    None => lines.push(line),
                }
                lines
            }
            _ => vec![line],
        };
        SessionDescription {
            origin: self.origin.clone(),
            session_name: "-".to_owned(),
            connection: Some(Connection::Ip(caps.rtp.ip())),
            bandwidths: Vec::new(),
            attributes: Vec::new(),
            media: media_lines,
        }
    }

    /// A re-offer switching the call to T.38 fax (RFC 3362; ITU-T T.38 Annex D): the
    /// audio line's position becomes `m=image <caps.t38 port> udptl t38` with the given
    /// `T38*` attributes, the other lines stay as they were. None when `caps.t38` is unset.
    pub fn create_t38_offer(
        &mut self,
        caps: &LocalCapabilities,
        t38_attributes: &[Attribute],
    ) -> Option<SessionDescription> {
        let fax = caps.t38?;
        let mut image = MediaDescription::new(
            MediaKind::Image,
            fax.port(),
            Transport::Udptl,
            vec!["t38".to_owned()],
        );
        image.attributes = t38_attributes.to_vec();
        if fax.ip() != caps.rtp.ip() {
            image.connection = Some(Connection::Ip(fax.ip()));
        }
        let mut sdp = self.offer_layout(caps, image);
        // Audio lines other than the replaced one keep their disabled copies.
        sdp.connection = Some(Connection::Ip(caps.rtp.ip()));
        let sdp = self.stamp(sdp);
        self.pending_offer = Some(sdp.clone());
        self.early_answer = None;
        Some(sdp)
    }

    /// Answers a received offer (RFC 3264 §6); see [`answer_offer`]. On success the
    /// answer carries our origin with the version stamped. Refused with
    /// [`NegotiationError::OfferPending`] (491) while our own offer awaits its answer.
    pub fn receive_offer(
        &mut self,
        offer: &SessionDescription,
        caps: &LocalCapabilities,
    ) -> Result<Answer, NegotiationError> {
        if self.pending_offer.is_some() {
            return Err(NegotiationError::OfferPending);
        }
        let mut answer = answer_offer(offer, caps, self.origin.clone())?;
        answer.sdp = self.stamp(answer.sdp);
        self.pending_offer = None;
        self.negotiated = answer.audio.clone();
        Ok(answer)
    }

    /// Processes the answer to our outstanding offer (RFC 3264 §6, §7): same m-line count,
    /// and at least one voice payload type of the accepted audio line from our offer
    /// (others are reported in [`AnswerOutcome::unoffered_payload_types`] and ignored); the
    /// chosen codec is the first offered voice codec of the answer. A final answer closes
    /// the offer.
    pub fn receive_answer(
        &mut self,
        answer: &SessionDescription,
        stage: AnswerStage,
    ) -> Result<AnswerOutcome, NegotiationError> {
        let offer = self
            .pending_offer
            .as_ref()
            .ok_or(NegotiationError::NoOffer)?;
        if offer.media.len() != answer.media.len() {
            return Err(NegotiationError::MediaCountMismatch {
                offer: offer.media.len(),
                answer: answer.media.len(),
            });
        }
        let (audio, unoffered_payload_types) = match answer.first_audio() {
            Some(index) => {
                let (audio, unoffered) = audio_from_answer(offer, answer, index)?;
                (Some(audio), unoffered)
            }
            None => (None, Vec::new()),
        };
        let t38 = answer.first_t38().map(|index| NegotiatedT38 {
            index,
            remote: answer
                .connection_for(index)
                .and_then(Connection::ip)
                .map(|ip| SocketAddr::new(ip, answer.media[index].port)),
            attributes: answer.media[index]
                .attributes
                .iter()
                .filter(|a| is_t38_attribute(a))
                .cloned()
                .collect(),
        });
        let changed_from_early = match (stage, &self.early_answer) {
            (AnswerStage::Final, Some(early)) => {
                let mut a = answer.clone();
                a.origin = early.origin.clone();
                &a != early
            }
            _ => false,
        };
        match stage {
            AnswerStage::Early => self.early_answer = Some(answer.clone()),
            AnswerStage::Final => {
                self.pending_offer = None;
                self.early_answer = None;
            }
        }
        self.negotiated = audio.clone();
        Ok(AnswerOutcome {
            audio,
            t38,
            changed_from_early,
            unoffered_payload_types,
        })
    }
}

/// The negotiated audio of answer line `index`, and the answer's unoffered payload types.
fn audio_from_answer(
    offer: &SessionDescription,
    answer: &SessionDescription,
    index: usize,
) -> Result<(NegotiatedAudio, Vec<u8>), NegotiationError> {
    // Both `first_audio` and the equal m-line counts make `index` valid in both.
    let offered = offer
        .media_at(index)
        .ok_or(NegotiationError::MediaCountMismatch {
            offer: offer.media.len(),
            answer: answer.media.len(),
        })?;
    let remote = answer
        .media_at(index)
        .ok_or(NegotiationError::MediaCountMismatch {
            offer: offer.media.len(),
            answer: answer.media.len(),
        })?;
    let unoffered: Vec<u8> = answer.media[index]
        .payload_types()
        .filter(|pt| !offered.codecs.iter().any(|c| c.payload_type == *pt))
        .collect();
    let chosen: Vec<Codec> = remote
        .codecs
        .iter()
        .filter_map(|a| {
            offered
                .codecs
                .iter()
                .find(|o| o.payload_type == a.payload_type)
        })
        .cloned()
        .collect();
    if !chosen.iter().any(is_voice) {
        return Err(match unoffered.first() {
            Some(pt) => NegotiationError::UnknownPayloadType(*pt),
            None => NegotiationError::NoCommonCodec,
        });
    }
    let payload_map = PayloadMap(
        chosen
            .iter()
            .map(|c| PayloadMapping {
                name: c.name.clone(),
                remote: c.payload_type,
                local: c.payload_type,
            })
            .collect(),
    );
    let audio = NegotiatedAudio {
        index,
        local: Media {
            codecs: chosen,
            ..offered
        },
        remote,
        payload_map,
    };
    Ok((audio, unoffered))
}
