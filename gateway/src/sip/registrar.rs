//! The location service of the registrar (RFC 3261 §10.3): bindings of an address of
//! record to contact URIs, with expiry, q-values and the Call-ID/CSeq ordering rules.
//!
//! Pure and sans-IO: the caller passes `now`, the parsed Contact entries and the
//! transport the REGISTER came on (`via`), and turns the outcome into the response.
//! Authentication happens before this (see `digest`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Registrar limits (RFC 3261 §10.3 step 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegistrarPolicy {
    /// Expiry when neither the Contact nor an Expires header gives one.
    pub default_expires: u32,
    /// Shortest accepted non-zero expiry (423 Interval Too Brief below it).
    pub min_expires: u32,
    /// Longest granted expiry (longer requests are shortened).
    pub max_expires: u32,
    /// Most contacts kept per address of record.
    pub max_contacts: usize,
}

impl Default for RegistrarPolicy {
    fn default() -> Self {
        RegistrarPolicy {
            default_expires: 3600,
            min_expires: 60,
            max_expires: 7200,
            max_contacts: 10,
        }
    }
}

/// One Contact of a REGISTER, as the message module parsed it.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactEntry {
    /// The contact URI as written (without `<>`).
    pub uri: String,
    /// Its `expires` parameter, if any.
    pub expires: Option<u32>,
    /// Its `q` parameter (0.0-1.0), if any.
    pub q: Option<f32>,
}

/// What a REGISTER asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum RegisterRequest {
    /// No Contact: a query for the current bindings (§10.2.3).
    Query,
    /// `Contact: *` (must come with `Expires: 0`, §10.2.2).
    RemoveAll,
    /// Add, refresh or remove these contacts.
    Contacts(Vec<ContactEntry>),
}

/// A binding as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// The contact URI as registered.
    pub uri: String,
    /// Preference (higher first).
    pub q: f32,
    /// When it expires.
    pub expires_at: Instant,
    /// Call-ID of the REGISTER that made it.
    pub call_id: String,
    /// CSeq of that REGISTER.
    pub cseq: u32,
    /// Where the REGISTER came from (for routing toward a phone behind NAT or over its
    /// own TCP connection).
    pub source: Option<SocketAddr>,
}

impl Binding {
    /// Seconds left at `now` (for the `expires` parameter of the 200 OK).
    pub fn remaining(&self, now: Instant) -> u32 {
        u32::try_from(self.expires_at.saturating_duration_since(now).as_secs()).unwrap_or(u32::MAX)
    }
}

/// Why a REGISTER was refused, and the response it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RegisterError {
    /// 400: `*` with other contacts or a non-zero Expires (§10.3 step 6).
    BadWildcard,
    /// 423 Interval Too Brief, with the Min-Expires to send (§10.3 step 7).
    IntervalTooBrief {
        /// Value of the Min-Expires header.
        min_expires: u32,
    },
    /// 500: an older or repeated CSeq for the same Call-ID (§10.3 step 7: "the update
    /// MUST be aborted and the request fails").
    OutOfOrder,
    /// 403: more contacts than the policy allows.
    TooManyContacts,
}

impl RegisterError {
    /// The SIP status for this refusal.
    pub fn status(&self) -> u16 {
        match self {
            RegisterError::BadWildcard => 400,
            RegisterError::IntervalTooBrief { .. } => 423,
            RegisterError::OutOfOrder => 500,
            RegisterError::TooManyContacts => 403,
        }
    }
}

/// The bindings of every address of record.
#[derive(Debug, Default)]
pub struct LocationService {
    policy: RegistrarPolicy,
    bindings: HashMap<String, Vec<Binding>>,
}

/// URI comparison for bindings (RFC 3261 §19.1.4, simplified): scheme and host part
/// compare case-insensitively, the user part exactly.
fn same_uri(a: &str, b: &str) -> bool {
    fn split(u: &str) -> (String, &str, String) {
        let (scheme, rest) = u.split_once(':').unwrap_or(("", u));
        match rest.rsplit_once('@') {
            Some((user, host)) => (scheme.to_ascii_lowercase(), user, host.to_ascii_lowercase()),
            None => (scheme.to_ascii_lowercase(), "", rest.to_ascii_lowercase()),
        }
    }
    split(a) == split(b)
}

