//! Date/time, Q.931 §4.5.15 (Figure 4-20): binary year (2 digits), month, day, then
//! optional hour, minute, second.

use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{IeCodec, Octets, content_of};

/// Date/time element. A minute is only written with an hour, a second only with a minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateTime {
    /// Year within the century (octet 3).
    pub year: u8,
    /// Month (octet 4).
    pub month: u8,
    /// Day (octet 5).
    pub day: u8,
    /// Hour (octet 6).
    pub hour: Option<u8>,
    /// Minute (octet 7).
    pub minute: Option<u8>,
    /// Second (octet 8).
    pub second: Option<u8>,
}

impl IeCodec for DateTime {
    const ID: IeId = IeId::DATE_TIME;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let mut o = Octets::new(Self::ID, content_of(ie, Self::ID)?);
        let year = o.next()?;
        let month = o.next()?;
        let day = o.next()?;
        let hour = o.next_opt();
        let minute = o.next_opt();
        let second = o.next_opt();
        o.end()?;
        Ok(DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        })
    }

    fn encode(&self) -> InfoElement {
        let mut c = vec![self.year, self.month, self.day];
        if let Some(h) = self.hour {
            c.push(h);
            if let Some(m) = self.minute {
                c.push(m);
                if let Some(s) = self.second {
                    c.push(s);
                }
            }
        }
        InfoElement::variable(Self::ID.0, c)
    }
}
