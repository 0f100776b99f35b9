//! The trunk gateway appliance: the tokio shell around the sans-IO protocol cores,
//! configuration, metrics and the `gatewayd` binary.

#![forbid(unsafe_code)]

pub mod config;
