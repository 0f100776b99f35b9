//! Notification indicator, Q.931 §4.5.22 (Figure 4-27, Table 4-19), with the Q.932/ETSI
//! descriptions H.450 and PRI hold use.

use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{IeCodec, Octets, content_of};

crate::wire_enum! {
    /// Notification description, octet 3 bits 7-1.
    pub struct NotificationDescription(u8) {
        /// User suspended.
        USER_SUSPENDED = 0x00 => "user-suspended",
        /// User resumed.
        USER_RESUMED = 0x01 => "user-resumed",
        /// Bearer service change.
        BEARER_SERVICE_CHANGE = 0x02 => "bearer-service-change",
        /// Remote hold (Q.932 / ETSI EN 300 196).
        REMOTE_HOLD = 0x79 => "remote-hold",
        /// Remote retrieval (Q.932 / ETSI EN 300 196).
        REMOTE_RETRIEVAL = 0x7A => "remote-retrieval",
        /// Call is diverting (Q.932 / ETSI EN 300 196).
        CALL_IS_DIVERTING = 0x7B => "call-is-diverting",
    }
}

/// Notification indicator element: description plus any further octets (raw).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NotificationIndicator {
    /// Octet 3 description.
    pub description: NotificationDescription,
    /// Octets after octet 3 (extended descriptions), raw.
    pub extra: Vec<u8>,
}

impl NotificationIndicator {
    /// A notification without further octets.
    pub fn new(description: NotificationDescription) -> Self {
        NotificationIndicator {
            description,
            extra: Vec::new(),
        }
    }
}

impl IeCodec for NotificationIndicator {
    const ID: IeId = IeId::NOTIFICATION_INDICATOR;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let mut o = Octets::new(Self::ID, content_of(ie, Self::ID)?);
        let o3 = o.next()?;
        if o3 & 0x80 == 0 {
            return Err(o.invalid("octet 3 extension"));
        }
        Ok(NotificationIndicator {
            description: NotificationDescription(o3 & 0x7F),
            extra: o.rest().to_vec(),
        })
    }

    fn encode(&self) -> InfoElement {
        let mut c = vec![0x80 | (self.description.0 & 0x7F)];
        c.extend_from_slice(&self.extra);
        InfoElement::variable(Self::ID.0, c)
    }
}
