//! RFC 3262 reliable provisional responses (`100rel`, PRACK) for one INVITE.
//!
//! - [`ReliableUas`]: numbers our reliable 1xx (RSeq), retransmits the unacknowledged
//!   one from T1 doubling to T2 and gives up after 64*T1 (§3, the pacing of the 2xx
//!   retransmission of RFC 3261 §13.3.1.4, so [`Retransmit2xx`] runs it), matches PRACKs
//!   by RAck, and holds further reliable 1xx until the outstanding one is PRACKed.
//! - [`ReliableUac`]: decides which reliable 1xx we PRACK: the first of each early
//!   dialog, then only the next in sequence (§4); retransmissions and responses out of
//!   order are dropped unprocessed.
//!
//! Pure data and time; the call leg sends what these say.
//!
//! Choices where §3 leaves room:
//! - only one reliable provisional is unacknowledged at a time (§3 demands it for the
//!   first one and for ones with a session description; we do it for all, which keeps
//!   the early offer/answer simple);
//! - a 2xx waits for the outstanding PRACK only when that provisional carried a session
//!   description (the §3 MUST); otherwise it goes out at once, the retransmissions stop
//!   and a late PRACK is still answered 200; queued provisionals are dropped by a final.

use crate::sip::message::{Method, RAck, Response};
use crate::sip::transaction::{Reliability, Retransmit2xx, TimerConfig, TxOutput};
use std::collections::VecDeque;
use std::time::Instant;

/// The option tag (RFC 3262 §3).
pub const OPTION_TAG: &str = "100rel";

/// A first RSeq from a random number: uniform in 1..2^31-1 (§3).
pub fn first_rseq(random: u64) -> u32 {
    (random % 0x7FFF_FFFF) as u32 + 1
}

/// What the UAS side asks the leg to do.
#[derive(Debug, Clone, PartialEq)]
pub enum UasOutput {
    /// Send this provisional (again) on the INVITE's server transaction.
    Transmit(Response),
    /// 64*T1 passed without a PRACK: reject the INVITE with a 5xx (§3).
    GaveUp,
}

#[derive(Debug)]
struct Outstanding {
    rseq: u32,
    with_sdp: bool,
    /// None once a final response went out (no more retransmissions, §3).
    retransmit: Option<Retransmit2xx<Response>>,
}

/// The UAS side of RFC 3262 for one INVITE.
#[derive(Debug)]
pub struct ReliableUas {
    next_rseq: u32,
    invite_cseq: u32,
    reliability: Reliability,
    timers: TimerConfig,
    outstanding: Option<Outstanding>,
    queue: VecDeque<Response>,
    final_sent: bool,
    out: VecDeque<UasOutput>,
}

impl ReliableUas {
    /// For the INVITE with CSeq number `invite_cseq`; `first_rseq` from [`first_rseq`].
    pub fn new(
        first_rseq: u32,
        invite_cseq: u32,
        reliability: Reliability,
        timers: TimerConfig,
    ) -> ReliableUas {
        ReliableUas {
            next_rseq: first_rseq,
            invite_cseq,
            reliability,
            timers,
            outstanding: None,
            queue: VecDeque::new(),
            final_sent: false,
            out: VecDeque::new(),
        }
    }

    /// A provisional to send reliably. Returns it stamped with `Require: 100rel` and
    /// its RSeq when it may go out now; `None` when it waits for the outstanding PRACK
    /// (it then comes out of [`ReliableUas::prack`]'s caller via [`ReliableUas::next`]).
    pub fn send(&mut self, now: Instant, resp: Response) -> Option<Response> {
        if self.final_sent {
            return None;
        }
        if self.outstanding.is_some() {
            self.queue.push_back(resp);
            return None;
        }
        Some(self.transmit(now, resp))
    }

    fn transmit(&mut self, now: Instant, mut resp: Response) -> Response {
        let rseq = self.next_rseq;
        self.next_rseq = self.next_rseq.wrapping_add(1).max(1);
        resp.headers.push("Require", OPTION_TAG);
        resp.headers.push("RSeq", &rseq.to_string());
        let retransmit = Retransmit2xx::new(now, resp.clone(), self.reliability, self.timers);
        self.outstanding = Some(Outstanding {
            rseq,
            with_sdp: !resp.body.is_empty(),
            retransmit: Some(retransmit),
        });
        resp
    }

    /// A PRACK's RAck: true when it acknowledges the outstanding provisional (answer
    /// 200), false when it matches none (answer 481, §3).
    pub fn prack(&mut self, rack: &RAck) -> bool {
        let matches = self.outstanding.as_ref().is_some_and(|o| {
            o.rseq == rack.rseq && rack.cseq == self.invite_cseq && rack.method == Method::Invite
        });
        if matches {
            self.outstanding = None;
        }
        matches
    }

    /// The next queued provisional, now that none is outstanding.
    pub fn next(&mut self, now: Instant) -> Option<Response> {
        if self.outstanding.is_some() || self.final_sent {
            return None;
        }
        let resp = self.queue.pop_front()?;
        Some(self.transmit(now, resp))
    }

    /// True while a provisional with a session description is unacknowledged: a 2xx
    /// must wait (§3).
    pub fn holds_2xx(&self) -> bool {
        self.outstanding.as_ref().is_some_and(|o| o.with_sdp)
    }

