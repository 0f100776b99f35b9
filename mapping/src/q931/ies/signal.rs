//! Signal, Q.931 §4.5.28 (Figure 4-33, Table 4-27).

use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{IeCodec, Octets, content_of};

crate::wire_enum! {
    /// Signal value, octet 3.
    pub struct SignalValue(u8) {
        /// Dial tone on.
        DIAL_TONE = 0x00 => "dial-tone-on",
        /// Ring back tone on.
        RINGBACK_TONE = 0x01 => "ring-back-tone-on",
        /// Intercept tone on.
        INTERCEPT_TONE = 0x02 => "intercept-tone-on",
        /// Network congestion tone on.
        NETWORK_CONGESTION_TONE = 0x03 => "network-congestion-tone-on",
        /// Busy tone on.
        BUSY_TONE = 0x04 => "busy-tone-on",
        /// Confirm tone on.
        CONFIRM_TONE = 0x05 => "confirm-tone-on",
        /// Answer tone on.
        ANSWER_TONE = 0x06 => "answer-tone-on",
        /// Call waiting tone on.
        CALL_WAITING_TONE = 0x07 => "call-waiting-tone",
        /// Off-hook warning tone on.
        OFF_HOOK_WARNING_TONE = 0x08 => "off-hook-warning-tone",
        /// Pre-emption tone on.
        PREEMPTION_TONE = 0x09 => "preemption-tone-on",
        /// Tones off.
        TONES_OFF = 0x3F => "tones-off",
        /// Alerting on - pattern 0.
        ALERTING_PATTERN_0 = 0x40 => "alerting-on-pattern-0",
        /// Alerting on - pattern 1.
        ALERTING_PATTERN_1 = 0x41 => "alerting-on-pattern-1",
        /// Alerting on - pattern 2.
        ALERTING_PATTERN_2 = 0x42 => "alerting-on-pattern-2",
        /// Alerting on - pattern 3.
        ALERTING_PATTERN_3 = 0x43 => "alerting-on-pattern-3",
        /// Alerting on - pattern 4.
        ALERTING_PATTERN_4 = 0x44 => "alerting-on-pattern-4",
        /// Alerting on - pattern 5.
        ALERTING_PATTERN_5 = 0x45 => "alerting-on-pattern-5",
        /// Alerting on - pattern 6.
        ALERTING_PATTERN_6 = 0x46 => "alerting-on-pattern-6",
        /// Alerting on - pattern 7.
        ALERTING_PATTERN_7 = 0x47 => "alerting-on-pattern-7",
        /// Alerting off.
        ALERTING_OFF = 0x4F => "alerting-off",
    }
}

/// Signal element: one signal value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signal(pub SignalValue);

impl IeCodec for Signal {
    const ID: IeId = IeId::SIGNAL;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let mut o = Octets::new(Self::ID, content_of(ie, Self::ID)?);
        let v = o.next()?;
        o.end()?;
        Ok(Signal(SignalValue(v)))
    }

    fn encode(&self) -> InfoElement {
        InfoElement::variable(Self::ID.0, vec![self.0.0])
    }
}
