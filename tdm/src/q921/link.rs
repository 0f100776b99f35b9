//! The LAPD data link entity for point-to-point PRI (one SAPI, fixed TEI), ITU-T Q.921
//! §5 and the Annex B SDL: multiple-frame establishment and release (§5.5),
//! acknowledged information transfer (§5.6), re-establishment (§5.7) and exception
//! conditions (§5.8).
//!
//! ```text
//!                 DL-ESTABLISH req / SABME          UA (F=1)
//!  TEI assigned (4) ----------------> Awaiting  -------------> Multiple frame
//!      ^   ^   SABME / UA           establishment (5)          established (7)
//!      |   |   (straight to 7)        |  ^   T200 x N200           |   ^
//!      |   +--------------------------+  |  (DL-RELEASE ind)      T200|   | RR/RNR/REJ F=1
//!      |                                 |                   T203     v   |
//!      |  UA/DM F=1, T200 x N200         +--- N200, DM, FRMR, --- Timer recovery (8)
//!      +---------- Awaiting release (6) <---- N(R) error
//!                  (DL-RELEASE req / DISC from 7 or 8)
//! ```
//!
//! Sans-IO: frames in through [`DataLink::handle_frame`], layer 3 requests through
//! [`DataLink::handle_request`], time through [`DataLink::handle_timeout`]; frames to
//! send and events for layer 3 out of [`DataLink::poll_output`]; the next deadline from
//! [`DataLink::poll_timeout`].
//!
//! ```
//! use std::time::Instant;
//! use tdm::q921::{Config, DataLink, Event, Output, Request, Side};
//! let now = Instant::now();
//! let mut net = DataLink::new(Config::pri(Side::Network));
//! let mut user = DataLink::new(Config::pri(Side::User));
//! net.handle_request(now, Request::Establish).unwrap(); // SABME
//! // Move frames until both are quiet.
//! loop {
//!     let mut moved = false;
//!     while let Some(Output::Transmit(f)) = net.poll_output() {
//!         user.handle_frame(now, &f).unwrap();
//!         moved = true;
//!     }
//!     while let Some(o) = user.poll_output() {
//!         if let Output::Transmit(f) = o {
//!             net.handle_frame(now, &f).unwrap();
//!             moved = true;
//!         }
//!     }
//!     if !moved {
//!         break;
//!     }
//! }
//! assert!(net.is_established() && user.is_established());
//! ```

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::frame::{Control, Frame, FrameError, SFunction, Sapi, UFunction};

/// Which end of the interface this entity is: decides the C/R bit (Q.921 §3.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The network side (NT): commands carry C/R = 1, responses C/R = 0.
    Network,
    /// The user side (TE): commands carry C/R = 0, responses C/R = 1.
    User,
}

impl Side {
    /// The C/R bit of a command (`true`) or response (`false`) sent by this side.
    pub fn cr_bit(self, command: bool) -> bool {
        match self {
            Side::Network => command,
            Side::User => !command,
        }
    }

    /// Whether a received frame with C/R bit `cr` is a command (sent by the other side).
    pub fn received_is_command(self, cr: bool) -> bool {
        match self {
            Side::Network => !cr,
            Side::User => cr,
        }
    }
}

/// Data link layer parameters (Q.921 §5.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// Network or user side.
    pub side: Side,
    /// SAPI served (0, call control).
    pub sapi: Sapi,
    /// TEI (0 on point-to-point PRI).
    pub tei: u8,
    /// T200, the acknowledgement timer (§5.9.1: 1 s).
    pub t200: Duration,
    /// T203, the idle supervision timer (§5.9.8: 10 s).
    pub t203: Duration,
    /// N200, retransmissions (§5.9.2: 3).
    pub n200: u8,
    /// N201, longest information field (§5.9.3: 260 octets).
    pub n201: usize,
    /// k, outstanding I frames (§5.9.5: 7 for a 64 kbit/s PRI SAPI 0).
    pub k: u8,
    /// Establish again on our own whenever the link goes down (layer 3 on PRI always
    /// wants the link; the release is still indicated).
    pub auto_establish: bool,
}

