//! Typed views of the information elements the gateway reads or writes (Q.931 §4.5).

mod bearer;
mod call_state;
mod cause;
mod channel_id;
mod date_time;
mod facility;
mod notification;
mod number;
mod opaque;
mod progress;
mod restart;
mod signal;
mod single;
mod text;
mod user_user;

pub use bearer::{
    BearerCapability, Layer1Protocol, TransferCapability, TransferMode, TransferRate,
};
pub use call_state::{CallState, CallStateValue};
pub use cause::CauseIe;
pub use channel_id::{ChannelId, ChannelSpec, ChannelType};
pub use date_time::DateTime;
pub use facility::Facility;
pub use notification::{NotificationDescription, NotificationIndicator};
pub use number::{CalledPartyNumber, CallingPartyNumber, ConnectedNumber, RedirectingNumber};
pub use opaque::{HighLayerCompatibility, LowLayerCompatibility};
pub use progress::ProgressIndicator;
pub use restart::{RestartClass, RestartIndicator};
pub use signal::{Signal, SignalValue};
pub use single::{CongestionLevel, MoreData, RepeatIndicator, SendingComplete, Shift};
pub use text::{Display, KeypadFacility};
pub use user_user::UserUser;