    /// A final response went out: stop retransmitting, drop what is queued; a PRACK
    /// for the outstanding provisional is still answered.
    pub fn final_sent(&mut self) {
        self.final_sent = true;
        self.queue.clear();
        if let Some(o) = self.outstanding.as_mut() {
            o.retransmit = None;
        }
    }

    /// The next retransmission or the give-up deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.outstanding
            .as_ref()
            .and_then(|o| o.retransmit.as_ref())
            .and_then(Retransmit2xx::poll_timeout)
    }

    /// Fires what is due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(rt) = self
            .outstanding
            .as_mut()
            .and_then(|o| o.retransmit.as_mut())
        else {
            return;
        };
        rt.handle_timeout(now);
        let mut gave_up = false;
        while let Some(o) = rt.poll_output() {
            match o {
                TxOutput::Transmit(r) => self.out.push_back(UasOutput::Transmit(r)),
                TxOutput::Timeout(_) => gave_up = true,
                _ => {}
            }
        }
        if gave_up {
            self.outstanding = None;
            self.queue.clear();
            self.out.push_back(UasOutput::GaveUp);
        }
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<UasOutput> {
        self.out.pop_front()
    }
}

/// What to do with a provisional response on the UAC side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UacVerdict {
    /// Not a reliable provisional: process it as usual, no PRACK.
    Unreliable,
    /// The next reliable provisional of its early dialog: process it and PRACK it.
    Prack(RAck),
    /// A retransmission or out of order (§4): neither PRACK nor process it.
    Discard,
}

/// The UAC side of RFC 3262: the last in-order RSeq per early dialog (To tag).
#[derive(Debug, Default)]
pub struct ReliableUac {
    last: Vec<(String, u32)>,
}

impl ReliableUac {
    /// A provisional response to our INVITE with CSeq number `invite_cseq`.
    pub fn receive(&mut self, resp: &Response, invite_cseq: u32) -> UacVerdict {
        if !resp.headers.has_option_tag("Require", OPTION_TAG) {
            return UacVerdict::Unreliable;
        }
        let Ok(Some(rseq)) = resp.headers.rseq() else {
            return UacVerdict::Unreliable;
        };
        let Some(tag) = resp
            .headers
            .to()
            .ok()
            .flatten()
            .and_then(|t| t.tag().map(str::to_owned))
        else {
            return UacVerdict::Unreliable;
        };
        let rack = RAck {
            rseq,
            cseq: invite_cseq,
            method: Method::Invite,
        };
        match self.last.iter_mut().find(|(t, _)| *t == tag) {
            None => {
                self.last.push((tag, rseq));
                UacVerdict::Prack(rack)
            }
            Some((_, last)) if rseq == last.wrapping_add(1) => {
                *last = rseq;
                UacVerdict::Prack(rack)
            }
            Some(_) => UacVerdict::Discard,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn ringing() -> Response {
        Response::new(180, "")
            .with_header("To", "<sip:1@gw>;tag=t")
            .with_header("CSeq", "7 INVITE")
    }

    #[test]
    fn first_rseq_is_in_range() {
        assert_eq!(first_rseq(0), 1);
        assert_eq!(first_rseq(0x7FFF_FFFE), 0x7FFF_FFFF);
        assert!((1..=0x7FFF_FFFF).contains(&first_rseq(u64::MAX)));
    }

    #[test]
    fn uas_retransmits_queues_and_gives_up() {
        let now = Instant::now();
        let cfg = TimerConfig::default();
        let mut rel = ReliableUas::new(10, 7, Reliability::Unreliable, cfg);
        let sent = rel.send(now, ringing()).expect("first goes out");
        assert_eq!(sent.headers.get("RSeq"), Some("10"));
        assert!(sent.headers.has_option_tag("Require", "100rel"));
        assert!(rel.send(now, ringing()).is_none(), "second waits");
        assert_eq!(rel.poll_timeout(), Some(now + cfg.t1));
        rel.handle_timeout(now + cfg.t1);
        assert!(matches!(rel.poll_output(), Some(UasOutput::Transmit(_))));
        let wrong = RAck {
            rseq: 11,
            cseq: 7,
            method: Method::Invite,
        };
        assert!(!rel.prack(&wrong));
        let right = RAck { rseq: 10, ..wrong };
        assert!(rel.prack(&right));
        assert!(!rel.prack(&right), "only once");
        let next = rel.next(now).expect("the queued one");
        assert_eq!(next.headers.get("RSeq"), Some("11"));
        rel.handle_timeout(now + cfg.timeout() + Duration::from_secs(1));
        let outs: Vec<_> = std::iter::from_fn(|| rel.poll_output()).collect();
        assert_eq!(outs.last(), Some(&UasOutput::GaveUp));
    }

    #[test]
    fn uac_pracks_in_order_only() {
        let mut uac = ReliableUac::default();
        let r = |n: u32| {
            ringing()
                .with_header("Require", "100rel")
                .with_header("RSeq", &n.to_string())
        };
        assert!(matches!(
            uac.receive(&r(5), 7),
            UacVerdict::Prack(RAck {
                rseq: 5,
                cseq: 7,
                ..
            })
        ));
        assert_eq!(uac.receive(&r(5), 7), UacVerdict::Discard);
        assert_eq!(uac.receive(&r(7), 7), UacVerdict::Discard);
        assert!(matches!(uac.receive(&r(6), 7), UacVerdict::Prack(_)));
        assert_eq!(uac.receive(&ringing(), 7), UacVerdict::Unreliable);
    }
}