impl LocationService {
    /// An empty location service.
    pub fn new(policy: RegistrarPolicy) -> Self {
        LocationService {
            policy,
            bindings: HashMap::new(),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> RegistrarPolicy {
        self.policy
    }

    /// Applies a REGISTER for `aor` (the To URI's user@host, canonicalised by the caller);
    /// `expires_header` is the Expires header value. On success, the current bindings
    /// for the 200 OK (§10.3 step 8). Nothing changes on error.
    #[allow(clippy::too_many_arguments)]
    pub fn register(
        &mut self,
        now: Instant,
        aor: &str,
        request: &RegisterRequest,
        expires_header: Option<u32>,
        call_id: &str,
        cseq: u32,
        source: Option<SocketAddr>,
    ) -> Result<Vec<Binding>, RegisterError> {
        self.purge_aor(aor, now);
        let contacts = match request {
            RegisterRequest::Query => return Ok(self.lookup(aor, now)),
            RegisterRequest::RemoveAll => {
                if expires_header != Some(0) {
                    return Err(RegisterError::BadWildcard);
                }
                let current = self.bindings.get(aor).map(Vec::as_slice).unwrap_or(&[]);
                // §10.3 step 6: same Call-ID with a CSeq not higher aborts the removal.
                if current
                    .iter()
                    .any(|b| b.call_id == call_id && cseq <= b.cseq)
                {
                    return Err(RegisterError::OutOfOrder);
                }
                self.bindings.remove(aor);
                return Ok(Vec::new());
            }
            RegisterRequest::Contacts(c) => c,
        };
        let mut next = self.bindings.get(aor).cloned().unwrap_or_default();
        for c in contacts {
            let asked = c
                .expires
                .or(expires_header)
                .unwrap_or(self.policy.default_expires);
            if asked != 0 && asked < self.policy.min_expires {
                return Err(RegisterError::IntervalTooBrief {
                    min_expires: self.policy.min_expires,
                });
            }
            let granted = asked.min(self.policy.max_expires);
            match next.iter().position(|b| same_uri(&b.uri, &c.uri)) {
                Some(i) => {
                    let b = &next[i];
                    if b.call_id == call_id && cseq <= b.cseq {
                        return Err(RegisterError::OutOfOrder);
                    }
                    if granted == 0 {
                        next.remove(i);
                    } else {
                        next[i] = binding(c, granted, now, call_id, cseq, source);
                    }
                }
                None if granted == 0 => {}
                None => next.push(binding(c, granted, now, call_id, cseq, source)),
            }
        }
        if next.len() > self.policy.max_contacts {
            return Err(RegisterError::TooManyContacts);
        }
        if next.is_empty() {
            self.bindings.remove(aor);
        } else {
            self.bindings.insert(aor.to_owned(), next);
        }
        Ok(self.lookup(aor, now))
    }

    /// The live bindings of `aor`, highest q first (ties: most recent registration first).
    pub fn lookup(&self, aor: &str, now: Instant) -> Vec<Binding> {
        let mut v: Vec<Binding> = self
            .bindings
            .get(aor)
            .map(|b| b.iter().filter(|b| b.expires_at > now).cloned().collect())
            .unwrap_or_default();
        v.sort_by(|a, b| {
            b.q.total_cmp(&a.q)
                .then_with(|| b.expires_at.cmp(&a.expires_at))
        });
        v
    }

    /// Number of addresses of record with at least one binding (for metrics).
    pub fn registered(&self) -> usize {
        self.bindings.len()
    }

    /// The next expiry, for the owner's timer.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.bindings.values().flatten().map(|b| b.expires_at).min()
    }

    /// Drops every expired binding.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.bindings.retain(|_, v| {
            v.retain(|b| b.expires_at > now);
            !v.is_empty()
        });
    }

    fn purge_aor(&mut self, aor: &str, now: Instant) {
        if let Some(v) = self.bindings.get_mut(aor) {
            v.retain(|b| b.expires_at > now);
            if v.is_empty() {
                self.bindings.remove(aor);
            }
        }
    }
}

