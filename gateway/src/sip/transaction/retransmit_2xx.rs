//! The UAS core's 2xx retransmission (RFC 3261 §13.3.1.4): the INVITE server transaction
//! is gone once a 2xx is sent (Accepted, RFC 6026), so the UAS core itself resends the
//! 2xx, from T1 doubling up to T2, until the ACK arrives; with no ACK after 64*T1 the
//! dialog is confirmed and then ended with a BYE by the TU.

use super::{Reliability, Timer, TimerConfig, TimerTable, TxOutput};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// Retransmits one 2xx until its ACK. Timer G paces the retransmissions and Timer H
/// bounds the wait, as they do for non-2xx finals in the server transaction.
#[derive(Debug)]
pub struct Retransmit2xx<M> {
    response: M,
    cfg: TimerConfig,
    timers: TimerTable,
    interval: Duration,
    done: bool,
    out: VecDeque<TxOutput<M>>,
}

impl<M: Clone> Retransmit2xx<M> {
    /// Starts after the first 2xx has gone out through the server transaction. On a
    /// reliable transport the transport retransmits, so only the ACK wait runs.
    pub fn new(now: Instant, response: M, reliability: Reliability, cfg: TimerConfig) -> Self {
        let mut timers = TimerTable::default();
        if reliability == Reliability::Unreliable {
            timers.set(Timer::G, now, cfg.t1);
        }
        timers.set(Timer::H, now, cfg.timeout());
        Retransmit2xx {
            response,
            cfg,
            timers,
            interval: cfg.t1,
            done: false,
            out: VecDeque::new(),
        }
    }

    /// The ACK arrived: stop.
    pub fn handle_ack(&mut self, _now: Instant) {
        self.finish();
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(t) = self.timers.take_expired(now) {
            match t {
                Timer::G => {
                    self.out
                        .push_back(TxOutput::Transmit(self.response.clone()));
                    self.interval = (self.interval * 2).min(self.cfg.t2);
                    self.timers.set(Timer::G, now, self.interval);
                }
                Timer::H => {
                    self.out.push_back(TxOutput::Timeout(Timer::H));
                    self.finish();
                }
                _ => {}
            }
        }
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<TxOutput<M>> {
        self.out.pop_front()
    }

    /// True once the ACK came or the wait ended.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            self.timers.clear_all();
            self.out.push_back(TxOutput::Terminated);
        }
    }
}
