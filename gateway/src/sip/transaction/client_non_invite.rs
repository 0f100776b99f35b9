//! Non-INVITE client transaction, RFC 3261 §17.1.2 (Figure 6).

use super::{Reliability, Timer, TimerConfig, TimerTable, TransactionMessage, TxOutput, class};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// States of Figure 6.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Request sent, nothing heard.
    Trying,
    /// A provisional response arrived.
    Proceeding,
    /// A final response arrived; absorbing retransmissions until Timer K.
    Completed,
    /// Done.
    Terminated,
}

/// A non-INVITE client transaction.
#[derive(Debug)]
pub struct ClientNonInvite<M> {
    state: State,
    request: M,
    reliability: Reliability,
    cfg: TimerConfig,
    timers: TimerTable,
    timer_e: Duration,
    out: VecDeque<TxOutput<M>>,
}

impl<M: TransactionMessage> ClientNonInvite<M> {
    /// Starts the transaction: the request goes out at once (§17.1.2.2).
    pub fn new(now: Instant, request: M, reliability: Reliability, cfg: TimerConfig) -> Self {
        let mut timers = TimerTable::default();
        if !reliability.is_reliable() {
            timers.set(Timer::E, now, cfg.t1);
        }
        timers.set(Timer::F, now, cfg.timeout());
        ClientNonInvite {
            state: State::Trying,
            out: VecDeque::from([TxOutput::Transmit(request.clone())]),
            request,
            reliability,
            cfg,
            timers,
            timer_e: cfg.t1,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// A response matched to this transaction.
    pub fn handle_response(&mut self, now: Instant, status: u16, response: M) {
        match (self.state, class(status)) {
            (State::Trying | State::Proceeding, 1) => {
                self.state = State::Proceeding;
                self.out.push_back(TxOutput::Response(response));
            }
            (State::Trying | State::Proceeding, 2..=6) => {
                self.state = State::Completed;
                self.out.push_back(TxOutput::Response(response));
                self.timers.clear_all();
                let k = match self.reliability {
                    Reliability::Reliable => Duration::ZERO,
                    Reliability::Unreliable => self.cfg.t4,
                };
                self.timers.set(Timer::K, now, k);
            }
            _ => {}
        }
    }

    /// The transport failed to send the request (§17.1.4).
    pub fn handle_transport_error(&mut self, _now: Instant) {
        if matches!(self.state, State::Trying | State::Proceeding) {
            self.out.push_back(TxOutput::TransportError);
            self.terminate();
        }
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.next()
    }

    /// Fires every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(t) = self.timers.take_expired(now) {
            match (t, self.state) {
                (Timer::E, State::Trying) => {
                    self.out.push_back(TxOutput::Transmit(self.request.clone()));
                    self.timer_e = (self.timer_e * 2).min(self.cfg.t2);
                    self.timers.set(Timer::E, now, self.timer_e);
                }
                // §17.1.2.2: in Proceeding the interval is T2.
                (Timer::E, State::Proceeding) => {
                    self.out.push_back(TxOutput::Transmit(self.request.clone()));
                    self.timers.set(Timer::E, now, self.cfg.t2);
                }
                (Timer::F, State::Trying | State::Proceeding) => {
                    self.out.push_back(TxOutput::Timeout(Timer::F));
                    self.terminate();
                }
                (Timer::K, State::Completed) => self.terminate(),
                _ => {}
            }
        }
    }

    /// The next thing to do.
    pub fn poll_output(&mut self) -> Option<TxOutput<M>> {
        self.out.pop_front()
    }

    /// True once terminated.
    pub fn is_terminated(&self) -> bool {
        self.state == State::Terminated
    }

    fn terminate(&mut self) {
        self.state = State::Terminated;
        self.timers.clear_all();
        self.out.push_back(TxOutput::Terminated);
    }
}
