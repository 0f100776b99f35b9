//! The durable accounting spool's record format (the files are written by the shell:
//! each record is written to a temporary name, fsynced, renamed and the directory
//! fsynced before the request goes out; removed when a server acknowledges it).
//!
//! A record is `GWRADSPOOL1\n`, the event's Unix time (8 octets, big endian) and the
//! request's attributes as a RADIUS packet with code 4 (so the one codec reads it back).

use super::packet::{Attr, Code, Packet};

const MAGIC: &[u8] = b"GWRADSPOOL1\n";

/// One spooled accounting request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpoolRecord {
    /// The spool's own number (file name), increasing.
    pub key: u64,
    /// When the event happened (Unix seconds): Acct-Delay-Time counts from here.
    pub event_secs: u64,
    /// The attributes, without Acct-Delay-Time.
    pub attrs: Vec<Attr>,
}

impl SpoolRecord {
    /// The file's contents.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        out.extend_from_slice(&self.event_secs.to_be_bytes());
        out.extend_from_slice(
            &Packet {
                code: Code::ACCOUNTING_REQUEST,
                identifier: 0,
                authenticator: [0; 16],
                attrs: self.attrs.clone(),
            }
            .encode(),
        );
        out
    }

    /// Reads a file back; None when it is not a spool record.
    pub fn decode(key: u64, bytes: &[u8]) -> Option<SpoolRecord> {
        let rest = bytes.strip_prefix(MAGIC)?;
        let secs = <[u8; 8]>::try_from(rest.get(..8)?).ok()?;
        let p = Packet::decode(&rest[8..]).ok()?;
        (p.code == Code::ACCOUNTING_REQUEST).then(|| SpoolRecord {
            key,
            event_secs: u64::from_be_bytes(secs),
            attrs: p.attrs,
        })
    }

    /// The file name of a key.
    pub fn file_name(key: u64) -> String {
        format!("{key:016x}.acct")
    }

    /// The key of a file name, when it is a record's.
    pub fn key_of(name: &str) -> Option<u64> {
        let hex = name.strip_suffix(".acct")?;
        (hex.len() == 16)
            .then(|| u64::from_str_radix(hex, 16).ok())
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::dict::AttrType;

    #[test]
    fn records_round_trip_and_names_parse() {
        let r = SpoolRecord {
            key: 77,
            event_secs: 1_790_000_000,
            attrs: vec![Attr::text(AttrType::ACCT_SESSION_ID, "x")],
        };
        assert_eq!(SpoolRecord::decode(77, &r.encode()), Some(r));
        assert_eq!(SpoolRecord::key_of(&SpoolRecord::file_name(77)), Some(77));
        assert_eq!(SpoolRecord::key_of("0000000000000001.tmp"), None);
        assert_eq!(SpoolRecord::decode(1, b"GWRADSPOOL1\n123"), None);
    }
}
