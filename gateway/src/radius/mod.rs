//! RADIUS: authentication before routing (RFC 2865) and accounting (RFC 2866) with a
//! durable spool.
//!
//! - [`dict`]: the attributes the gateway uses, one table (Cisco VoIP VSAs included);
//! - [`packet`]: the wire codec, authenticators, password hiding, Message-Authenticator;
//! - [`attrs`]: what a call's Access-Request and Accounting-Requests say;
//! - [`spool`]: the spool record format;
//! - [`client`]: the sans-IO client (retransmission, failover, sessions, spool);
//! - [`shell`]: its tokio task (socket, spool files, metrics).

pub mod attrs;
pub mod client;
pub mod dict;
pub mod packet;
pub mod shell;
pub mod spool;
