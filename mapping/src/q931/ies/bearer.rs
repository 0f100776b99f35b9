//! Bearer capability, Q.931 §4.5.5 (Figure 4-11).

use crate::model::Bearer;
use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{CodingStandard, IeCodec, Octets, content_of};

crate::wire_enum! {
    /// Information transfer capability, octet 3 bits 5-1.
    pub struct TransferCapability(u8) {
        /// Speech.
        SPEECH = 0x00 => "speech",
        /// Unrestricted digital information.
        UNRESTRICTED_DIGITAL = 0x08 => "unrestricted-digital",
        /// Restricted digital information.
        RESTRICTED_DIGITAL = 0x09 => "restricted-digital",
        /// 3.1 kHz audio.
        AUDIO_3K1 = 0x10 => "3.1khz-audio",
        /// Unrestricted digital information with tones/announcements.
        UNRESTRICTED_DIGITAL_WITH_TONES = 0x11 => "unrestricted-digital-with-tones",
        /// Video.
        VIDEO = 0x18 => "video",
    }
}

crate::wire_enum! {
    /// Transfer mode, octet 4 bits 7-6.
    pub struct TransferMode(u8) {
        /// Circuit mode.
        CIRCUIT = 0 => "circuit",
        /// Packet mode.
        PACKET = 2 => "packet",
    }
}

crate::wire_enum! {
    /// Information transfer rate, octet 4 bits 5-1.
    pub struct TransferRate(u8) {
        /// Packet mode (rate not applicable).
        PACKET_MODE = 0x00 => "packet-mode",
        /// 64 kbit/s.
        KBIT_64 = 0x10 => "64kbit/s",
        /// 2 x 64 kbit/s.
        KBIT_128 = 0x11 => "2x64kbit/s",
        /// 384 kbit/s.
        KBIT_384 = 0x13 => "384kbit/s",
        /// 1536 kbit/s.
        KBIT_1536 = 0x15 => "1536kbit/s",
        /// 1920 kbit/s.
        KBIT_1920 = 0x17 => "1920kbit/s",
        /// Multirate (64 kbit/s base rate); octet 4.1 gives the multiplier.
        MULTIRATE = 0x18 => "multirate",
    }
}

crate::wire_enum! {
    /// User information layer 1 protocol, octet 5 bits 5-1.
    pub struct Layer1Protocol(u8) {
        /// ITU-T V.110 / X.30 rate adaption.
        V110 = 0x01 => "v110",
        /// G.711 u-law.
        G711_ULAW = 0x02 => "g711-ulaw",
        /// G.711 A-law.
        G711_ALAW = 0x03 => "g711-alaw",
        /// G.721 32 kbit/s ADPCM.
        G721 = 0x04 => "g721",
        /// H.221 and H.242.
        H221 = 0x05 => "h221-h242",
        /// H.223 and H.245.
        H223 = 0x06 => "h223-h245",
        /// Non-ITU-T standardized rate adaption.
        NON_ITU = 0x07 => "non-itu-rate-adaption",
        /// ITU-T V.120.
        V120 = 0x08 => "v120",
        /// ITU-T X.31 HDLC flag stuffing.
        X31 = 0x09 => "x31",
    }
}

/// Bearer capability (§4.5.5): octets 3, 4, 4.1 and 5 typed; 5a-5d and layers 2/3 kept raw.
///
/// Invariants for an exact round trip: `multiplier` is `Some` exactly when `rate` is
/// [`TransferRate::MULTIRATE`]; `layer1_extra` is only written with a `layer1` and is an
/// extension group (bit 8 set on its last octet only); `higher_layers` starts with a
/// layer 2 or 3 identification octet (bits 7-6 = 10 or 11).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BearerCapability {
    /// Octet 3 bits 7-6.
    pub coding_standard: CodingStandard,
    /// Octet 3 bits 5-1.
    pub capability: TransferCapability,
    /// Octet 4 bits 7-6.
    pub transfer_mode: TransferMode,
    /// Octet 4 bits 5-1.
    pub rate: TransferRate,
    /// Octet 4.1 rate multiplier (multirate only).
    pub multiplier: Option<u8>,
    /// Octet 5 user information layer 1 protocol.
    pub layer1: Option<Layer1Protocol>,
    /// Octets 5a-5d, raw.
    pub layer1_extra: Vec<u8>,
    /// Octets 6 and 7 (layer 2 and 3), raw.
    pub higher_layers: Vec<u8>,
}

