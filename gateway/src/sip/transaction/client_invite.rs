//! INVITE client transaction, RFC 3261 §17.1.1 (Figure 5) with RFC 6026's Accepted state.

use super::{Reliability, Timer, TimerConfig, TimerTable, TransactionMessage, TxOutput, class};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// States of Figure 5 (+ Accepted, RFC 6026 §8.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// INVITE sent, nothing heard.
    Calling,
    /// A provisional response arrived.
    Proceeding,
    /// A 2xx arrived; further 2xx go to the TU until Timer M.
    Accepted,
    /// A 300-699 arrived and was ACKed; absorbing retransmissions until Timer D.
    Completed,
    /// Done.
    Terminated,
}

/// An INVITE client transaction.
#[derive(Debug)]
pub struct ClientInvite<M> {
    state: State,
    request: M,
    ack: Option<M>,
    reliability: Reliability,
    cfg: TimerConfig,
    timers: TimerTable,
    timer_a: Duration,
    out: VecDeque<TxOutput<M>>,
}

impl<M: TransactionMessage> ClientInvite<M> {
    /// Starts the transaction: the INVITE goes out at once (§17.1.1.2).
    pub fn new(now: Instant, request: M, reliability: Reliability, cfg: TimerConfig) -> Self {
        let mut timers = TimerTable::default();
        if !reliability.is_reliable() {
            timers.set(Timer::A, now, cfg.t1);
        }
        timers.set(Timer::B, now, cfg.timeout());
        ClientInvite {
            state: State::Calling,
            out: VecDeque::from([TxOutput::Transmit(request.clone())]),
            request,
            ack: None,
            reliability,
            cfg,
            timers,
            timer_a: cfg.t1,
        }
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// A response matched to this transaction (§17.1.3).
    pub fn handle_response(&mut self, now: Instant, status: u16, response: M) {
        match (self.state, class(status)) {
            (State::Calling | State::Proceeding, 1) => {
                self.state = State::Proceeding;
                // No more retransmissions, and Timer B only guards the Calling state.
                self.timers.clear(Timer::A);
                self.timers.clear(Timer::B);
                self.out.push_back(TxOutput::Response(response));
            }
            (State::Calling | State::Proceeding, 2) => {
                self.state = State::Accepted;
                self.timers.clear_all();
                self.timers.set(Timer::M, now, self.cfg.timeout());
                self.out.push_back(TxOutput::Response(response));
            }
            (State::Calling | State::Proceeding, 3..=6) => {
                self.state = State::Completed;
                let ack = M::ack_for(&self.request, &response);
                self.out.push_back(TxOutput::Transmit(ack.clone()));
                self.ack = Some(ack);
                self.out.push_back(TxOutput::Response(response));
                self.timers.clear_all();
                let d = match self.reliability {
                    Reliability::Reliable => Duration::ZERO,
                    // "at least 32 seconds for unreliable transports" (§17.1.1.2).
                    Reliability::Unreliable => Duration::from_secs(32).max(self.cfg.timeout()),
                };
                self.timers.set(Timer::D, now, d);
            }
            // RFC 6026 §8.4: 2xx retransmissions go to the TU, which ACKs them itself.
            (State::Accepted, 2) => self.out.push_back(TxOutput::Response(response)),
            // §17.1.1.2: a retransmitted final response is answered with the same ACK.
            (State::Completed, 3..=6) => {
                if let Some(ack) = &self.ack {
                    self.out.push_back(TxOutput::Transmit(ack.clone()));
                }
            }
            _ => {}
        }
    }

    /// The transport failed to send the request (§17.1.4).
    pub fn handle_transport_error(&mut self, _now: Instant) {
        if matches!(self.state, State::Calling | State::Proceeding) {
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
                (Timer::A, State::Calling) => {
                    self.out.push_back(TxOutput::Transmit(self.request.clone()));
                    self.timer_a *= 2;
                    self.timers.set(Timer::A, now, self.timer_a);
                }
                (Timer::B, State::Calling) => {
                    self.out.push_back(TxOutput::Timeout(Timer::B));
                    self.terminate();
                }
                (Timer::D, State::Completed) | (Timer::M, State::Accepted) => self.terminate(),
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
