//! The call vocabulary and the translation tables of the trunk gateway.
//!
//! Pure: no I/O, no clocks, no tokio. Everything here is data and functions over data,
//! tested row by row against the standards. See DESIGN.md "The pivot: one neutral call
//! model".
//!
//! - [`model`]: the neutral call model every leg translates into and out of;
//! - [`number`], [`cause`], [`progress`]: the wire vocabulary the model is built from;
//! - [`pii`]: redaction of numbers in logs.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod wire_enum;

pub mod cause;
pub mod model;
pub mod number;
pub mod pii;
pub mod progress;
pub mod q931;
pub mod sip;
