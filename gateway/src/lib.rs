//! The trunk gateway appliance: the tokio shell around the sans-IO protocol cores,
//! configuration, metrics and the `gatewayd` binary.

#![forbid(unsafe_code)]

pub mod admission;
pub mod capture;
pub mod cdr;
pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod h323;
pub mod http;
pub mod listeners;
pub mod logging;
pub mod media;
pub mod metrics;
pub mod pri_calls;
pub mod radius;
pub mod replay;
pub mod resolver;
pub mod sip;
pub mod switch;
pub mod tls;
