//! RFC 4028 session timers for one dialog: what Session-Expires and Min-SE say, who
//! refreshes, and when the refresh or the expiry is due. Pure data and time; the call
//! leg sends the refreshes and the BYE.
//!
//! ```text
//!  2xx to INVITE/UPDATE (sent or received)          refresher = us
//!   --start(now)--> refresh due at now + SE/2 ---------------------> re-INVITE / UPDATE
//!                   expiry due at now + SE - min(32 s, SE/3) ------> BYE (§10)
//!   each later 2xx to a refresh starts it again
//! ```
//!
//! The `refresher` parameter names a role of the *transaction* it is carried in (`uac`
//! is whoever sent that request), so this module stores it as [`Refresher::Local`] or
//! [`Refresher::Remote`] and writes it back relative to the message at hand.

use crate::sip::message::{Request, Response};
use std::time::{Duration, Instant};

/// The option tag (RFC 4028 §3).
pub const OPTION_TAG: &str = "timer";

/// The floor of any Min-SE (RFC 4028 §4: "MUST NOT be less than 90 seconds").
pub const MIN_SE: u32 = 90;

/// The interval RFC 4028 §4 recommends, 1800 s.
pub const DEFAULT_SE: u32 = 1800;

/// Our session-timer settings (`sip.session_timer` in the YAML).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// The interval we ask for and pick when the peer asks for none.
    pub interval: u32,
    /// Our smallest acceptable interval (what we put in Min-SE and answer in a 422).
    pub min_se: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            interval: DEFAULT_SE,
            min_se: MIN_SE,
        }
    }
}

impl Policy {
    /// The policy a configuration asks for (validated: `min_se` >= 90, `interval` >=
    /// `min_se`; clamped here too so a policy never breaks §4).
    pub fn from_config(cfg: &crate::config::Config) -> Policy {
        let st = &cfg.sip.session_timer;
        let min_se = st.min_se_seconds.max(MIN_SE);
        Policy {
            interval: st.interval_seconds.max(min_se),
            min_se,
        }
    }
}

/// Who sends the refreshes of a dialog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresher {
    /// We do.
    Local,
    /// The peer does; we only watch for them.
    Remote,
}

/// What the timer says is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    /// Send a refresh now (we are the refresher, half the interval passed).
    Refresh,
    /// No refresh came in time: end the session with a BYE (§10).
    Expired,
}

/// The session timer of one dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionTimer {
    /// Session interval in seconds.
    pub interval: u32,
    /// The Min-SE of the dialog (ours, raised by the peer's Min-SE or a 422).
    pub min_se: u32,
    /// Who refreshes.
    pub refresher: Refresher,
    /// The peer said `Supported: timer` (or required it): it may be the refresher and
    /// a `Require: timer` may be sent to it.
    pub peer_supports: bool,
    refresh_at: Option<Instant>,
    expire_at: Option<Instant>,
}

/// When a session with `interval` seconds is declared dead by the side that does not
/// refresh (RFC 4028 §10: "the minimum of 32 seconds and one third of the session
/// interval" before it ends).
pub fn expiry_after(interval: u32) -> Duration {
    let interval = Duration::from_secs(u64::from(interval));
    interval - Duration::from_secs(32).min(interval / 3)
}

fn peer_supports(h: &crate::sip::message::Headers) -> bool {
    h.has_option_tag("Supported", OPTION_TAG) || h.has_option_tag("Require", OPTION_TAG)
}

/// RFC 4028 §8.1 / §9: the Min-SE to answer in a 422 when the request's
/// Session-Expires is below our minimum (the larger of ours and the request's
/// Min-SE); `None` when the request is acceptable (or has no Session-Expires).
pub fn too_small(req: &Request, policy: Policy) -> Option<u32> {
    let se = req.headers.session_expires().ok().flatten()?;
    let theirs = req.headers.min_se().ok().flatten().unwrap_or(0);
    let floor = policy.min_se.max(theirs);
    (se.delta < policy.min_se).then_some(floor)
}

