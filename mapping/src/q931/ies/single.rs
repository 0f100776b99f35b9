//! Single-octet elements (Q.931 §4.5.1 Figure 4-7): Shift (§4.5.3/4.5.4), More data
//! (§4.5.20), Sending complete (§4.5.27), Congestion level (§4.5.14), Repeat indicator
//! (§4.5.24).

use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{IeCodec, single_of};

/// Shift: `1001 L ccc`; locking (L = 0) or non-locking (L = 1) to codeset `ccc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shift {
    /// True for a locking shift (§4.5.3).
    pub locking: bool,
    /// New codeset (0-7).
    pub codeset: u8,
}

impl IeCodec for Shift {
    const ID: IeId = IeId::SHIFT;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let o = single_of(ie, Self::ID)?;
        Ok(Shift {
            locking: o & 0x08 == 0,
            codeset: o & 0x07,
        })
    }

    fn encode(&self) -> InfoElement {
        let l = if self.locking { 0 } else { 0x08 };
        InfoElement::single(0x90 | l | (self.codeset & 0x07))
    }
}

/// Sending complete (`1010 0001`): the called number is complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SendingComplete;

impl IeCodec for SendingComplete {
    const ID: IeId = IeId::SENDING_COMPLETE;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        single_of(ie, Self::ID).map(|_| SendingComplete)
    }

    fn encode(&self) -> InfoElement {
        InfoElement::single(Self::ID.0)
    }
}

/// More data (`1010 0000`), in USER INFORMATION.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct MoreData;

impl IeCodec for MoreData {
    const ID: IeId = IeId::MORE_DATA;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        single_of(ie, Self::ID).map(|_| MoreData)
    }

    fn encode(&self) -> InfoElement {
        InfoElement::single(Self::ID.0)
    }
}

/// Congestion level (`1011 llll`): 0 = receiver ready, 15 = receiver not ready.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CongestionLevel(pub u8);

impl IeCodec for CongestionLevel {
    const ID: IeId = IeId::CONGESTION_LEVEL;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        single_of(ie, Self::ID).map(|o| CongestionLevel(o & 0x0F))
    }

    fn encode(&self) -> InfoElement {
        InfoElement::single(Self::ID.0 | (self.0 & 0x0F))
    }
}

/// Repeat indicator (`1101 iiii`): 2 = prioritized list for selecting one possibility.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RepeatIndicator(pub u8);

impl IeCodec for RepeatIndicator {
    const ID: IeId = IeId::REPEAT_INDICATOR;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        single_of(ie, Self::ID).map(|o| RepeatIndicator(o & 0x0F))
    }

    fn encode(&self) -> InfoElement {
        InfoElement::single(Self::ID.0 | (self.0 & 0x0F))
    }
}
