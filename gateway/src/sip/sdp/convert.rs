//! SDP audio m-lines <-> the neutral [`Media`] (DESIGN.md "The pivot").

use super::attributes::Rtcp;
use super::codecs::{name_from_sdp, name_to_sdp, static_codec};
use super::description::{
    Attribute, Connection, MediaDescription, MediaKind, Origin, SessionDescription, Transport,
    direction_name,
};
use super::error::SdpError;
use mapping::model::{Codec, Media};
use std::net::SocketAddr;

impl SessionDescription {
    /// The neutral media of the first usable RTP audio m-line ([`SdpError::NoAudio`] when
    /// there is none).
    pub fn to_media(&self) -> Result<Media, SdpError> {
        let index = self.first_audio().ok_or(SdpError::NoAudio)?;
        self.media_at(index).ok_or(SdpError::NoAudio)
    }

    /// The neutral media of m-line `index` (None when out of range), in the terms of the side
    /// that wrote it: its RTP address, codecs in its payload types and order, its ptime
    /// and direction (media level over session level; `c=0.0.0.0` as hold, RFC 3264 §8.4).
    ///
    /// A dynamic payload type without an rtpmap is skipped (RFC 8866 §6.6 requires one).
    pub fn media_at(&self, index: usize) -> Option<Media> {
        let m = self.media.get(index)?;
        let rtp = self
            .connection_for(index)
            .and_then(Connection::ip)
            .map(|ip| SocketAddr::new(ip, m.port));
        let rtcp = m.rtcp().and_then(|r| {
            let ip = r.address.or(rtp.map(|a| a.ip()))?;
            Some(SocketAddr::new(ip, r.port))
        });
        Some(Media {
            rtp,
            rtcp,
            codecs: codecs_of(m),
            ptime: m.ptime(),
            direction: self.direction_for(index),
        })
    }

    /// A complete description with one audio m-line for `media`; the `c=` goes at session
    /// level (RFC 8866 §5.7).
    pub fn from_media(origin: Origin, media: &Media) -> Self {
        SessionDescription {
            origin,
            session_name: "-".to_owned(),
            connection: media.rtp.map(|a| Connection::Ip(a.ip())),
            bandwidths: Vec::new(),
            attributes: Vec::new(),
            media: vec![audio_line(media)],
        }
    }
}

/// The codecs of an RTP m-line in format order.
pub fn codecs_of(m: &MediaDescription) -> Vec<Codec> {
    let mut out = Vec::new();
    for format in &m.formats {
        let Ok(pt) = format.parse::<u8>() else {
            continue;
        };
        let codec = match m.rtpmap(pt) {
            Some(map) => Codec {
                name: name_from_sdp(&map.encoding),
                clock_rate: map.clock_rate,
                channels: map.channels,
                payload_type: pt,
                fmtp: None,
            },
            None => match static_codec(pt) {
                Some(c) => c,
                None => continue,
            },
        };
        out.push(Codec {
            fmtp: m.fmtp(format).map(str::to_owned),
            ..codec
        });
    }
    out
}

/// An `RTP/AVP` audio m-line for `media` (no `c=`; the caller places it).
///
/// Every codec gets an rtpmap, static ones too (RFC 3264 §5.1 recommends it), then its
/// fmtp; then ptime, rtcp (when set) and the direction, always written.
pub fn audio_line(media: &Media) -> MediaDescription {
    let mut m = MediaDescription::new(
        MediaKind::Audio,
        media.rtp.map_or(0, |a| a.port()),
        Transport::RtpAvp,
        media
            .codecs
            .iter()
            .map(|c| c.payload_type.to_string())
            .collect(),
    );
    for c in &media.codecs {
        m.attributes
            .push(Attribute::with_value("rtpmap", rtpmap_value(c)));
        if let Some(f) = &c.fmtp {
            m.attributes.push(Attribute::with_value(
                "fmtp",
                format!("{} {f}", c.payload_type),
            ));
        }
    }
    if let Some(p) = media.ptime {
        m.attributes.push(Attribute::with_value("ptime", p));
    }
    if let Some(r) = media.rtcp {
        m.attributes
            .push(Attribute::with_value("rtcp", Rtcp::value_for(r)));
    }
    m.attributes
        .push(Attribute::flag(direction_name(media.direction)));
    m
}

/// `<pt> <name>/<clock>[/<channels>]`.
pub fn rtpmap_value(c: &Codec) -> String {
    let name = name_to_sdp(&c.name);
    if c.channels > 1 {
        format!("{} {name}/{}/{}", c.payload_type, c.clock_rate, c.channels)
    } else {
        format!("{} {name}/{}", c.payload_type, c.clock_rate)
    }
}