impl Config {
    /// PRI defaults on `side`: SAPI 0, TEI 0, T200 1 s, T203 10 s, N200 3, N201 260, k 7.
    pub fn pri(side: Side) -> Self {
        Config {
            side,
            sapi: Sapi::CALL_CONTROL,
            tei: 0,
            t200: Duration::from_secs(1),
            t203: Duration::from_secs(10),
            n200: 3,
            n201: 260,
            k: 7,
            auto_establish: true,
        }
    }
}

/// The data link states of the Annex B SDL that exist with a fixed TEI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// 4: TEI assigned, no multiple-frame operation.
    TeiAssigned,
    /// 5: SABME sent, waiting for UA.
    AwaitingEstablishment,
    /// 6: DISC sent, waiting for UA.
    AwaitingRelease,
    /// 7: multiple-frame established.
    MultipleFrameEstablished,
    /// 8: timer recovery (T200 ran out in 7, polling the peer).
    TimerRecovery,
}

/// Spec-named timers (§5.9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// Acknowledgement / retransmission timer.
    T200,
    /// Idle supervision timer.
    T203,
}

impl Timer {
    const ALL: [Timer; 2] = [Timer::T200, Timer::T203];
}

/// MDL-ERROR indications to management (Q.921 Table II.1), for counters and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdlError {
    /// A: supervisory response with F=1 not expected.
    A,
    /// B: DM response with F=1 not expected.
    B,
    /// C/D: UA response not expected.
    C,
    /// E: DM response with F=0 (peer wants re-establishment).
    E,
    /// F: SABME received in multiple-frame operation (peer re-established).
    F,
    /// G: SABME not answered N200 times.
    G,
    /// H: DISC not answered N200 times.
    H,
    /// I: status enquiry not answered N200 times.
    I,
    /// J: N(R) sequence error.
    J,
    /// K: FRMR received.
    K,
    /// L/M/N: undefined control field, or a frame with a wrong length.
    L,
    /// O: information field longer than N201.
    O,
}

/// A primitive from layer 3 (Q.921 §4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request<'a> {
    /// DL-ESTABLISH request.
    Establish,
    /// DL-RELEASE request.
    Release,
    /// DL-DATA request: one layer 3 message for acknowledged transfer.
    Data(&'a [u8]),
}

/// A primitive to layer 3.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// DL-ESTABLISH indication: the link came up on the peer's initiative (or was
    /// re-established; unacknowledged messages were discarded).
    EstablishIndication,
    /// DL-ESTABLISH confirm: the link came up as layer 3 asked.
    EstablishConfirm,
    /// DL-RELEASE indication: the link went down.
    ReleaseIndication,
    /// DL-RELEASE confirm: the link went down as layer 3 asked.
    ReleaseConfirm,
    /// DL-DATA indication: one layer 3 message.
    Data(Vec<u8>),
    /// DL-UNIT DATA indication: a UI frame's information field.
    UnitData(Vec<u8>),
    /// MDL-ERROR indication, for management.
    Error(MdlError),
}

/// What the entity hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A frame to send, from the address octet (no FCS).
    Transmit(Vec<u8>),
    /// A primitive for layer 3 or management.
    Event(Event),
}

/// A frame refused before it reached the state machine; the caller counts these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RxError {
    /// Not a LAPD frame, or not one LAPD defines (§5.8.5 discards or reports it).
    #[error(transparent)]
    Frame(#[from] FrameError),
    /// Another SAPI or TEI than this entity's: not ours.
    #[error("frame for another SAPI/TEI")]
    NotOurs,
}

/// A DL-DATA request refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TxError {
    /// The message is longer than N201.
    #[error("message of {0} octets exceeds N201")]
    TooLong(usize),
}

