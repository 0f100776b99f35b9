//! Header storage (RFC 3261 §7.3): every header in order, with the name as written and the
//! value (unfolded, trimmed) as received, so unknown headers pass through untouched.
//!
//! All names and values live in one string buffer; an entry is two ranges into it, so
//! parsing a message costs two allocations however many headers it has.

use core::fmt;
use core::ops::Range;

use super::syntax::{is_token, split_outside};

/// Compact forms (RFC 3261 §7.3.3 and the IANA SIP header registry) and their long names.
pub const COMPACT_FORMS: &[(u8, &str)] = &[
    (b'a', "Accept-Contact"),
    (b'b', "Referred-By"),
    (b'c', "Content-Type"),
    (b'd', "Request-Disposition"),
    (b'e', "Content-Encoding"),
    (b'f', "From"),
    (b'i', "Call-ID"),
    (b'j', "Reject-Contact"),
    (b'k', "Supported"),
    (b'l', "Content-Length"),
    (b'm', "Contact"),
    (b'n', "Identity-Info"),
    (b'o', "Event"),
    (b'r', "Refer-To"),
    (b's', "Subject"),
    (b't', "To"),
    (b'u', "Allow-Events"),
    (b'v', "Via"),
    (b'x', "Session-Expires"),
    (b'y', "Identity"),
];

/// The long name of a header name: a compact form becomes its long name, any other name
/// is returned as it is.
pub fn canonical_name(name: &str) -> &str {
    if let [c] = name.as_bytes() {
        let c = c.to_ascii_lowercase();
        if let Some((_, long)) = COMPACT_FORMS.iter().find(|(k, _)| *k == c) {
            return long;
        }
    }
    name
}

/// True when two header names denote the same header: case-insensitive, compact forms
/// equal to their long names (RFC 3261 §7.3.1, §7.3.3).
pub fn names_match(a: &str, b: &str) -> bool {
    canonical_name(a).eq_ignore_ascii_case(canonical_name(b))
}

#[derive(Clone)]
struct Entry {
    name: Range<usize>,
    value: Range<usize>,
}

/// The headers of one message, in order.
#[derive(Clone, Default)]
pub struct Headers {
    buf: String,
    entries: Vec<Entry>,
}

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Room for `bytes` of names and values and `count` headers.
    pub fn with_capacity(bytes: usize, count: usize) -> Headers {
        Headers {
            buf: String::with_capacity(bytes),
            entries: Vec::with_capacity(count),
        }
    }

    /// Number of header lines.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there is no header.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn entry(&self, e: &Entry) -> (&str, &str) {
        (&self.buf[e.name.clone()], &self.buf[e.value.clone()])
    }

    /// Every header as `(name as written, value)`, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.entries.iter().map(|e| self.entry(e))
    }

    /// The `(name, value)` at `index`.
    pub fn at(&self, index: usize) -> Option<(&str, &str)> {
        self.entries.get(index).map(|e| self.entry(e))
    }

    /// Index of the first header called `name` (compact forms and case folded).
    pub fn position(&self, name: &str) -> Option<usize> {
        self.iter().position(|(n, _)| names_match(n, name))
    }

    /// The value of the first header called `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter()
            .find(|(n, _)| names_match(n, name))
            .map(|(_, v)| v)
    }

    /// The values of every header called `name`, one per header line.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.iter()
            .filter(move |(n, _)| names_match(n, name))
            .map(|(_, v)| v)
    }

    /// Every comma-separated value of header `name` over all its lines, trimmed, commas
    /// inside quotes or `<...>` not splitting (RFC 3261 §7.3.1). Empty elements are kept,
    /// so a caller can reject them. Not for headers whose grammar has bare commas
    /// (Date, WWW-Authenticate and the other auth headers).
    pub fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get_all(name)
            .flat_map(|v| split_outside(v, b','))
            .map(str::trim)
    }

    /// Number of header lines called `name`.
    pub fn count(&self, name: &str) -> usize {
        self.iter().filter(|(n, _)| names_match(n, name)).count()
    }

    /// True when a header called `name` is present.
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_some()
    }

    fn store(&mut self, name: &str, value: &str) -> Entry {
        let start = self.buf.len();
        self.buf.push_str(name);
        let mid = self.buf.len();
        let value = value.trim();
        // Strict in what we send: a value can never end the header line.
        if value.contains(['\r', '\n']) {
            self.buf.extend(
                value
                    .chars()
                    .map(|c| if c == '\r' || c == '\n' { ' ' } else { c }),
            );
        } else {
            self.buf.push_str(value);
        }
        Entry {
            name: start..mid,
            value: mid..self.buf.len(),
        }
    }

    /// Appends a header. The name should be a token (it is written as given); CR and LF
    /// in the value become spaces.
    pub fn push(&mut self, name: &str, value: &str) {
        debug_assert!(is_token(name), "header name {name:?} is not a token");
        let e = self.store(name, value);
        self.entries.push(e);
    }

    /// Inserts a header at `index` (clamped to the end).
    pub fn insert(&mut self, index: usize, name: &str, value: &str) {
        debug_assert!(is_token(name), "header name {name:?} is not a token");
        let e = self.store(name, value);
        let index = index.min(self.entries.len());
        self.entries.insert(index, e);
    }

    /// Removes the header line at `index`, returning its value.
    pub fn remove_at(&mut self, index: usize) -> Option<String> {
        if index >= self.entries.len() {
            return None;
        }
        let e = self.entries.remove(index);
        Some(self.buf[e.value].to_string())
    }

    /// Removes every header called `name`; returns how many were removed.
    pub fn remove(&mut self, name: &str) -> usize {
        let before = self.entries.len();
        let buf = &self.buf;
        self.entries
            .retain(|e| !names_match(&buf[e.name.clone()], name));
        before - self.entries.len()
    }

    /// Replaces the value of the header line at `index`.
    pub fn set_at(&mut self, index: usize, value: &str) {
        if index < self.entries.len() {
            let name = self.entries[index].name.clone();
            let e = self.store_value(name, value);
            self.entries[index] = e;
        }
    }

    fn store_value(&mut self, name: Range<usize>, value: &str) -> Entry {
        // Copy the name range forward: store() needs it as a &str while pushing.
        let n = self.buf[name].to_string();
        self.store(&n, value)
    }

    /// Sets header `name` to the single `value`: the first line of that name keeps its
    /// place, other lines of the name go; appended when absent.
    pub fn replace(&mut self, name: &str, value: &str) {
        match self.position(name) {
            Some(i) => {
                self.set_at(i, value);
                let buf = &self.buf;
                let mut seen = 0usize;
                self.entries.retain(|e| {
                    if names_match(&buf[e.name.clone()], name) {
                        seen += 1;
                        seen == 1
                    } else {
                        true
                    }
                });
            }
            None => self.push(name, value),
        }
    }

    /// Drops unused bytes left behind by edits.
    pub fn compact(&mut self) {
        let mut fresh = Headers::with_capacity(self.buf.len(), self.entries.len());
        for (n, v) in self.iter() {
            let e = fresh.store(n, v);
            fresh.entries.push(e);
        }
        *self = fresh;
    }
}

