//! Non-INVITE server transaction, RFC 3261 §17.2.2 (Figure 8).

use super::{Reliability, Timer, TimerConfig, TimerTable, TransactionMessage, TxOutput, class};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// States of Figure 8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Request received, no response yet.
    Trying,
    /// A provisional response went out.
    Proceeding,
    /// A final response went out; answering retransmissions until Timer J.
    Completed,
    /// Done.
    Terminated,
}

/// A non-INVITE server transaction.
#[derive(Debug)]
pub struct ServerNonInvite<M> {
    state: State,
    last_response: Option<M>,
    reliability: Reliability,
    cfg: TimerConfig,
    timers: TimerTable,
    out: VecDeque<TxOutput<M>>,
}

impl<M: TransactionMessage> ServerNonInvite<M> {
    /// Starts the transaction for a new request.
    pub fn new(_now: Instant, reliability: Reliability, cfg: TimerConfig) -> Self {
        ServerNonInvite {
            state: State::Trying,
            last_response: None,
            reliability,
            cfg,
            timers: TimerTable::default(),
            out: VecDeque::new(),
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// A retransmission of the request arrived: absorbed in Trying, answered with the
    /// last response in Proceeding and Completed.
    pub fn handle_request_retransmission(&mut self, _now: Instant) {
        if matches!(self.state, State::Proceeding | State::Completed) {
            if let Some(r) = &self.last_response {
                self.out.push_back(TxOutput::Transmit(r.clone()));
            }
        }
    }

    /// The TU sends a response through the transaction.
    pub fn send_response(&mut self, now: Instant, status: u16, response: M) {
        match (self.state, class(status)) {
            (State::Trying | State::Proceeding, 1) => {
                self.state = State::Proceeding;
                self.out.push_back(TxOutput::Transmit(response.clone()));
                self.last_response = Some(response);
            }
            (State::Trying | State::Proceeding, 2..=6) => {
                self.state = State::Completed;
                self.out.push_back(TxOutput::Transmit(response.clone()));
                self.last_response = Some(response);
                let j = match self.reliability {
                    Reliability::Reliable => Duration::ZERO,
                    Reliability::Unreliable => self.cfg.timeout(),
                };
                self.timers.set(Timer::J, now, j);
            }
            _ => {}
        }
    }

    /// The transport failed to send a response (§17.2.4).
    pub fn handle_transport_error(&mut self, _now: Instant) {
        if self.state != State::Terminated {
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
            if (t, self.state) == (Timer::J, State::Completed) {
                self.terminate();
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
