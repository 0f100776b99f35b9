//! ASN.1 types of H.225.0 and H.245, written by this project from the ITU-T
//! recommendations, encoded and decoded as aligned PER (`rasn::aper`).
//!
//! Kept in a crate of its own under `gateway/` so the derive-heavy code compiles once
//! and apart from the gateway's own code.

pub mod h225;
pub mod h245;