impl PartialEq for Headers {
    /// Equal when the same names (as written) and values come in the same order.
    fn eq(&self, other: &Headers) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl Eq for Headers {}

impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// Builds [`Headers`] during parsing without going through the checks of `push`.
pub(crate) struct HeadersBuilder {
    h: Headers,
}

impl HeadersBuilder {
    pub(crate) fn new(bytes: usize, count: usize) -> HeadersBuilder {
        HeadersBuilder {
            h: Headers::with_capacity(bytes, count),
        }
    }

    /// Adds a header whose value comes in folded pieces, joined by one space each
    /// (RFC 3261 §7.3.1: LWS continuation is equivalent to a single SP).
    pub(crate) fn push_folded<'a>(&mut self, name: &str, pieces: impl Iterator<Item = &'a str>) {
        let start = self.h.buf.len();
        self.h.buf.push_str(name);
        let mid = self.h.buf.len();
        for p in pieces {
            let p = p.trim_matches([' ', '\t']);
            if p.is_empty() {
                continue;
            }
            if self.h.buf.len() > mid {
                self.h.buf.push(' ');
            }
            self.h.buf.push_str(p);
        }
        self.h.entries.push(Entry {
            name: start..mid,
            value: mid..self.h.buf.len(),
        });
    }

    pub(crate) fn len(&self) -> usize {
        self.h.entries.len()
    }

    pub(crate) fn finish(self) -> Headers {
        self.h
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_and_case() {
        assert_eq!(canonical_name("v"), "Via");
        assert_eq!(canonical_name("X"), "Session-Expires");
        assert_eq!(canonical_name("q"), "q");
        assert!(names_match("f", "FROM"));
        assert!(names_match("call-id", "I"));
        assert!(!names_match("To", "Tot"));
    }

    #[test]
    fn storage_and_edits() {
        let mut h = Headers::new();
        h.push("Via", "SIP/2.0/UDP a, SIP/2.0/UDP b");
        h.push("v", "SIP/2.0/TCP c");
        h.push("X-Unknown", " kept as is ");
        h.push("Route", "<sip:a;lr>, \"x,y\" <sip:b,c@d>");
        assert_eq!(h.count("via"), 2);
        assert_eq!(h.values("Via").collect::<Vec<_>>().len(), 3);
        assert_eq!(h.get("x-unknown"), Some("kept as is"));
        assert_eq!(
            h.values("route").collect::<Vec<_>>(),
            vec!["<sip:a;lr>", "\"x,y\" <sip:b,c@d>"]
        );
        h.insert(0, "Via", "SIP/2.0/UDP top");
        assert_eq!(h.get("via"), Some("SIP/2.0/UDP top"));
        h.replace("VIA", "SIP/2.0/UDP only");
        assert_eq!(
            h.get_all("via").collect::<Vec<_>>(),
            vec!["SIP/2.0/UDP only"]
        );
        assert_eq!(h.at(0), Some(("Via", "SIP/2.0/UDP only")));
        h.push("Subject", "a\r\nb");
        assert_eq!(h.get("s"), Some("a  b"));
        assert_eq!(h.remove("subject"), 1);
        assert_eq!(h.remove_at(0).as_deref(), Some("SIP/2.0/UDP only"));
        let before = h.clone();
        h.compact();
        assert_eq!(h, before);
        assert_eq!(format!("{h:?}").matches("Route").count(), 1);
    }
}
