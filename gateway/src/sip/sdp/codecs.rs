//! Codec names and the static RTP payload types of RFC 3551 §6 (table 4, audio).

use mapping::model::{Codec, CodecName};

/// A static audio payload type: (PT, encoding name, clock rate, channels), RFC 3551 table 4.
/// G722 is listed with clock 8000 by the RFC's historical convention (§4.5.2).
pub const STATIC_AUDIO: &[(u8, &str, u32, u8)] = &[
    (0, "PCMU", 8000, 1),
    (3, "GSM", 8000, 1),
    (4, "G723", 8000, 1),
    (5, "DVI4", 8000, 1),
    (6, "DVI4", 16000, 1),
    (7, "LPC", 8000, 1),
    (8, "PCMA", 8000, 1),
    (9, "G722", 8000, 1),
    (10, "L16", 44100, 2),
    (11, "L16", 44100, 1),
    (12, "QCELP", 8000, 1),
    (13, "CN", 8000, 1),
    (14, "MPA", 90000, 1),
    (15, "G728", 8000, 1),
    (16, "DVI4", 11025, 1),
    (17, "DVI4", 22050, 1),
    (18, "G729", 8000, 1),
];

/// The codec of a static payload type, when RFC 3551 assigns one.
pub fn static_codec(pt: u8) -> Option<Codec> {
    STATIC_AUDIO
        .iter()
        .find(|(p, ..)| *p == pt)
        .map(|&(pt, name, clock_rate, channels)| Codec {
            name: name_from_sdp(name),
            clock_rate,
            channels,
            payload_type: pt,
            fmtp: None,
        })
}

/// The static payload type of a codec, when its name, clock and channels match RFC 3551.
pub fn static_payload_type(codec: &Codec) -> Option<u8> {
    STATIC_AUDIO
        .iter()
        .find(|&&(_, name, clock, channels)| {
            name_from_sdp(name) == codec.name
                && clock == codec.clock_rate
                && channels == codec.channels
        })
        .map(|(pt, ..)| *pt)
}

/// The model's name for an rtpmap encoding name (case-insensitive, RFC 4855 §3).
pub fn name_from_sdp(name: &str) -> CodecName {
    match name.to_ascii_uppercase().as_str() {
        "PCMU" => CodecName::Pcmu,
        "PCMA" => CodecName::Pcma,
        "G729" => CodecName::G729,
        "G722" => CodecName::G722,
        "G723" => CodecName::G7231,
        "OPUS" => CodecName::Opus,
        "L16" => CodecName::L16,
        "TELEPHONE-EVENT" => CodecName::TelephoneEvent,
        "CN" => CodecName::ComfortNoise,
        _ => CodecName::Other(name.to_owned()),
    }
}

/// The rtpmap encoding name of a codec (registered spelling).
pub fn name_to_sdp(name: &CodecName) -> &str {
    match name {
        CodecName::Pcmu => "PCMU",
        CodecName::Pcma => "PCMA",
        CodecName::G729 => "G729",
        CodecName::G722 => "G722",
        CodecName::G7231 => "G723",
        CodecName::Opus => "opus",
        CodecName::L16 => "L16",
        CodecName::TelephoneEvent => "telephone-event",
        CodecName::ComfortNoise => "CN",
        CodecName::Other(s) => s,
    }
}

/// True when two codecs are the same format: name, clock rate and channels (RFC 3264
/// §6.1 matches formats by encoding, not by payload type number).
pub fn same_format(a: &Codec, b: &Codec) -> bool {
    a.name == b.name && a.clock_rate == b.clock_rate && a.channels == b.channels
}

/// G.729 Annex B is off only when `annexb=no` is present (RFC 4856 §2.1.9).
pub fn g729_annexb(fmtp: Option<&str>) -> bool {
    !fmtp.is_some_and(|f| {
        f.split(';').any(|p| {
            let p = p.trim();
            p.eq_ignore_ascii_case("annexb=no")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The codecs we name, on their usual payload types.
    fn well_known() -> Vec<Codec> {
        let c = |name, clock_rate, channels, payload_type, fmtp: Option<&str>| Codec {
            name,
            clock_rate,
            channels,
            payload_type,
            fmtp: fmtp.map(str::to_owned),
        };
        vec![
            c(CodecName::Pcma, 8000, 1, 8, None),
            c(CodecName::Pcmu, 8000, 1, 0, None),
            c(CodecName::G729, 8000, 1, 18, Some("annexb=no")),
            c(CodecName::G722, 8000, 1, 9, None),
            c(CodecName::G7231, 8000, 1, 4, None),
            c(CodecName::Opus, 48000, 2, 111, Some("useinbandfec=1")),
            c(CodecName::L16, 16000, 1, 97, None),
            c(CodecName::L16, 8000, 1, 98, None),
            c(CodecName::TelephoneEvent, 8000, 1, 101, Some("0-16")),
            c(CodecName::ComfortNoise, 8000, 1, 13, None),
        ]
    }

    #[test]
    fn rfc3551_static_rows() {
        let row = |pt| {
            let c = static_codec(pt).unwrap();
            (c.name, c.clock_rate, c.channels)
        };
        assert_eq!(row(0), (CodecName::Pcmu, 8000, 1));
        assert_eq!(row(4), (CodecName::G7231, 8000, 1));
        assert_eq!(row(8), (CodecName::Pcma, 8000, 1));
        assert_eq!(row(9), (CodecName::G722, 8000, 1));
        assert_eq!(row(13), (CodecName::ComfortNoise, 8000, 1));
        assert_eq!(row(18), (CodecName::G729, 8000, 1));
        assert!(static_codec(1).is_none());
        assert!(static_codec(101).is_none());
    }

    #[test]
    fn static_pt_is_inverse_of_table() {
        for &(pt, ..) in STATIC_AUDIO {
            let c = static_codec(pt).unwrap();
            // DVI4 and L16 have several rows; the inverse finds the first with equal clock.
            assert_eq!(static_payload_type(&c), Some(pt), "PT {pt}");
        }
        let opus = well_known()
            .into_iter()
            .find(|c| c.name == CodecName::Opus)
            .unwrap();
        assert_eq!(static_payload_type(&opus), None);
    }

    #[test]
    fn names_case_insensitive() {
        assert_eq!(name_from_sdp("pcmu"), CodecName::Pcmu);
        assert_eq!(name_from_sdp("OPUS"), CodecName::Opus);
        assert_eq!(name_from_sdp("Telephone-Event"), CodecName::TelephoneEvent);
        assert_eq!(name_from_sdp("iLBC"), CodecName::Other("iLBC".into()));
        for c in well_known() {
            assert_eq!(name_from_sdp(name_to_sdp(&c.name)), c.name);
        }
    }

    #[test]
    fn annexb() {
        assert!(g729_annexb(None));
        assert!(g729_annexb(Some("annexb=yes")));
        assert!(!g729_annexb(Some("annexb=no")));
        assert!(!g729_annexb(Some("bitrate=8; annexb=no")));
    }
}
