//! Sets of timeslots, channels or circuit numbers written as ranges: `"1-15,17-31"`.

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};
use std::fmt;

/// An ordered set of small numbers (timeslots, B-channels), written `"1-15,17-31"` or as a
/// single number. Each number appears once; ranges go upwards.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct ChannelSet(Vec<u16>);

impl ChannelSet {
    /// Parses `"1-15,17-31"`.
    pub fn parse(text: &str) -> Result<ChannelSet, String> {
        let mut out: Vec<u16> = Vec::new();
        for part in text.split(',').map(str::trim) {
            let (lo, hi) = part.split_once('-').unwrap_or((part, part));
            let num = |s: &str| {
                s.trim()
                    .parse::<u16>()
                    .map_err(|_| format!("`{part}` in `{text}` is not a number or a range a-b"))
            };
            let (lo, hi) = (num(lo)?, num(hi)?);
            if lo > hi {
                return Err(format!("range `{part}` goes downwards"));
            }
            for n in lo..=hi {
                if out.contains(&n) {
                    return Err(format!("{n} is given twice in `{text}`"));
                }
                out.push(n);
            }
        }
        out.sort_unstable();
        Ok(ChannelSet(out))
    }

    /// A set holding `numbers`.
    pub fn from_numbers(numbers: impl IntoIterator<Item = u16>) -> ChannelSet {
        let mut v: Vec<u16> = numbers.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        ChannelSet(v)
    }

    /// The numbers, ascending.
    pub fn numbers(&self) -> &[u16] {
        &self.0
    }

    /// Whether `n` is in the set.
    pub fn contains(&self, n: u16) -> bool {
        self.0.binary_search(&n).is_ok()
    }

    /// How many numbers are in the set.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for ChannelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        let mut first = true;
        while i < self.0.len() {
            let start = self.0[i];
            let mut end = start;
            while i + 1 < self.0.len() && self.0[i + 1] == end + 1 {
                i += 1;
                end += 1;
            }
            if !first {
                f.write_str(",")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
            i += 1;
        }
        Ok(())
    }
}

impl fmt::Debug for ChannelSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChannelSet({self})")
    }
}

struct SetVisitor;

impl Visitor<'_> for SetVisitor {
    type Value = ChannelSet;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a number or ranges such as \"1-15,17-31\"")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ChannelSet, E> {
        ChannelSet::parse(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ChannelSet, E> {
        u16::try_from(v)
            .map(|n| ChannelSet(vec![n]))
            .map_err(|_| E::custom(format!("{v} is too large")))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ChannelSet, E> {
        Err(E::custom(format!("{v} is negative")))
    }
}

impl<'de> Deserialize<'de> for ChannelSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ChannelSet, D::Error> {
        d.deserialize_any(SetVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_displays_ranges() {
        let s = ChannelSet::parse("17-31, 1-15").unwrap();
        assert_eq!(s.len(), 30);
        assert!(!s.contains(16));
        assert_eq!(s.to_string(), "1-15,17-31");
        assert_eq!(ChannelSet::parse("5").unwrap().numbers(), &[5]);
        for bad in ["", "3-1", "1-5,5", "a", "1-"] {
            assert!(ChannelSet::parse(bad).is_err(), "{bad}");
        }
    }
}
