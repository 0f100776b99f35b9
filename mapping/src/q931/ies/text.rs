//! Text elements: Display (§4.5.16) and Keypad facility (§4.5.18), IA5 characters.

use crate::pii::Redacted;
use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{IeCodec, content_of};

/// Display (§4.5.16). Q.931 says IA5; real peers send Latin-1 or UTF-8 names too, so the
/// octets are kept as they are and [`Display::text`] decodes them leniently.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Display {
    /// The display octets.
    pub octets: Vec<u8>,
}

impl Display {
    /// A display holding `text` (UTF-8 octets).
    pub fn new(text: &str) -> Self {
        Display {
            octets: text.as_bytes().to_vec(),
        }
    }

    /// The text: UTF-8 when valid, otherwise each octet as a Latin-1 character.
    pub fn text(&self) -> String {
        match core::str::from_utf8(&self.octets) {
            Ok(s) => s.to_owned(),
            Err(_) => self.octets.iter().map(|&b| char::from(b)).collect(),
        }
    }
}

impl core::fmt::Debug for Display {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // A caller's name is personal data (DESIGN.md practice 12).
        write!(f, "Display({:?})", Redacted(&self.text()))
    }
}

impl IeCodec for Display {
    const ID: IeId = IeId::DISPLAY;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        Ok(Display {
            octets: content_of(ie, Self::ID)?.to_vec(),
        })
    }

    fn encode(&self) -> InfoElement {
        InfoElement::variable(Self::ID.0, self.octets.clone())
    }
}

/// Keypad facility (§4.5.18): IA5 characters (bit 8 = 0), typically DTMF digits.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct KeypadFacility {
    /// The characters (ASCII).
    pub chars: String,
}

impl KeypadFacility {
    /// Keypad characters; non-ASCII characters are dropped (IA5 only).
    pub fn new(chars: &str) -> Self {
        KeypadFacility {
            chars: chars.chars().filter(char::is_ascii).collect(),
        }
    }
}

impl core::fmt::Debug for KeypadFacility {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Keypad digits may be PINs or numbers (DESIGN.md practice 12).
        write!(f, "KeypadFacility({:?})", Redacted(&self.chars))
    }
}

impl IeCodec for KeypadFacility {
    const ID: IeId = IeId::KEYPAD_FACILITY;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let c = content_of(ie, Self::ID)?;
        if !c.is_ascii() {
            return Err(IeError::invalid(Self::ID, "keypad character not IA5"));
        }
        Ok(KeypadFacility {
            chars: c.iter().map(|&b| char::from(b)).collect(),
        })
    }

    fn encode(&self) -> InfoElement {
        InfoElement::variable(
            Self::ID.0,
            self.chars.bytes().filter(u8::is_ascii).collect(),
        )
    }
}