/// Counters kept by the entity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// I frames sent for the first time.
    pub i_sent: u64,
    /// I frames sent again.
    pub i_retransmitted: u64,
    /// I frames delivered to layer 3.
    pub i_received: u64,
    /// Times the link came up.
    pub established: u64,
}

/// Buffers kept for reuse.
const SPARE_BUFFERS: usize = 32;

/// Capacity of a new buffer: address, control, N201 of 260 and room to spare.
const MAX_FRAME: usize = 272;

fn seq_add(a: u8, b: u8) -> u8 {
    a.wrapping_add(b) & 0x7F
}

fn seq_sub(a: u8, b: u8) -> u8 {
    a.wrapping_sub(b) & 0x7F
}

/// One data link connection (Q.921 §5) for point-to-point PRI.
#[derive(Debug)]
pub struct DataLink {
    cfg: Config,
    state: State,
    timers: [Option<Instant>; 2],
    vs: u8,
    va: u8,
    vr: u8,
    rc: u8,
    peer_busy: bool,
    own_busy: bool,
    reject_exception: bool,
    ack_pending: bool,
    l3_initiated: bool,
    /// Layer 3 was told the link is up and not yet that it went down.
    up_indicated: bool,
    /// Messages with N(S) = V(A), V(A)+1, ...: those below V(S) are sent and not yet
    /// acknowledged, the rest wait for (re)transmission.
    window: VecDeque<Vec<u8>>,
    /// Messages layer 3 gave that are not in the window yet (the I queue).
    queue: VecDeque<Vec<u8>>,
    out: VecDeque<Output>,
    /// Buffers given back ([`DataLink::recycle`]) or freed by acknowledgements, reused
    /// for frames and queued messages so the steady state does not allocate.
    spare: Vec<Vec<u8>>,
    stats: Stats,
}

