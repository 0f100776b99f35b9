//! `cdr:` call detail records.

use serde::Deserialize;
use std::path::PathBuf;

/// `cdr:` where and how call detail records are written. The whole section is optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cdr {
    /// Directory for CDR files; created if missing. Default `/var/lib/gateway/cdr`.
    #[serde(default = "default_directory")]
    pub directory: PathBuf,
    /// File formats written side by side, at least one: `csv`, `jsonl`. Default `[csv]`.
    #[serde(default = "default_formats")]
    pub formats: Vec<CdrFormat>,
    /// When records are flushed to disk: `always` (fsync after every record, survives a
    /// crash or power loss), `interval` (every `fsync_interval_seconds`), `never` (leave it
    /// to the kernel). Default `always`.
    #[serde(default)]
    pub fsync: FsyncPolicy,
    /// Seconds between flushes with `fsync: interval` (only then). Default 1.
    #[serde(default)]
    pub fsync_interval_seconds: Option<u64>,
    /// When the current file is closed and a new one started. Default: at 100 MiB or
    /// after a day, whichever comes first.
    #[serde(default)]
    pub rotation: Rotation,
}

impl Default for Cdr {
    fn default() -> Self {
        Cdr {
            directory: default_directory(),
            formats: default_formats(),
            fsync: FsyncPolicy::default(),
            fsync_interval_seconds: None,
            rotation: Rotation::default(),
        }
    }
}

fn default_directory() -> PathBuf {
    PathBuf::from("/var/lib/gateway/cdr")
}
fn default_formats() -> Vec<CdrFormat> {
    vec![CdrFormat::Csv]
}

/// A CDR file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CdrFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// When CDR files are flushed to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FsyncPolicy {
    /// After every record.
    #[default]
    Always,
    /// Every `fsync_interval_seconds`.
    Interval,
    /// Never explicitly.
    Never,
}

/// `cdr.rotation:` file rotation; a file is closed when either limit is reached.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rotation {
    /// Close the file when it reaches this size in MiB; `null`: no size limit.
    /// Default 100.
    #[serde(default = "default_size")]
    pub max_size_mib: Option<u64>,
    /// Close the file after this many seconds; `null`: no time limit. Default 86400.
    #[serde(default = "default_interval")]
    pub interval_seconds: Option<u64>,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_size_mib: default_size(),
            interval_seconds: default_interval(),
        }
    }
}

fn default_size() -> Option<u64> {
    Some(100)
}
fn default_interval() -> Option<u64> {
    Some(86_400)
}
