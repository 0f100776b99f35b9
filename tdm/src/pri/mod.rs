//! ISDN PRI call control (ITU-T Q.931 §5) over Q.921: [`Pri`] is layer 3 for one
//! interface, network or user side; [`PriStack`] puts it on a [`crate::q921::DataLink`];
//! [`Variant`] holds what EuroISDN, NI-2 and QSIG change.

mod interface;
mod stack;
mod variant;

pub use interface::{
    CallId, CallState, ChannelState, Config, Pri, PriError, PriEvent, PriOutput, RxError, Timer,
};
pub use stack::{PriStack, StackOutput};
pub use variant::{ChannelPreference, Timers, Variant};

#[cfg(test)]
mod tests;