impl DataLink {
    /// A released link (state 4). Call [`DataLink::handle_request`] with
    /// [`Request::Establish`] to bring it up (or wait for the peer's SABME).
    pub fn new(cfg: Config) -> Self {
        DataLink {
            cfg,
            state: State::TeiAssigned,
            timers: [None; 2],
            vs: 0,
            va: 0,
            vr: 0,
            rc: 0,
            peer_busy: false,
            own_busy: false,
            reject_exception: false,
            ack_pending: false,
            l3_initiated: false,
            up_indicated: false,
            window: VecDeque::with_capacity(usize::from(cfg.k)),
            queue: VecDeque::new(),
            out: VecDeque::new(),
            spare: Vec::new(),
            stats: Stats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// True in multiple-frame operation (states 7 and 8).
    pub fn is_established(&self) -> bool {
        matches!(
            self.state,
            State::MultipleFrameEstablished | State::TimerRecovery
        )
    }

    /// Counters.
    pub fn stats(&self) -> Stats {
        self.stats
    }

    /// V(S), V(A), V(R).
    pub fn variables(&self) -> (u8, u8, u8) {
        (self.vs, self.va, self.vr)
    }

    /// The deadline of one timer, when running.
    pub fn timer(&self, t: Timer) -> Option<Instant> {
        self.timers[t as usize]
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers.iter().flatten().min().copied()
    }

    /// The next frame to send or primitive to deliver.
    pub fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// Gives back a buffer the entity handed out (a transmitted frame, a DL-DATA
    /// indication's message) for reuse.
    pub fn recycle(&mut self, mut buf: Vec<u8>) {
        if self.spare.len() < SPARE_BUFFERS {
            buf.clear();
            self.spare.push(buf);
        }
    }

    fn buffer(&mut self) -> Vec<u8> {
        self.spare
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(MAX_FRAME))
    }

    fn start(&mut self, t: Timer, now: Instant) {
        let d = match t {
            Timer::T200 => self.cfg.t200,
            Timer::T203 => self.cfg.t203,
        };
        self.timers[t as usize] = Some(now + d);
    }

    fn stop(&mut self, t: Timer) {
        self.timers[t as usize] = None;
    }

    fn running(&self, t: Timer) -> bool {
        self.timers[t as usize].is_some()
    }

    fn event(&mut self, e: Event) {
        match e {
            Event::EstablishIndication | Event::EstablishConfirm => self.up_indicated = true,
            Event::ReleaseIndication | Event::ReleaseConfirm => self.up_indicated = false,
            _ => {}
        }
        self.out.push_back(Output::Event(e));
    }

    fn send(&mut self, command: bool, control: Control, info: &[u8]) {
        let f = Frame {
            sapi: self.cfg.sapi,
            cr: self.cfg.side.cr_bit(command),
            tei: self.cfg.tei,
            control,
            info,
        };
        let mut buf = self.buffer();
        f.encode(&mut buf);
        self.out.push_back(Output::Transmit(buf));
    }

    fn send_u(&mut self, command: bool, func: UFunction, pf: bool) {
        self.send(command, Control::U { func, pf }, &[]);
    }

    fn send_s(&mut self, command: bool, func: SFunction, pf: bool) {
        let nr = self.vr;
        self.send(command, Control::S { func, nr, pf }, &[]);
    }

    /// RR or RNR, whichever our receiver's condition says.
    fn rr_or_rnr(&self) -> SFunction {
        if self.own_busy {
            SFunction::RNR
        } else {
            SFunction::RR
        }
    }

    fn clear_exception_conditions(&mut self) {
        self.peer_busy = false;
        self.reject_exception = false;
        self.own_busy = false;
        self.ack_pending = false;
    }

    fn discard_queues(&mut self) {
        self.window.clear();
        self.queue.clear();
    }

    /// "Establish data link" (Annex B): SABME P=1 and T200, to state 5.
    fn establish(&mut self, now: Instant, l3_initiated: bool) {
        self.clear_exception_conditions();
        self.rc = 0;
        self.send_u(true, UFunction::SABME, true);
        self.start(Timer::T200, now);
        self.stop(Timer::T203);
        self.l3_initiated = l3_initiated;
        self.state = State::AwaitingEstablishment;
    }

    /// Entering multiple-frame operation (§5.5.1.2): variables reset, T203 running.
    fn enter_established(&mut self, now: Instant) {
        self.vs = 0;
        self.va = 0;
        self.vr = 0;
        self.stop(Timer::T200);
        self.start(Timer::T203, now);
        self.state = State::MultipleFrameEstablished;
        self.stats.established += 1;
    }

    /// The link went down without layer 3 asking.
    fn released(&mut self, now: Instant) {
        self.discard_queues();
        self.stop(Timer::T200);
        self.stop(Timer::T203);
        self.state = State::TeiAssigned;
        // One indication per outage: a failed automatic attempt is not news to layer 3.
        if self.up_indicated || self.l3_initiated {
            self.event(Event::ReleaseIndication);
        }
        if self.cfg.auto_establish {
            self.establish(now, false);
        }
    }

    /// Transmit enquiry (Annex B): RR/RNR command P=1, T200.
    fn transmit_enquiry(&mut self, now: Instant) {
        let f = self.rr_or_rnr();
        self.send_s(true, f, true);
        self.ack_pending = false;
        self.start(Timer::T200, now);
    }

    /// Enquiry response (Annex B): RR/RNR response F=1.
    fn enquiry_response(&mut self) {
        let f = self.rr_or_rnr();
        self.send_s(false, f, true);
        self.ack_pending = false;
    }

    fn nr_valid(&self, nr: u8) -> bool {
        seq_sub(nr, self.va) <= seq_sub(self.vs, self.va)
    }

    /// Acknowledges up to `nr` (already checked valid): V(A) = N(R), window shrinks.
    fn ack_to(&mut self, nr: u8) {
        let n = seq_sub(nr, self.va);
        for _ in 0..n {
            if let Some(b) = self.window.pop_front() {
                self.recycle(b);
            }
        }
        self.va = nr;
    }

    /// "Invoke retransmission" (Annex B): V(S) back to V(A), window sent again.
    fn invoke_retransmission(&mut self) {
        self.vs = self.va;
    }

    fn send_i(&mut self, now: Instant, p: bool) {
        let idx = usize::from(seq_sub(self.vs, self.va));
        let ns = self.vs;
        let nr = self.vr;
        let frame = Frame {
            sapi: self.cfg.sapi,
            cr: self.cfg.side.cr_bit(true),
            tei: self.cfg.tei,
            control: Control::I { ns, nr, p },
            info: &[],
        };
        if idx >= self.window.len() {
            return;
        }
        let mut buf = self.buffer();
        frame.encode(&mut buf);
        buf.extend_from_slice(&self.window[idx]);
        self.out.push_back(Output::Transmit(buf));
        self.vs = seq_add(self.vs, 1);
        self.ack_pending = false;
        if !self.running(Timer::T200) {
            self.stop(Timer::T203);
            self.start(Timer::T200, now);
        }
    }

    /// Sends what the window and queue allow (§5.6.1): only in state 7, not to a busy
    /// peer, at most k outstanding.
    fn pump(&mut self, now: Instant) {
        while self.state == State::MultipleFrameEstablished && !self.peer_busy {
            let outstanding = seq_sub(self.vs, self.va);
            if outstanding >= self.cfg.k {
                break;
            }
            let retransmit = usize::from(outstanding) < self.window.len();
            if retransmit {
                self.stats.i_retransmitted += 1;
            } else {
                match self.queue.pop_front() {
                    Some(m) => self.window.push_back(m),
                    None => break,
                }
                self.stats.i_sent += 1;
            }
            self.send_i(now, false);
        }
        if self.ack_pending && self.is_established() {
            // Acknowledge with RR when no I frame carried N(R) (§5.6.2.1).
            let f = self.rr_or_rnr();
            self.send_s(false, f, false);
            self.ack_pending = false;
        }
    }

    /// Sets our receiver busy (layer 3 cannot take more) or clears it (§5.6.4):
    /// RNR, then RR when clear.
    pub fn set_own_busy(&mut self, now: Instant, busy: bool) {
        if busy == self.own_busy {
            return;
        }
        self.own_busy = busy;
        if self.is_established() {
            let f = if busy {
                SFunction::RNR
            } else if self.reject_exception {
                SFunction::REJ
            } else {
                SFunction::RR
            };
            self.send_s(false, f, false);
            self.ack_pending = false;
        }
        self.pump(now);
    }

    /// A layer 3 request.
    pub fn handle_request(&mut self, now: Instant, req: Request<'_>) -> Result<(), TxError> {
        match req {
            Request::Establish => match self.state {
                State::TeiAssigned | State::MultipleFrameEstablished | State::TimerRecovery => {
                    if self.state != State::TeiAssigned {
                        self.discard_queues();
                    }
                    self.establish(now, true);
                }
                State::AwaitingEstablishment => {
                    self.l3_initiated = true;
                }
                State::AwaitingRelease => {}
            },
            Request::Release => match self.state {
                State::TeiAssigned => self.event(Event::ReleaseConfirm),
                State::AwaitingRelease => {}
                State::AwaitingEstablishment
                | State::MultipleFrameEstablished
                | State::TimerRecovery => {
                    self.discard_queues();
                    self.rc = 0;
                    self.send_u(true, UFunction::DISC, true);
                    self.stop(Timer::T203);
                    self.start(Timer::T200, now);
                    self.state = State::AwaitingRelease;
                }
            },
            Request::Data(msg) => {
                if msg.len() > self.cfg.n201 {
                    return Err(TxError::TooLong(msg.len()));
                }
                match self.state {
                    // Being released: the message would go nowhere.
                    State::AwaitingRelease => {}
                    State::TeiAssigned => {
                        let mut b = self.buffer();
                        b.extend_from_slice(msg);
                        self.queue.push_back(b);
                        self.establish(now, true);
                    }
                    _ => {
                        let mut b = self.buffer();
                        b.extend_from_slice(msg);
                        self.queue.push_back(b);
                        self.pump(now);
                    }
                }
            }
        }
        Ok(())
    }

    /// Timers whose deadline is at or before `now` run out.
    pub fn handle_timeout(&mut self, now: Instant) {
        for t in Timer::ALL {
            if self.timers[t as usize].is_some_and(|d| d <= now) {
                self.timers[t as usize] = None;
                match t {
                    Timer::T200 => self.t200_expiry(now),
                    Timer::T203 => self.t203_expiry(now),
                }
            }
        }
    }

    fn t200_expiry(&mut self, now: Instant) {
        match self.state {
            State::AwaitingEstablishment => {
                if self.rc >= self.cfg.n200 {
                    self.event(Event::Error(MdlError::G));
                    self.released(now);
                } else {
                    self.rc += 1;
                    self.send_u(true, UFunction::SABME, true);
                    self.start(Timer::T200, now);
                }
            }
            State::AwaitingRelease => {
                if self.rc >= self.cfg.n200 {
                    self.event(Event::Error(MdlError::H));
                    self.state = State::TeiAssigned;
                    self.event(Event::ReleaseConfirm);
                } else {
                    self.rc += 1;
                    self.send_u(true, UFunction::DISC, true);
                    self.start(Timer::T200, now);
                }
            }
            State::MultipleFrameEstablished => {
                // §5.6.7: retransmit the last I frame with P=1, or poll.
                self.rc = 0;
                self.recovery_poll(now);
                self.state = State::TimerRecovery;
            }
            State::TimerRecovery => {
                if self.rc >= self.cfg.n200 {
                    // §5.7: N200 exhausted in timer recovery -> re-establish.
                    self.event(Event::Error(MdlError::I));
                    self.discard_queues();
                    self.establish(now, false);
                } else {
                    self.recovery_poll(now);
                }
            }
            State::TeiAssigned => {}
        }
    }

    /// One step of timer recovery: the last sent I frame again with P=1 when the peer is
    /// not busy and one is outstanding, else a status enquiry.
    fn recovery_poll(&mut self, now: Instant) {
        if !self.peer_busy && self.vs != self.va {
            self.vs = seq_sub(self.vs, 1);
            self.stats.i_retransmitted += 1;
            self.send_i(now, true);
            self.start(Timer::T200, now);
        } else {
            self.transmit_enquiry(now);
        }
        self.rc += 1;
    }

    fn t203_expiry(&mut self, now: Instant) {
        if self.state == State::MultipleFrameEstablished {
            // §5.6.6 idle supervision: poll the peer.
            self.rc = 0;
            self.transmit_enquiry(now);
            self.state = State::TimerRecovery;
        }
    }

    /// A received frame, from the address octet, without FCS.
    pub fn handle_frame(&mut self, now: Instant, bytes: &[u8]) -> Result<(), RxError> {
        let frame = match Frame::decode(bytes) {
            Ok(f) => f,
            Err(e) => {
                // §5.8.5: a frame with an undefined control field or a wrong length is
                // reported and, in multiple-frame operation, triggers re-establishment.
                if matches!(
                    e,
                    FrameError::UndefinedControl(_) | FrameError::InfoNotPermitted(_)
                ) && bytes.len() >= 2
                    && bytes[0] >> 2 == self.cfg.sapi.0
                    && bytes[1] >> 1 == self.cfg.tei
                {
                    self.event(Event::Error(MdlError::L));
                    if self.is_established() {
                        self.discard_queues();
                        self.establish(now, false);
                    }
                }
                return Err(e.into());
            }
        };
        if frame.sapi != self.cfg.sapi || frame.tei != self.cfg.tei {
            return Err(RxError::NotOurs);
        }
        let command = self.cfg.side.received_is_command(frame.cr);
        match frame.control {
            Control::U { func, pf } => self.rx_unnumbered(now, func, pf, command, frame.info),
            Control::S { func, nr, pf } => self.rx_supervisory(now, func, nr, pf, command),
            Control::I { ns, nr, p } => {
                if command {
                    self.rx_information(now, ns, nr, p, frame.info);
                }
            }
        }
        self.pump(now);
        Ok(())
    }

    fn rx_unnumbered(
        &mut self,
        now: Instant,
        func: UFunction,
        pf: bool,
        command: bool,
        info: &[u8],
    ) {
        match (func, command) {
            (UFunction::SABME, true) => self.rx_sabme(now, pf),
            (UFunction::DISC, true) => self.rx_disc(now, pf),
            (UFunction::UA, false) => self.rx_ua(now, pf),
            (UFunction::DM, false) => self.rx_dm(now, pf),
            (UFunction::FRMR, false) if self.is_established() => {
                self.event(Event::Error(MdlError::K));
                self.discard_queues();
                self.establish(now, false);
            }
            (UFunction::UI, true) => self.event(Event::UnitData(info.to_vec())),
            // XID and frames with the wrong C/R are ignored.
            _ => {}
        }
    }

    fn rx_sabme(&mut self, now: Instant, p: bool) {
        match self.state {
            State::TeiAssigned => {
                self.send_u(false, UFunction::UA, p);
                self.clear_exception_conditions();
                self.enter_established(now);
                self.event(Event::EstablishIndication);
            }
            State::AwaitingEstablishment => {
                // §5.5.1.3 collision of identical commands: answer UA, stay until our
                // own SABME is answered.
                self.send_u(false, UFunction::UA, p);
            }
            State::AwaitingRelease => self.send_u(false, UFunction::DM, p),
            State::MultipleFrameEstablished | State::TimerRecovery => {
                // §5.7.1: the peer re-established.
                self.send_u(false, UFunction::UA, p);
                self.clear_exception_conditions();
                self.event(Event::Error(MdlError::F));
                self.discard_queues();
                self.enter_established(now);
                self.event(Event::EstablishIndication);
            }
        }
    }

    fn rx_disc(&mut self, now: Instant, p: bool) {
        match self.state {
            State::TeiAssigned | State::AwaitingEstablishment => {
                self.send_u(false, UFunction::DM, p)
            }
            State::AwaitingRelease => self.send_u(false, UFunction::UA, p),
            State::MultipleFrameEstablished | State::TimerRecovery => {
                self.send_u(false, UFunction::UA, p);
                self.released(now);
            }
        }
    }

    fn rx_ua(&mut self, now: Instant, f: bool) {
        match self.state {
            State::AwaitingEstablishment if f => {
                let ev = if self.l3_initiated {
                    Event::EstablishConfirm
                } else {
                    Event::EstablishIndication
                };
                self.enter_established(now);
                self.event(ev);
                // Messages queued while establishing go now (§5.5.1.2).
            }
            State::AwaitingRelease if f => {
                self.stop(Timer::T200);
                self.state = State::TeiAssigned;
                self.event(Event::ReleaseConfirm);
            }
            _ => self.event(Event::Error(MdlError::C)),
        }
    }

    fn rx_dm(&mut self, now: Instant, f: bool) {
        match self.state {
            State::TeiAssigned if !f => {
                // The peer asks for establishment.
                self.establish(now, false);
            }
            State::AwaitingEstablishment if f => {
                self.event(Event::Error(MdlError::G));
                self.released(now);
            }
            State::AwaitingRelease if f => {
                self.stop(Timer::T200);
                self.state = State::TeiAssigned;
                self.event(Event::ReleaseConfirm);
            }
            State::MultipleFrameEstablished | State::TimerRecovery => {
                if f && self.state == State::MultipleFrameEstablished {
                    self.event(Event::Error(MdlError::B));
                } else {
                    self.event(Event::Error(MdlError::E));
                    self.discard_queues();
                    self.establish(now, false);
                }
            }
            _ => {}
        }
    }

    /// §5.7.1 N(R) sequence error: report and re-establish.
    fn nr_error(&mut self, now: Instant) {
        self.event(Event::Error(MdlError::J));
        self.discard_queues();
        self.establish(now, false);
    }

    fn rx_supervisory(&mut self, now: Instant, func: SFunction, nr: u8, pf: bool, command: bool) {
        if !self.is_established() {
            return;
        }
        self.peer_busy = func == SFunction::RNR;
        if command && pf {
            self.enquiry_response();
        }
        if !self.nr_valid(nr) {
            self.nr_error(now);
            return;
        }
        let final_response = !command && pf;
        match self.state {
            State::MultipleFrameEstablished => {
                if final_response {
                    self.event(Event::Error(MdlError::A));
                }
                let old_va = self.va;
                self.ack_to(nr);
                match func {
                    SFunction::REJ => {
                        // §5.6.3.2: retransmit from N(R).
                        self.stop(Timer::T200);
                        self.start(Timer::T203, now);
                        self.invoke_retransmission();
                    }
                    SFunction::RNR => {
                        // §5.6.5: keep T200 running to poll a busy peer.
                        self.stop(Timer::T203);
                        self.start(Timer::T200, now);
                    }
                    _ => {
                        // §5.6.3.1: T200 stops when everything is acknowledged, else
                        // restarts for what remains.
                        if nr == self.vs {
                            self.stop(Timer::T200);
                            self.start(Timer::T203, now);
                        } else if nr != old_va {
                            self.start(Timer::T200, now);
                        }
                    }
                }
            }
            State::TimerRecovery => {
                self.ack_to(nr);
                if final_response {
                    // §5.6.7: the poll is answered; back to 7 and resend from N(R).
                    self.invoke_retransmission();
                    self.state = State::MultipleFrameEstablished;
                    if func == SFunction::RNR {
                        self.stop(Timer::T203);
                        self.start(Timer::T200, now);
                    } else {
                        self.stop(Timer::T200);
                        self.start(Timer::T203, now);
                    }
                }
            }
            _ => {}
        }
    }

    fn rx_information(&mut self, now: Instant, ns: u8, nr: u8, p: bool, info: &[u8]) {
        if !self.is_established() {
            return;
        }
        if info.len() > self.cfg.n201 {
            // §5.8.5 d: information field too long.
            self.event(Event::Error(MdlError::O));
            self.discard_queues();
            self.establish(now, false);
            return;
        }
        if self.own_busy {
            if p {
                self.send_s(false, SFunction::RNR, true);
                self.ack_pending = false;
            }
        } else if ns == self.vr {
            // §5.6.2.2: in sequence.
            self.vr = seq_add(self.vr, 1);
            self.reject_exception = false;
            self.stats.i_received += 1;
            let mut b = self.buffer();
            b.extend_from_slice(info);
            self.event(Event::Data(b));
            if p {
                self.send_s(false, SFunction::RR, true);
                self.ack_pending = false;
            } else {
                self.ack_pending = true;
            }
        } else if self.reject_exception {
            // §5.8.1: already asked; discard.
            if p {
                self.send_s(false, SFunction::RR, true);
                self.ack_pending = false;
            }
        } else {
            // §5.8.1 N(S) sequence error: REJ once.
            self.reject_exception = true;
            self.send_s(false, SFunction::REJ, p);
            self.ack_pending = false;
        }
        if !self.nr_valid(nr) {
            self.nr_error(now);
            return;
        }
        let old_va = self.va;
        self.ack_to(nr);
        if self.state == State::MultipleFrameEstablished && !self.peer_busy {
            if nr == self.vs {
                self.stop(Timer::T200);
                self.start(Timer::T203, now);
            } else if nr != old_va {
                self.start(Timer::T200, now);
            }
        }
    }
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