impl SessionTimer {
    /// The UAS side (§9) of an INVITE, re-INVITE or UPDATE: the interval asked for (or
    /// ours, or the one running), and the refresher: as the request says when it says,
    /// else the UAC when it supports timers (keeping the running choice on a refresh),
    /// else us. Check [`too_small`] first.
    pub fn negotiate_uas(
        req: &Request,
        current: Option<&SessionTimer>,
        policy: Policy,
    ) -> SessionTimer {
        let h = &req.headers;
        let supports = peer_supports(h);
        let theirs_min = h.min_se().ok().flatten().unwrap_or(0);
        let min_se = policy
            .min_se
            .max(theirs_min)
            .max(current.map_or(0, |c| c.min_se));
        let se = h.session_expires().ok().flatten();
        let interval = match &se {
            Some(se) => se.delta.max(policy.min_se),
            None => current.map_or(policy.interval, |c| c.interval).max(min_se),
        };
        let asked = se.as_ref().and_then(|s| s.refresher.as_deref());
        let refresher = if !supports {
            // §9: a UAC without the extension cannot refresh.
            Refresher::Local
        } else {
            match asked {
                Some(r) if r.eq_ignore_ascii_case("uac") => Refresher::Remote,
                Some(r) if r.eq_ignore_ascii_case("uas") => Refresher::Local,
                _ => current.map_or(Refresher::Remote, |c| c.refresher),
            }
        };
        SessionTimer {
            interval,
            min_se,
            refresher,
            peer_supports: supports,
            refresh_at: None,
            expire_at: None,
        }
    }

    /// The UAC side (§7.2): a 2xx to our INVITE or UPDATE. No Session-Expires in it
    /// means no session timer. `min_se` is the Min-SE our request carried.
    pub fn from_2xx(resp: &Response, min_se: u32) -> Option<SessionTimer> {
        let se = resp.headers.session_expires().ok().flatten()?;
        let refresher = match se.refresher.as_deref() {
            Some(r) if r.eq_ignore_ascii_case("uas") => Refresher::Remote,
            // `uac`, or missing (the UAS MUST set it; refreshing ourselves is safe).
            _ => Refresher::Local,
        };
        Some(SessionTimer {
            interval: se.delta.max(1),
            min_se,
            refresher,
            peer_supports: peer_supports(&resp.headers) || refresher == Refresher::Remote,
            refresh_at: None,
            expire_at: None,
        })
    }

    /// A 2xx for the session went out or came in: (re)start both deadlines.
    pub fn start(&mut self, now: Instant) {
        let interval = Duration::from_secs(u64::from(self.interval));
        self.refresh_at = (self.refresher == Refresher::Local).then(|| now + interval / 2);
        self.expire_at = Some(now + expiry_after(self.interval));
    }

    /// Disarms the timer.
    pub fn stop(&mut self) {
        self.refresh_at = None;
        self.expire_at = None;
    }

    /// True while a deadline is armed.
    pub fn is_running(&self) -> bool {
        self.refresh_at.is_some() || self.expire_at.is_some()
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [self.refresh_at, self.expire_at]
            .into_iter()
            .flatten()
            .min()
    }

    /// What is due at `now`, if anything (each deadline fires once).
    pub fn handle_timeout(&mut self, now: Instant) -> Option<Due> {
        if self.expire_at.is_some_and(|t| t <= now) {
            self.stop();
            return Some(Due::Expired);
        }
        if self.refresh_at.is_some_and(|t| t <= now) {
            self.refresh_at = None;
            return Some(Due::Refresh);
        }
        None
    }

    /// The Session-Expires value for a message of a transaction where we are the UAC
    /// (our request) or the UAS (our response): `1800;refresher=uas`.
    pub fn header_value(&self, we_are_uac: bool) -> String {
        let uac_refreshes = (self.refresher == Refresher::Local) == we_are_uac;
        let who = if uac_refreshes { "uac" } else { "uas" };
        format!("{};refresher={who}", self.interval)
    }

