//! E1/T1 trunk termination: span drivers, HDLC, Q.921 LAPD, PRI (Q.931), SS7 and MFC/R2.
//!
//! The protocol cores here are sans-IO state machines (see DESIGN.md); the span drivers
//! that move bytes live behind one trait. This crate depends on `mapping` for the
//! Q.931 codec and the neutral call model, and never on `gateway`.

pub use mapping;

pub mod capture;
pub mod hdlc;
pub mod pri;
pub mod pseudowire;
pub mod q921;
pub mod test_span;