impl BearerCapability {
    /// Circuit-mode 64 kbit/s with the given capability and layer 1.
    pub fn circuit_64k(capability: TransferCapability, layer1: Option<Layer1Protocol>) -> Self {
        BearerCapability {
            coding_standard: CodingStandard::ITU_T,
            capability,
            transfer_mode: TransferMode::CIRCUIT,
            rate: TransferRate::KBIT_64,
            multiplier: None,
            layer1,
            layer1_extra: Vec::new(),
            higher_layers: Vec::new(),
        }
    }

    /// The bearer for a call-model bearer; `speech_law` is the G.711 law for speech/audio.
    pub fn from_model(bearer: Bearer, speech_law: Layer1Protocol) -> Self {
        match bearer {
            Bearer::Speech => Self::circuit_64k(TransferCapability::SPEECH, Some(speech_law)),
            Bearer::Audio3k1 => Self::circuit_64k(TransferCapability::AUDIO_3K1, Some(speech_law)),
            Bearer::UnrestrictedDigital => {
                Self::circuit_64k(TransferCapability::UNRESTRICTED_DIGITAL, None)
            }
            Bearer::Other(code) => Self::circuit_64k(TransferCapability(code & 0x1F), None),
        }
    }

    /// The call-model bearer.
    pub fn to_model(&self) -> Bearer {
        match self.capability {
            TransferCapability::SPEECH => Bearer::Speech,
            TransferCapability::AUDIO_3K1 => Bearer::Audio3k1,
            TransferCapability::UNRESTRICTED_DIGITAL => Bearer::UnrestrictedDigital,
            other => Bearer::Other(other.0),
        }
    }
}

impl IeCodec for BearerCapability {
    const ID: IeId = IeId::BEARER_CAPABILITY;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let mut o = Octets::new(Self::ID, content_of(ie, Self::ID)?);
        let o3 = o.next()?;
        if o3 & 0x80 == 0 {
            return Err(o.invalid("octet 3a not modelled"));
        }
        let o4 = o.next()?;
        if o4 & 0x80 == 0 {
            return Err(o.invalid("octets 4a/4b not modelled"));
        }
        let rate = TransferRate(o4 & 0x1F);
        let multiplier = if rate == TransferRate::MULTIRATE {
            let m = o.next()?;
            if m & 0x80 == 0 {
                return Err(o.invalid("octet 4.1 extension"));
            }
            Some(m & 0x7F)
        } else {
            None
        };
        let (layer1, layer1_extra) = match o.peek() {
            Some(b) if b & 0x60 == 0x20 => {
                let o5 = o.next()?;
                let extra = if o5 & 0x80 == 0 {
                    o.ext_group()?.to_vec()
                } else {
                    Vec::new()
                };
                (Some(Layer1Protocol(o5 & 0x1F)), extra)
            }
            _ => (None, Vec::new()),
        };
        Ok(BearerCapability {
            coding_standard: CodingStandard((o3 >> 5) & 0x03),
            capability: TransferCapability(o3 & 0x1F),
            transfer_mode: TransferMode((o4 >> 5) & 0x03),
            rate,
            multiplier,
            layer1,
            layer1_extra,
            higher_layers: o.rest().to_vec(),
        })
    }

    fn encode(&self) -> InfoElement {
        let mut c = vec![
            0x80 | (self.coding_standard.0 & 0x03) << 5 | (self.capability.0 & 0x1F),
            0x80 | (self.transfer_mode.0 & 0x03) << 5 | (self.rate.0 & 0x1F),
        ];
        if self.rate == TransferRate::MULTIRATE {
            c.push(0x80 | self.multiplier.unwrap_or(0) & 0x7F);
        }
        if let Some(l1) = self.layer1 {
            let ext = if self.layer1_extra.is_empty() {
                0x80
            } else {
                0
            };
            c.push(ext | 0x20 | (l1.0 & 0x1F));
            c.extend_from_slice(&self.layer1_extra);
        }
        c.extend_from_slice(&self.higher_layers);
        InfoElement::variable(Self::ID.0, c)
    }
}