    /// §9: a 2xx naming the UAC (the peer) as refresher carries `Require: timer`.
    pub fn response_requires_timer(&self) -> bool {
        self.refresher == Refresher::Remote && self.peer_supports
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::message::SipMessage;

    const P: Policy = Policy {
        interval: DEFAULT_SE,
        min_se: MIN_SE,
    };

    fn req(extra: &str) -> Request {
        let text = format!(
            "INVITE sip:1@gw SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKx\r\n\
             From: <sip:a@b>;tag=1\r\nTo: <sip:1@gw>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n\
             {extra}Content-Length: 0\r\n\r\n"
        );
        match SipMessage::parse(text.as_bytes()).expect("test request parses") {
            SipMessage::Request(r) => r,
            SipMessage::Response(_) => unreachable!("a request"),
        }
    }

    #[test]
    fn expiry_is_a_third_or_32_seconds_early() {
        assert_eq!(expiry_after(90), Duration::from_secs(60));
        assert_eq!(expiry_after(1800), Duration::from_secs(1768));
    }

    #[test]
    fn uas_negotiation() {
        assert_eq!(too_small(&req("Session-Expires: 60\r\n"), P), Some(90));
        assert_eq!(
            too_small(&req("Session-Expires: 60\r\nMin-SE: 120\r\n"), P),
            Some(120)
        );
        assert_eq!(too_small(&req("Session-Expires: 90\r\n"), P), None);
        let t = SessionTimer::negotiate_uas(
            &req("Supported: timer\r\nSession-Expires: 300\r\n"),
            None,
            P,
        );
        assert_eq!((t.interval, t.refresher), (300, Refresher::Remote));
        assert_eq!(t.header_value(false), "300;refresher=uac");
        assert!(t.response_requires_timer());
        let t = SessionTimer::negotiate_uas(
            &req("Supported: timer\r\nSession-Expires: 300;refresher=uas\r\n"),
            None,
            P,
        );
        assert_eq!(t.refresher, Refresher::Local);
        assert_eq!(t.header_value(false), "300;refresher=uas");
        assert_eq!(t.header_value(true), "300;refresher=uac");
        // No support: we refresh whatever the request says.
        let t =
            SessionTimer::negotiate_uas(&req("Session-Expires: 300;refresher=uac\r\n"), None, P);
        assert_eq!(t.refresher, Refresher::Local);
        assert!(!t.response_requires_timer());
        let t = SessionTimer::negotiate_uas(&req(""), None, P);
        assert_eq!((t.interval, t.refresher), (DEFAULT_SE, Refresher::Local));
    }

    #[test]
    fn deadlines() {
        let now = Instant::now();
        let mut t = SessionTimer::negotiate_uas(&req("Session-Expires: 120\r\n"), None, P);
        t.start(now);
        assert_eq!(t.poll_timeout(), Some(now + Duration::from_secs(60)));
        assert_eq!(t.handle_timeout(now + Duration::from_secs(59)), None);
        assert_eq!(
            t.handle_timeout(now + Duration::from_secs(60)),
            Some(Due::Refresh)
        );
        assert_eq!(t.poll_timeout(), Some(now + Duration::from_secs(88)));
        assert_eq!(
            t.handle_timeout(now + Duration::from_secs(88)),
            Some(Due::Expired)
        );
        assert!(!t.is_running());
    }

    #[test]
    fn configured_policy() {
        let p = Policy {
            interval: 600,
            min_se: 300,
        };
        assert_eq!(too_small(&req("Session-Expires: 200\r\n"), p), Some(300));
        assert_eq!(too_small(&req("Session-Expires: 300\r\n"), p), None);
        let t = SessionTimer::negotiate_uas(&req(""), None, p);
        assert_eq!((t.interval, t.min_se), (600, 300));
    }
}
