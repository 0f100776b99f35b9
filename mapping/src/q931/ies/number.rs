//! Party numbers: Called party number (§4.5.8), Calling party number (§4.5.10),
//! Connected number (Q.951 §3), Redirecting number (Q.952 §4.2; octet 3b reason).
//!
//! Octet 3: type of number (bits 7-5), numbering plan (bits 4-1). Octet 3a (when bit 8 of
//! octet 3 is 0): presentation (bits 7-6), screening (bits 2-1). Octet 3b (Redirecting
//! only, when bit 8 of octet 3a is 0): reason for redirection (bits 4-1). Then IA5 digits.
//!
//! Octet 3a is written when presentation or screening is set; an unset half is written
//! as 0 (allowed / user-provided not screened) and so reads back as `Some`.

use crate::model::RedirectionReason;
use crate::number::{Digits, NumberingPlan, PartyNumber, Presentation, Screening, TypeOfNumber};
use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{IeCodec, Octets, content_of};

/// Octets 3 to 3b as read.
struct Head {
    ton: TypeOfNumber,
    npi: NumberingPlan,
    presentation: Option<Presentation>,
    screening: Option<Screening>,
    reason: Option<u8>,
}

/// Reads octets 3, 3a (if `max_ext` >= 1) and 3b (if `max_ext` >= 2), then the digits.
fn decode_number(ie: &InfoElement, id: IeId, max_ext: u8) -> Result<(Head, Digits), IeError> {
    let mut o = Octets::new(id, content_of(ie, id)?);
    let o3 = o.next()?;
    let mut head = Head {
        ton: TypeOfNumber((o3 >> 4) & 0x07),
        npi: NumberingPlan(o3 & 0x0F),
        presentation: None,
        screening: None,
        reason: None,
    };
    if o3 & 0x80 == 0 {
        if max_ext < 1 {
            return Err(o.invalid("octet 3a not allowed"));
        }
        let o3a = o.next()?;
        head.presentation = Some(Presentation((o3a >> 5) & 0x03));
        head.screening = Some(Screening(o3a & 0x03));
        if o3a & 0x80 == 0 {
            if max_ext < 2 {
                return Err(o.invalid("octet 3b not allowed"));
            }
            let o3b = o.next()?;
            if o3b & 0x80 == 0 {
                return Err(o.invalid("octet 3b extension"));
            }
            head.reason = Some(o3b & 0x0F);
        }
    }
    let digits = o.rest();
    let text = core::str::from_utf8(digits).map_err(|_| IeError::invalid(id, "digits not IA5"))?;
    let digits = Digits::new(text).map_err(|_| IeError::invalid(id, "number digit"))?;
    Ok((head, digits))
}

/// Writes octet 3, 3a (when presentation/screening/reason is set, and `max_ext` >= 1),
/// 3b (when a reason is set and `max_ext` >= 2) and the digits.
fn encode_number(id: IeId, n: &PartyNumber, reason: Option<u8>, max_ext: u8) -> InfoElement {
    let with_3b = max_ext >= 2 && reason.is_some();
    let with_3a = max_ext >= 1 && (n.presentation.is_some() || n.screening.is_some() || with_3b);
    let o3 = (n.ton.0 & 0x07) << 4 | (n.npi.0 & 0x0F);
    let mut c = vec![if with_3a { o3 } else { 0x80 | o3 }];
    if with_3a {
        let p = n.presentation.map_or(0, |p| p.0 & 0x03);
        let s = n.screening.map_or(0, |s| s.0 & 0x03);
        c.push(if with_3b { 0 } else { 0x80 } | p << 5 | s);
    }
    if let Some(r) = reason.filter(|_| with_3b) {
        c.push(0x80 | (r & 0x0F));
    }
    c.extend_from_slice(n.digits.as_str().as_bytes());
    InfoElement::variable(id.0, c)
}

fn party(head: &Head, digits: Digits) -> PartyNumber {
    PartyNumber {
        digits,
        ton: head.ton,
        npi: head.npi,
        presentation: head.presentation,
        screening: head.screening,
    }
}

/// Called party number (§4.5.8): no octet 3a; presentation and screening are not sent.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CalledPartyNumber(pub PartyNumber);

impl IeCodec for CalledPartyNumber {
    const ID: IeId = IeId::CALLED_PARTY_NUMBER;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let (head, digits) = decode_number(ie, Self::ID, 0)?;
        Ok(CalledPartyNumber(party(&head, digits)))
    }

    fn encode(&self) -> InfoElement {
        encode_number(Self::ID, &self.0, None, 0)
    }
}

/// Calling party number (§4.5.10), with presentation and screening in octet 3a.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CallingPartyNumber(pub PartyNumber);

impl IeCodec for CallingPartyNumber {
    const ID: IeId = IeId::CALLING_PARTY_NUMBER;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let (head, digits) = decode_number(ie, Self::ID, 1)?;
        Ok(CallingPartyNumber(party(&head, digits)))
    }

    fn encode(&self) -> InfoElement {
        encode_number(Self::ID, &self.0, None, 1)
    }
}

/// Connected number (Q.951 §3), coded as the Calling party number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ConnectedNumber(pub PartyNumber);

impl IeCodec for ConnectedNumber {
    const ID: IeId = IeId::CONNECTED_NUMBER;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let (head, digits) = decode_number(ie, Self::ID, 1)?;
        Ok(ConnectedNumber(party(&head, digits)))
    }

    fn encode(&self) -> InfoElement {
        encode_number(Self::ID, &self.0, None, 1)
    }
}

/// Redirecting number (Q.952 §4.2): a party number plus the reason for redirection.
///
/// A reason is only written with octet 3a, so a reason with presentation and screening
/// unset reads back with both as `Some(0)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RedirectingNumber {
    /// The number the call was redirected from.
    pub number: PartyNumber,
    /// Octet 3b reason for redirection.
    pub reason: Option<RedirectionReason>,
}

impl IeCodec for RedirectingNumber {
    const ID: IeId = IeId::REDIRECTING_NUMBER;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let (head, digits) = decode_number(ie, Self::ID, 2)?;
        let reason = head.reason.map(RedirectionReason);
        Ok(RedirectingNumber {
            number: party(&head, digits),
            reason,
        })
    }

    fn encode(&self) -> InfoElement {
        encode_number(Self::ID, &self.number, self.reason.map(|r| r.0), 2)
    }
}
