//! ITU-T Q.921 LAPD: the frame codec ([`frame`]) and the data link entity for
//! point-to-point PRI ([`link`]).

pub mod frame;
pub mod link;

pub use frame::{Control, Frame, FrameError, Role, SFunction, Sapi, UFunction};
pub use link::{
    Config, DataLink, Event, MdlError, Output, Request, RxError, Side, State, Stats, Timer, TxError,
};
