//! INVITE server transaction, RFC 3261 §17.2.1 (Figure 7) with RFC 6026's Accepted state.

use super::{Reliability, Timer, TimerConfig, TimerTable, TransactionMessage, TxOutput, class};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// States of Figure 7 (+ Accepted, RFC 6026 §8.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// INVITE received; provisional responses may go out.
    Proceeding,
    /// A 2xx went out; the TU retransmits it, retransmitted INVITEs are absorbed.
    Accepted,
    /// A 300-699 went out; retransmitting it until ACK (Timer G) or Timer H.
    Completed,
    /// ACK received; absorbing ACK retransmissions until Timer I.
    Confirmed,
    /// Done.
    Terminated,
}

/// An INVITE server transaction.
#[derive(Debug)]
pub struct ServerInvite<M> {
    state: State,
    last_response: Option<M>,
    reliability: Reliability,
    cfg: TimerConfig,
    timers: TimerTable,
    timer_g: Duration,
    out: VecDeque<TxOutput<M>>,
}

impl<M: TransactionMessage> ServerInvite<M> {
    /// Starts the transaction for a new INVITE; a 100 (Trying) goes out at once.
    pub fn new(_now: Instant, request: &M, reliability: Reliability, cfg: TimerConfig) -> Self {
        let trying = M::trying_for(request);
        ServerInvite {
            state: State::Proceeding,
            out: VecDeque::from([TxOutput::Transmit(trying.clone())]),
            last_response: Some(trying),
            reliability,
            cfg,
            timers: TimerTable::default(),
            timer_g: cfg.t1,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// A retransmission of the INVITE arrived (§17.2.1: resend the last provisional or
    /// final response; absorbed when Accepted or Confirmed).
    pub fn handle_request_retransmission(&mut self, _now: Instant) {
        if matches!(self.state, State::Proceeding | State::Completed) {
            if let Some(r) = &self.last_response {
                self.out.push_back(TxOutput::Transmit(r.clone()));
            }
        }
    }

    /// The ACK for a non-2xx final response arrived (the ACK for a 2xx is a separate
    /// transaction that goes straight to the TU, §17.2.3).
    pub fn handle_ack(&mut self, now: Instant) {
        if self.state == State::Completed {
            self.state = State::Confirmed;
            self.timers.clear_all();
            let i = match self.reliability {
                Reliability::Reliable => Duration::ZERO,
                Reliability::Unreliable => self.cfg.t4,
            };
            self.timers.set(Timer::I, now, i);
        }
    }

    /// The TU sends a response through the transaction.
    pub fn send_response(&mut self, now: Instant, status: u16, response: M) {
        match (self.state, class(status)) {
            (State::Proceeding, 1) => {
                self.out.push_back(TxOutput::Transmit(response.clone()));
                self.last_response = Some(response);
            }
            (State::Proceeding, 2) => {
                self.out.push_back(TxOutput::Transmit(response));
                self.last_response = None;
                self.state = State::Accepted;
                self.timers.set(Timer::L, now, self.cfg.timeout());
            }
            // RFC 6026 §8.7: the TU's 2xx retransmissions pass through Accepted.
            (State::Accepted, 2) => self.out.push_back(TxOutput::Transmit(response)),
            (State::Proceeding, 3..=6) => {
                self.out.push_back(TxOutput::Transmit(response.clone()));
                self.last_response = Some(response);
                self.state = State::Completed;
                if !self.reliability.is_reliable() {
                    self.timers.set(Timer::G, now, self.timer_g);
                }
                self.timers.set(Timer::H, now, self.cfg.timeout());
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
            match (t, self.state) {
                (Timer::G, State::Completed) => {
                    if let Some(r) = &self.last_response {
                        self.out.push_back(TxOutput::Transmit(r.clone()));
                    }
                    self.timer_g = (self.timer_g * 2).min(self.cfg.t2);
                    self.timers.set(Timer::G, now, self.timer_g);
                }
                (Timer::H, State::Completed) => {
                    self.out.push_back(TxOutput::Timeout(Timer::H));
                    self.terminate();
                }
                (Timer::I, State::Confirmed) | (Timer::L, State::Accepted) => self.terminate(),
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