fn binding(
    c: &ContactEntry,
    granted: u32,
    now: Instant,
    call_id: &str,
    cseq: u32,
    source: Option<SocketAddr>,
) -> Binding {
    Binding {
        uri: c.uri.clone(),
        q: c.q.unwrap_or(1.0).clamp(0.0, 1.0),
        expires_at: now + Duration::from_secs(u64::from(granted)),
        call_id: call_id.to_owned(),
        cseq,
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(uri: &str, expires: Option<u32>, q: Option<f32>) -> ContactEntry {
        ContactEntry {
            uri: uri.to_owned(),
            expires,
            q,
        }
    }

    fn reg(c: Vec<ContactEntry>) -> RegisterRequest {
        RegisterRequest::Contacts(c)
    }

    #[test]
    fn register_refresh_expire() {
        let t0 = Instant::now();
        let mut ls = LocationService::new(RegistrarPolicy::default());
        let a = "3000@gw";
        let c = contact("sip:3000@127.0.0.1:5064", None, None);
        let b = ls
            .register(t0, a, &reg(vec![c.clone()]), Some(120), "cid", 1, None)
            .expect("first registration");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].remaining(t0), 120);
        // Refresh with a higher CSeq, scheme in other case: same binding (§19.1.4).
        let b = ls
            .register(
                t0,
                a,
                &reg(vec![contact("SIP:3000@127.0.0.1:5064", Some(300), None)]),
                None,
                "cid",
                2,
                None,
            )
            .expect("refresh");
        assert_eq!((b.len(), b[0].remaining(t0)), (1, 300));
        assert_eq!(ls.poll_timeout(), Some(t0 + Duration::from_secs(300)));
        ls.handle_timeout(t0 + Duration::from_secs(301));
        assert!(ls.lookup(a, t0 + Duration::from_secs(301)).is_empty());
        assert_eq!(ls.registered(), 0);
    }

    #[test]
    fn expiry_limits() {
        let t0 = Instant::now();
        let mut ls = LocationService::new(RegistrarPolicy::default());
        let err = ls
            .register(
                t0,
                "a",
                &reg(vec![contact("sip:a@h", Some(30), None)]),
                None,
                "c",
                1,
                None,
            )
            .expect_err("too brief");
        assert_eq!(err, RegisterError::IntervalTooBrief { min_expires: 60 });
        assert_eq!(err.status(), 423);
        let b = ls
            .register(
                t0,
                "a",
                &reg(vec![contact("sip:a@h", None, None)]),
                Some(99_999),
                "c",
                1,
                None,
            )
            .expect("capped");
        assert_eq!(b[0].remaining(t0), 7200);
        let b = ls
            .register(
                t0,
                "a",
                &reg(vec![contact("sip:a@h", None, None)]),
                None,
                "c",
                2,
                None,
            )
            .expect("default");
        assert_eq!(b[0].remaining(t0), 3600);
    }

    #[test]
    fn several_contacts_ordered_by_q_and_removed_by_expires_zero() {
        let t0 = Instant::now();
        let mut ls = LocationService::new(RegistrarPolicy::default());
        let b = ls
            .register(
                t0,
                "a",
                &reg(vec![
                    contact("sip:a@desk", None, Some(0.5)),
                    contact("sip:a@mobile", None, Some(0.9)),
                ]),
                Some(600),
                "c",
                1,
                None,
            )
            .expect("two contacts");
        assert_eq!(
            b.iter().map(|b| b.uri.as_str()).collect::<Vec<_>>(),
            ["sip:a@mobile", "sip:a@desk"]
        );
        let b = ls
            .register(
                t0,
                "a",
                &reg(vec![contact("sip:a@mobile", Some(0), None)]),
                None,
                "c",
                2,
                None,
            )
            .expect("remove one");
        assert_eq!(b.len(), 1);
        assert_eq!(b[0].uri, "sip:a@desk");
    }

    #[test]
    fn cseq_ordering_and_wildcard() {
        let t0 = Instant::now();
        let mut ls = LocationService::new(RegistrarPolicy::default());
        let r = reg(vec![contact("sip:a@h", None, None)]);
        ls.register(t0, "a", &r, Some(600), "c", 5, None)
            .expect("first");
        assert_eq!(
            ls.register(t0, "a", &r, Some(600), "c", 5, None),
            Err(RegisterError::OutOfOrder)
        );
        // A different Call-ID (a rebooted phone) may use any CSeq.
        ls.register(t0, "a", &r, Some(600), "other", 1, None)
            .expect("new call-id");
        assert_eq!(
            ls.register(
                t0,
                "a",
                &RegisterRequest::RemoveAll,
                Some(600),
                "x",
                1,
                None
            ),
            Err(RegisterError::BadWildcard)
        );
        assert_eq!(
            ls.register(
                t0,
                "a",
                &RegisterRequest::RemoveAll,
                Some(0),
                "other",
                1,
                None
            ),
            Err(RegisterError::OutOfOrder)
        );
        let b = ls
            .register(
                t0,
                "a",
                &RegisterRequest::RemoveAll,
                Some(0),
                "other",
                2,
                None,
            )
            .expect("remove all");
        assert!(b.is_empty());
        assert_eq!(
            ls.register(t0, "a", &RegisterRequest::Query, None, "q", 1, None),
            Ok(vec![])
        );
    }

    #[test]
    fn contact_limit() {
        let t0 = Instant::now();
        let mut ls = LocationService::new(RegistrarPolicy {
            max_contacts: 2,
            ..Default::default()
        });
        let many = (0..3)
            .map(|i| contact(&format!("sip:a@h{i}"), None, None))
            .collect();
        assert_eq!(
            ls.register(t0, "a", &reg(many), Some(600), "c", 1, None),
            Err(RegisterError::TooManyContacts)
        );
        assert_eq!(ls.registered(), 0, "nothing changes on error");
    }
}
