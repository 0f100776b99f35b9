//! RADIUS: authentication before routing (RFC 2865) and accounting (RFC 2866) with a
//! durable spool.
//!
//! - [`dict`]: the attributes the gateway uses, one table;
//! - [`packet`]: the wire codec, authenticators, password hiding, Message-Authenticator.

pub mod attrs;
pub mod client;
pub mod dict;
pub mod packet;
pub mod shell;
pub mod spool;
