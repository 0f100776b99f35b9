//! Q.931 circuit-mode call control on one PRI interface (ITU-T Q.931 §5), network or
//! user side: the call states of §2, the B-channel table, the global call reference
//! (RESTART, §5.5) and the error procedures of §5.8.
//!
//! Sans-IO, above layer 2: DL primitives in ([`Pri::handle_dl_event`]), layer 3
//! messages out as DL-DATA requests ([`PriOutput::Transmit`]), call events for the call
//! core ([`PriOutput::Event`]), deadlines through [`Pri::poll_timeout`] /
//! [`Pri::handle_timeout`]. [`super::PriStack`] stacks it on [`crate::q921::DataLink`].
//!
//! Messages travel as [`Message`] (mapping's codec): the call core builds and reads
//! them with `mapping::q931::translate`; this layer sets call references, channel
//! identification and Sending complete, checks each message against the call state,
//! and runs the timers.

use std::collections::VecDeque;
use std::time::Instant;

use mapping::cause::{Cause, Location, Q850Cause};
use mapping::q931::ies::{
    CallState as CallStateIe, CallStateValue, ChannelId, RestartClass, RestartIndicator,
    SendingComplete,
};
use mapping::q931::{CallReference, DecodeError, IeId, Message, MessageType};

use super::variant::{ChannelPreference, Timers, Variant};
use crate::q921::{self, Side};

/// A call on the interface: its call reference value and who allocated it (Q.931 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallId {
    /// Call reference value (15 bits on PRI).
    pub crv: u16,
    /// True when this side allocated the reference (an outgoing call).
    pub ours: bool,
}

/// The call states of Q.931 §2, named from this side's point of view; each maps to
/// the user-side (U) or network-side (N) number ([`CallState::value`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallState {
    /// 0: no call.
    Null,
    /// SETUP sent (U1 call initiated / N6 call present).
    SetupSent,
    /// CALL PROCEEDING received (U3 outgoing call proceeding / N9 incoming call
    /// proceeding).
    OutgoingProceeding,
    /// ALERTING received (U4 call delivered / N7 call received).
    Delivered,
    /// SETUP ACKNOWLEDGE received: we send the rest of the number (U2 overlap sending /
    /// N25 overlap receiving).
    OverlapSending,
    /// SETUP received, not answered (U6 call present / N1 call initiated).
    SetupReceived,
    /// SETUP ACKNOWLEDGE sent: the peer sends the rest of the number (U25 overlap
    /// receiving / N2 overlap sending).
    OverlapReceiving,
    /// CALL PROCEEDING sent (U9 incoming call proceeding / N3 outgoing call proceeding).
    IncomingProceeding,
    /// ALERTING sent (U7 call received / N4 call delivered).
    Received,
    /// CONNECT sent by the user side, waiting for CONNECT ACKNOWLEDGE (U8).
    ConnectRequest,
    /// 10: active.
    Active,
    /// DISCONNECT sent (U11 disconnect request / N12 disconnect indication).
    DisconnectSent,
    /// DISCONNECT received (U12 disconnect indication / N11 disconnect request).
    DisconnectReceived,
    /// 19: RELEASE sent.
    ReleaseSent,
}

impl CallState {
    /// The Q.931 call state value (§4.5.7) on `side`.
    pub fn value(self, side: Side) -> CallStateValue {
        let user = side == Side::User;
        let v = match self {
            CallState::Null => 0,
            CallState::SetupSent => {
                if user {
                    1
                } else {
                    6
                }
            }
            CallState::OutgoingProceeding => {
                if user {
                    3
                } else {
                    9
                }
            }
            CallState::OverlapSending => {
                if user {
                    2
                } else {
                    25
                }
            }
            CallState::OverlapReceiving => {
                if user {
                    25
                } else {
                    2
                }
            }
            CallState::Delivered => {
                if user {
                    4
                } else {
                    7
                }
            }
            CallState::SetupReceived => {
                if user {
                    6
                } else {
                    1
                }
            }
            CallState::IncomingProceeding => {
                if user {
                    9
                } else {
                    3
                }
            }
            CallState::Received => {
                if user {
                    7
                } else {
                    4
                }
            }
            CallState::ConnectRequest => 8,
            CallState::Active => 10,
            CallState::DisconnectSent => {
                if user {
                    11
                } else {
                    12
                }
            }
            CallState::DisconnectReceived => {
                if user {
                    12
                } else {
                    11
                }
            }
            CallState::ReleaseSent => 19,
        };
        CallStateValue(v)
    }
}

/// Spec-named call control timers (Q.931 §9).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timer {
    /// ALERTING received.
    T301,
    /// SETUP ACKNOWLEDGE sent.
    T302,
    /// SETUP sent.
    T303,
    /// SETUP ACKNOWLEDGE received.
    T304,
    /// DISCONNECT sent.
    T305,
    /// RELEASE sent.
    T308,
    /// Data link down with the call active.
    T309,
    /// CALL PROCEEDING received.
    T310,
    /// CONNECT sent (user side).
    T313,
    /// STATUS ENQUIRY sent.
    T322,
}

impl Timer {
    const ALL: [Timer; 10] = [
        Timer::T301,
        Timer::T302,
        Timer::T303,
        Timer::T304,
        Timer::T305,
        Timer::T308,
        Timer::T309,
        Timer::T310,
        Timer::T313,
        Timer::T322,
    ];

    fn duration(self, t: &Timers) -> std::time::Duration {
        match self {
            Timer::T301 => t.t301,
            Timer::T302 => t.t302,
            Timer::T303 => t.t303,
            Timer::T304 => t.t304,
            Timer::T305 => t.t305,
            Timer::T308 => t.t308,
            Timer::T309 => t.t309,
            Timer::T310 => t.t310,
            Timer::T313 => t.t313,
            Timer::T322 => t.t322,
        }
    }
}

/// A B-channel's condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelState {
    /// Free for a call.
    Idle,
    /// Held by a call.
    Busy(CallId),
    /// RESTART sent for it, not acknowledged yet.
    Restarting,
    /// Out of service until a RESTART (T308 or T316 ran out).
    Maintenance,
}

/// Interface configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Network or user side.
    pub side: Side,
    /// Switch variant.
    pub variant: Variant,
    /// The B-channel numbers in use (Q.931 channel numbers: 1-15 and 17-31 on E1, 1-23
    /// on T1).
    pub channels: Vec<u8>,
}

impl Config {
    /// An E1 interface with all 30 B-channels.
    pub fn e1(side: Side, variant: Variant) -> Self {
        Config {
            side,
            variant,
            channels: (1..=31).filter(|&c| c != 16).collect(),
        }
    }

    /// A T1 interface with 23 B-channels (D-channel on 24).
    pub fn t1(side: Side, variant: Variant) -> Self {
        Config {
            side,
            variant,
            channels: (1..=23).collect(),
        }
    }
}

/// What the interface tells the call core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriEvent {
    /// The data link came up (DL-ESTABLISH).
    LinkUp,
    /// The data link went down (DL-RELEASE); calls not active were cleared.
    LinkDown,
    /// A SETUP was accepted on `channel`; answer with [`Pri::send`] or [`Pri::release`].
    Incoming {
        /// The new call.
        call: CallId,
        /// The B-channel it holds.
        channel: u8,
        /// The SETUP as received.
        setup: Message,
    },
    /// A message of an established or progressing call (CALL PROCEEDING, ALERTING,
    /// CONNECT, PROGRESS, INFORMATION, NOTIFY, DISCONNECT, ...), after its state change.
    Message {
        /// The call.
        call: CallId,
        /// The message.
        message: Message,
    },
    /// An outgoing call's B-channel, as the peer's first answer set it (§5.1.2).
    Channel {
        /// The call.
        call: CallId,
        /// The B-channel.
        channel: u8,
    },
    /// The call is over for the call core (once per call): clearing started by either
    /// side, or the call ended at once. `cause` is the peer's when `by_peer`.
    Cleared {
        /// The call.
        call: CallId,
        /// Why.
        cause: Cause,
        /// True when the peer cleared (or its absence did, for timers).
        by_peer: bool,
    },
    /// The call reference and B-channel are free again (once per call, the Null state).
    Idle {
        /// The call.
        call: CallId,
        /// The B-channel the call held, if any.
        channel: Option<u8>,
    },
    /// T302 ran out while receiving digits in overlap (§5.2.4): the call core decides
    /// whether the number is complete (answer the call) or not (clear with cause 28).
    DigitsTimeout {
        /// The call.
        call: CallId,
    },
    /// STATUS received for a call (an answer to STATUS ENQUIRY or an error report).
    Status {
        /// The call.
        call: CallId,
        /// The peer's call state.
        state: CallStateValue,
        /// The STATUS cause.
        cause: Option<Cause>,
    },
    /// The peer restarted these channels (§5.5.2); their calls were cleared.
    Restarted {
        /// Channels now idle.
        channels: Vec<u8>,
    },
    /// Our RESTART was acknowledged; these channels are idle.
    RestartAcknowledged {
        /// Channels now idle.
        channels: Vec<u8>,
    },
    /// A B-channel was taken out of service (T308 or T316 ran out).
    Maintenance {
        /// The channel.
        channel: u8,
    },
}

/// What the interface hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriOutput {
    /// A DL-DATA request: one encoded Q.931 message.
    Transmit(Vec<u8>),
    /// An event for the call core.
    Event(PriEvent),
}

/// A request of the call core that cannot be carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PriError {
    /// No idle B-channel.
    #[error("no B-channel available")]
    NoChannel,
    /// The B-channel asked for is not configured or not idle.
    #[error("B-channel {0} not available")]
    ChannelUnavailable(u8),
    /// Every call reference value is in use.
    #[error("no call reference value free")]
    NoCallReference,
    /// No such call.
    #[error("unknown call")]
    UnknownCall,
    /// The message cannot be sent in the call's state (or by this layer's user).
    #[error("{0} not allowed in call state {1:?}")]
    NotAllowed(MessageType, CallState),
    /// A RESTART is already waiting for its acknowledgement.
    #[error("a restart is in progress")]
    RestartInProgress,
    /// A number or text does not fit its element.
    #[error("an element is too long")]
    TooLong,
}

/// A received message refused before any call saw it; the caller counts these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RxError {
    /// Not a Q.931 message (§5.8.1-5.8.2: ignored).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The dummy call reference, or a call reference length PRI does not use.
    #[error("call reference not usable on PRI")]
    CallReference,
}

#[derive(Debug)]
struct Call {
    id: CallId,
    state: CallState,
    channel: Option<u8>,
    exclusive: bool,
    timers: [Option<Instant>; 10],
    /// Expiries so far of T303 and T308 (second expiry rules).
    expired: [u8; 10],
    /// The SETUP, kept for a retransmission at T303.
    setup: Option<Message>,
    /// The first answer to a received SETUP was sent (it carries the channel).
    answered: bool,
    /// The cause of our clearing, for RELEASE after T305.
    cause: Option<Cause>,
    /// `Cleared` was reported.
    cleared: bool,
}

impl Call {
    fn new(id: CallId, state: CallState, channel: Option<u8>) -> Self {
        Call {
            id,
            state,
            channel,
            exclusive: false,
            timers: [None; 10],
            expired: [0; 10],
            setup: None,
            answered: false,
            cause: None,
            cleared: false,
        }
    }
}

#[derive(Debug)]
struct Restart {
    channels: Vec<u8>,
    message: Message,
    deadline: Instant,
    sent: u8,
}

/// Transmissions of a STATUS ENQUIRY before the call is cleared (§5.8.10).
const STATUS_ENQUIRY_TRIES: u8 = 3;

/// Transmissions of a RESTART before its channels go to maintenance (§5.5.1).
const RESTART_TRIES: u8 = 3;

/// Call control on one PRI interface.
#[derive(Debug)]
pub struct Pri {
    cfg: Config,
    timers: Timers,
    channels: Vec<(u8, ChannelState)>,
    calls: Vec<Call>,
    next_crv: u16,
    restart: Option<Restart>,
    link_up: bool,
    link_was_up: bool,
    out: VecDeque<PriOutput>,
}

fn cause(value: Q850Cause, side: Side) -> Cause {
    Cause {
        value,
        location: match side {
            Side::Network => Location::PUBLIC_LOCAL,
            Side::User => Location::USER,
        },
    }
}

impl Pri {
    /// An interface with every channel idle and the data link down.
    pub fn new(cfg: Config) -> Self {
        let timers = match cfg.side {
            Side::Network => cfg.variant.network_timers,
            Side::User => cfg.variant.user_timers,
        };
        Pri {
            channels: cfg
                .channels
                .iter()
                .map(|&c| (c, ChannelState::Idle))
                .collect(),
            timers,
            cfg,
            calls: Vec::new(),
            next_crv: 1,
            restart: None,
            link_up: false,
            link_was_up: false,
            out: VecDeque::new(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The state of a call (Null when unknown).
    pub fn call_state(&self, call: CallId) -> CallState {
        self.find(call)
            .map_or(CallState::Null, |i| self.calls[i].state)
    }

    /// The B-channel a call holds.
    pub fn call_channel(&self, call: CallId) -> Option<u8> {
        self.find(call).and_then(|i| self.calls[i].channel)
    }

    /// A B-channel's condition (None when not configured).
    pub fn channel_state(&self, channel: u8) -> Option<ChannelState> {
        self.channels
            .iter()
            .find(|(c, _)| *c == channel)
            .map(|(_, s)| *s)
    }

    /// Calls that are not in the Null state.
    pub fn calls(&self) -> impl Iterator<Item = (CallId, CallState)> + '_ {
        self.calls.iter().map(|c| (c.id, c.state))
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<PriOutput> {
        self.out.pop_front()
    }

    /// The next deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.calls
            .iter()
            .flat_map(|c| c.timers.iter().flatten())
            .chain(self.restart.as_ref().map(|r| &r.deadline))
            .min()
            .copied()
    }

    // ----- helpers -------------------------------------------------------------------

    fn find(&self, id: CallId) -> Option<usize> {
        self.calls.iter().position(|c| c.id == id)
    }

    fn event(&mut self, e: PriEvent) {
        self.out.push_back(PriOutput::Event(e));
    }

    fn transmit(&mut self, m: &Message) {
        self.out.push_back(PriOutput::Transmit(m.encode()));
    }

    fn call_ref(id: CallId) -> CallReference {
        // §4.3: the flag is 0 from the side that allocated the reference.
        CallReference::pri(id.crv, !id.ours)
    }

    fn msg(&self, id: CallId, t: MessageType) -> Message {
        Message::new(self.cfg.variant.dialect, Self::call_ref(id), t)
    }

    fn send_simple(&mut self, id: CallId, t: MessageType, c: Option<Cause>) {
        let m = Message::clearing(self.cfg.variant.dialect, Self::call_ref(id), t, c);
        self.transmit(&m);
    }

    fn our_cause(&self, v: Q850Cause) -> Cause {
        cause(v, self.cfg.side)
    }

    fn set_channel(&mut self, channel: u8, state: ChannelState) {
        if let Some(slot) = self.channels.iter_mut().find(|(c, _)| *c == channel) {
            slot.1 = state;
        }
    }

    /// An idle channel: the network side takes them from the top, the user side from
    /// the bottom, so that both rarely reach for the same one (less glare).
    fn pick_idle(&self) -> Option<u8> {
        let mut idle = self
            .channels
            .iter()
            .filter(|(_, s)| *s == ChannelState::Idle)
            .map(|(c, _)| *c);
        match self.cfg.side {
            Side::Network => idle.next_back(),
            Side::User => idle.next(),
        }
    }

    fn start(&mut self, i: usize, t: Timer, now: Instant) {
        self.calls[i].timers[t as usize] = Some(now + t.duration(&self.timers));
    }

    fn stop(&mut self, i: usize, t: Timer) {
        self.calls[i].timers[t as usize] = None;
    }

    fn stop_all(&mut self, i: usize) {
        self.calls[i].timers = [None; 10];
    }

    fn report_cleared(&mut self, i: usize, cause: Cause, by_peer: bool) {
        if !self.calls[i].cleared {
            self.calls[i].cleared = true;
            let call = self.calls[i].id;
            self.event(PriEvent::Cleared {
                call,
                cause,
                by_peer,
            });
        }
    }

    /// Back to Null: the call reference and channel are free.
    fn free(&mut self, i: usize) {
        let call = self.calls.remove(i);
        if let Some(ch) = call.channel
            && self.channel_state(ch) == Some(ChannelState::Busy(call.id))
        {
            self.set_channel(ch, ChannelState::Idle);
        }
        self.event(PriEvent::Idle {
            call: call.id,
            channel: call.channel,
        });
    }

    /// Ends a call without messages (restart, data link failure).
    fn clear_locally(&mut self, i: usize, c: Cause) {
        self.report_cleared(i, c, true);
        self.free(i);
    }

    /// §5.3.2: DISCONNECT, T305, disconnect request.
    fn disconnect(&mut self, now: Instant, i: usize, c: Cause) {
        let id = self.calls[i].id;
        self.stop_all(i);
        self.send_simple(id, MessageType::DISCONNECT, Some(c));
        self.calls[i].cause = Some(c);
        self.calls[i].state = CallState::DisconnectSent;
        self.start(i, Timer::T305, now);
    }

    /// §5.3.3/5.3.4: RELEASE, T308, release request.
    fn send_release(&mut self, now: Instant, i: usize, c: Option<Cause>) {
        let id = self.calls[i].id;
        self.stop_all(i);
        self.send_simple(id, MessageType::RELEASE, c);
        self.calls[i].state = CallState::ReleaseSent;
        self.start(i, Timer::T308, now);
    }

    fn channel_id(&self, channel: u8, exclusive: bool) -> ChannelId {
        ChannelId::pri_b_channel(channel, exclusive)
    }

    // ----- requests from the call core -------------------------------------------------

    /// Places a call: `setup` is a SETUP built by the call core (bearer, numbers...);
    /// its call reference, Channel identification and Sending complete are set here.
    /// `channel` asks for one B-channel, else one is chosen.
    pub fn setup(
        &mut self,
        now: Instant,
        setup: Message,
        channel: Option<u8>,
    ) -> Result<CallId, PriError> {
        self.setup_with(now, setup, channel, true)
    }

    /// [`Pri::setup`] for overlap sending when `complete` is false (§5.1.3): no Sending
    /// complete; the peer's SETUP ACKNOWLEDGE asks for the rest of the number, which
    /// goes in INFORMATION messages ([`Pri::send`]).
    pub fn setup_with(
        &mut self,
        now: Instant,
        mut setup: Message,
        channel: Option<u8>,
        complete: bool,
    ) -> Result<CallId, PriError> {
        let channel = match channel {
            Some(c) if self.channel_state(c) == Some(ChannelState::Idle) => c,
            Some(c) => return Err(PriError::ChannelUnavailable(c)),
            None => self.pick_idle().ok_or(PriError::NoChannel)?,
        };
        let crv = self.allocate_crv().ok_or(PriError::NoCallReference)?;
        let id = CallId { crv, ours: true };
        let pref = match self.cfg.side {
            Side::Network => self.cfg.variant.network_channel,
            Side::User => self.cfg.variant.user_channel,
        };
        let exclusive = pref == ChannelPreference::Exclusive;
        setup.msg_type = MessageType::SETUP;
        setup.call_ref = Self::call_ref(id);
        setup
            .set(&self.channel_id(channel, exclusive))
            .map_err(|_| PriError::TooLong)?;
        if complete && self.cfg.variant.sending_complete {
            setup.set(&SendingComplete).map_err(|_| PriError::TooLong)?;
        } else {
            setup.remove(IeId::SENDING_COMPLETE);
        }
        self.transmit(&setup);
        let mut call = Call::new(id, CallState::SetupSent, Some(channel));
        call.exclusive = exclusive;
        call.setup = Some(setup);
        self.calls.push(call);
        self.set_channel(channel, ChannelState::Busy(id));
        let i = self.calls.len() - 1;
        self.start(i, Timer::T303, now);
        Ok(id)
    }

    fn allocate_crv(&mut self) -> Option<u16> {
        for _ in 0..0x7FFF {
            let crv = self.next_crv;
            self.next_crv = if crv >= 0x7FFF { 1 } else { crv + 1 };
            if !self.calls.iter().any(|c| c.id.ours && c.id.crv == crv) {
                return Some(crv);
            }
        }
        None
    }

    /// Sends a call core message for `call`: CALL PROCEEDING, ALERTING, CONNECT (an
    /// incoming call's answers), PROGRESS, INFORMATION, NOTIFY or FACILITY. The call
    /// reference is set here, and Channel identification on the first answer to a SETUP
    /// (§5.2.3.2). Clearing goes through [`Pri::release`].
    pub fn send(&mut self, now: Instant, call: CallId, mut msg: Message) -> Result<(), PriError> {
        let i = self.find(call).ok_or(PriError::UnknownCall)?;
        let state = self.calls[i].state;
        let incoming_early = matches!(
            state,
            CallState::SetupReceived
                | CallState::OverlapReceiving
                | CallState::IncomingProceeding
                | CallState::Received
        );
        let next = match msg.msg_type {
            MessageType::SETUP_ACKNOWLEDGE if state == CallState::SetupReceived => {
                CallState::OverlapReceiving
            }
            MessageType::CALL_PROCEEDING
                if matches!(
                    state,
                    CallState::SetupReceived | CallState::OverlapReceiving
                ) =>
            {
                CallState::IncomingProceeding
            }
            MessageType::ALERTING
                if matches!(
                    state,
                    CallState::SetupReceived
                        | CallState::OverlapReceiving
                        | CallState::IncomingProceeding
                ) =>
            {
                CallState::Received
            }
            MessageType::CONNECT if incoming_early => match self.cfg.side {
                Side::User => CallState::ConnectRequest,
                Side::Network => CallState::Active,
            },
            MessageType::PROGRESS if incoming_early || state == CallState::Active => state,
            MessageType::INFORMATION | MessageType::NOTIFY | MessageType::FACILITY
                if !matches!(
                    state,
                    CallState::ReleaseSent | CallState::DisconnectSent | CallState::SetupSent
                ) =>
            {
                state
            }
            t => return Err(PriError::NotAllowed(t, state)),
        };
        msg.call_ref = Self::call_ref(call);
        if incoming_early
            && !self.calls[i].answered
            && let Some(ch) = self.calls[i].channel
        {
            msg.set(&self.channel_id(ch, true))
                .map_err(|_| PriError::TooLong)?;
        }
        if incoming_early && msg.msg_type != MessageType::PROGRESS {
            self.calls[i].answered = true;
        }
        self.transmit(&msg);
        self.calls[i].state = next;
        match next {
            CallState::ConnectRequest => self.start(i, Timer::T313, now),
            // §5.2.4: T302 runs while digits may come.
            CallState::OverlapReceiving => self.start(i, Timer::T302, now),
            // §5.1.3: each INFORMATION sent restarts T304.
            CallState::OverlapSending if msg.msg_type == MessageType::INFORMATION => {
                self.start(i, Timer::T304, now)
            }
            _ => {}
        }
        if state == CallState::OverlapReceiving && next != state {
            self.stop(i, Timer::T302);
        }
        Ok(())
    }

    /// Clears a call with `cause` (§5.3): RELEASE COMPLETE to a SETUP not yet
    /// answered, RELEASE after the peer's DISCONNECT, DISCONNECT otherwise.
    pub fn release(&mut self, now: Instant, call: CallId, c: Cause) -> Result<(), PriError> {
        let i = self.find(call).ok_or(PriError::UnknownCall)?;
        match self.calls[i].state {
            CallState::SetupReceived if !self.calls[i].answered => {
                self.send_simple(call, MessageType::RELEASE_COMPLETE, Some(c));
                self.report_cleared(i, c, false);
                self.free(i);
            }
            CallState::DisconnectReceived => {
                self.report_cleared(i, c, false);
                self.send_release(now, i, None);
            }
            CallState::DisconnectSent | CallState::ReleaseSent | CallState::Null => {}
            _ => {
                self.report_cleared(i, c, false);
                self.disconnect(now, i, c);
            }
        }
        Ok(())
    }

    /// Asks the peer for a call's state (§5.8.10).
    pub fn status_enquiry(&mut self, now: Instant, call: CallId) -> Result<(), PriError> {
        let i = self.find(call).ok_or(PriError::UnknownCall)?;
        self.enquire(now, i);
        Ok(())
    }

    /// §5.8.10: STATUS ENQUIRY and T322; one enquiry at a time (T322 is not restarted).
    fn enquire(&mut self, now: Instant, i: usize) {
        if self.calls[i].timers[Timer::T322 as usize].is_some() {
            return;
        }
        let m = self.msg(self.calls[i].id, MessageType::STATUS_ENQUIRY);
        self.transmit(&m);
        self.calls[i].expired[Timer::T322 as usize] = 0;
        self.start(i, Timer::T322, now);
    }

    /// Restarts one B-channel, or the whole interface with `None` (§5.5.1): calls on
    /// them are cleared, the channels wait for RESTART ACKNOWLEDGE (T316).
    pub fn restart(&mut self, now: Instant, channel: Option<u8>) -> Result<(), PriError> {
        if self.restart.is_some() {
            return Err(PriError::RestartInProgress);
        }
        let channels: Vec<u8> = match channel {
            Some(c) if self.channel_state(c).is_some() => vec![c],
            Some(c) => return Err(PriError::ChannelUnavailable(c)),
            None => self.cfg.channels.clone(),
        };
        let mut m = Message::new(
            self.cfg.variant.dialect,
            CallReference::global(2),
            MessageType::RESTART,
        );
        if let Some(c) = channel {
            m.set(&self.channel_id(c, true))
                .map_err(|_| PriError::TooLong)?;
            m.set(&RestartIndicator(RestartClass::INDICATED_CHANNELS))
                .map_err(|_| PriError::TooLong)?;
        } else {
            m.set(&RestartIndicator(RestartClass::SINGLE_INTERFACE))
                .map_err(|_| PriError::TooLong)?;
        }
        self.clear_channels(&channels, self.our_cause(Q850Cause::TEMPORARY_FAILURE));
        for &c in &channels {
            self.set_channel(c, ChannelState::Restarting);
        }
        self.transmit(&m);
        self.restart = Some(Restart {
            channels,
            message: m,
            deadline: now + self.timers.t316,
            sent: 1,
        });
        Ok(())
    }

    fn clear_channels(&mut self, channels: &[u8], c: Cause) {
        while let Some(i) = self
            .calls
            .iter()
            .position(|call| call.channel.is_some_and(|ch| channels.contains(&ch)))
        {
            self.clear_locally(i, c);
        }
    }

    // ----- data link primitives ------------------------------------------------------

    /// A primitive from layer 2.
    pub fn handle_dl_event(&mut self, now: Instant, ev: &q921::Event) {
        match ev {
            q921::Event::EstablishIndication | q921::Event::EstablishConfirm => {
                self.link_up = true;
                self.event(PriEvent::LinkUp);
                let first = !self.link_was_up;
                self.link_was_up = true;
                // §5.8.9 (data link re-established): ask the peer where each call that
                // got past SETUP stands.
                for i in 0..self.calls.len() {
                    self.stop(i, Timer::T309);
                    if !first && self.calls[i].state != CallState::SetupSent {
                        // A fresh enquiry: layer 2 dropped what was outstanding.
                        self.stop(i, Timer::T322);
                        self.enquire(now, i);
                    }
                }
                if first && self.cfg.variant.restart_on_first_link_up {
                    let _ = self.restart(now, None);
                }
            }
            q921::Event::ReleaseIndication | q921::Event::ReleaseConfirm => {
                if !self.link_up {
                    return;
                }
                self.link_up = false;
                self.event(PriEvent::LinkDown);
                // §5.8.8 data link failure: calls not active are cleared; active ones
                // wait T309 for the link.
                let mut i = 0;
                while i < self.calls.len() {
                    if self.calls[i].state == CallState::Active {
                        self.stop(i, Timer::T322);
                        self.start(i, Timer::T309, now);
                        i += 1;
                    } else {
                        let c = self.our_cause(Q850Cause::TEMPORARY_FAILURE);
                        self.clear_locally(i, c);
                    }
                }
            }
            q921::Event::Data(bytes) => {
                let _ = self.handle_message(now, bytes);
            }
            _ => {}
        }
    }

    // ----- received messages -----------------------------------------------------------

    /// A received layer 3 message (a DL-DATA indication).
    pub fn handle_message(&mut self, now: Instant, bytes: &[u8]) -> Result<(), RxError> {
        let m = Message::decode(bytes, self.cfg.variant.dialect)?;
        let cr = m.call_ref;
        if cr.is_dummy() || cr.octets() != 2 {
            return Err(RxError::CallReference);
        }
        if cr.is_global() {
            self.rx_global(m);
            return Ok(());
        }
        // §4.3: flag 1 means the receiver (we) allocated the reference.
        let id = CallId {
            crv: cr.value() as u16,
            ours: cr.flag(),
        };
        match self.find(id) {
            Some(i) => self.rx_call(now, i, m),
            None => self.rx_unknown(id, m),
        }
        Ok(())
    }

    fn status(&mut self, cr: CallReference, state: CallStateValue, v: Q850Cause) {
        let mut m = Message::clearing(
            self.cfg.variant.dialect,
            cr,
            MessageType::STATUS,
            Some(self.our_cause(v)),
        );
        // A call state is 1 octet: always fits.
        let _ = m.set(&CallStateIe::new(state));
        self.transmit(&m);
    }

    /// §5.8.3.2: messages for a call reference we do not know.
    fn rx_unknown(&mut self, id: CallId, m: Message) {
        let reply = m.call_ref.reply();
        let c81 = Some(self.our_cause(Q850Cause::INVALID_CALL_REFERENCE));
        match m.msg_type {
            // d) a SETUP whose flag says we allocated it is ignored.
            MessageType::SETUP if !id.ours => self.rx_setup(id, m),
            MessageType::SETUP | MessageType::RELEASE_COMPLETE => {}
            // §5.8.10: the Null state, cause 30.
            MessageType::STATUS_ENQUIRY => self.status(
                reply,
                CallStateValue::NULL,
                Q850Cause::RESPONSE_TO_STATUS_ENQUIRY,
            ),
            // g) a STATUS of a call we do not know: clear unless it says Null.
            MessageType::STATUS => {
                let null = m
                    .get::<CallStateIe>()
                    .and_then(Result::ok)
                    .is_some_and(|s| s.state == CallStateValue::NULL);
                if !null {
                    let r = Message::clearing(
                        self.cfg.variant.dialect,
                        reply,
                        MessageType::RELEASE_COMPLETE,
                        c81,
                    );
                    self.transmit(&r);
                }
            }
            // a), b): RELEASE COMPLETE, cause 81.
            _ => {
                let r = Message::clearing(
                    self.cfg.variant.dialect,
                    reply,
                    MessageType::RELEASE_COMPLETE,
                    c81,
                );
                self.transmit(&r);
            }
        }
    }

    /// §5.1/5.2 incoming SETUP: check it, pick the channel (§5.2.3.1), report it.
    fn rx_setup(&mut self, id: CallId, m: Message) {
        let reply = m.call_ref.reply();
        let refuse = |this: &mut Self, v: Q850Cause| {
            let c = Some(this.our_cause(v));
            let r = Message::clearing(
                this.cfg.variant.dialect,
                reply,
                MessageType::RELEASE_COMPLETE,
                c,
            );
            this.transmit(&r);
        };
        if let Err(e) = m.validate() {
            return refuse(self, e.cause());
        }
        let (wanted, exclusive) = match m.get::<ChannelId>() {
            Some(Ok(ci)) => (ci.b_channels().first().copied(), ci.exclusive),
            Some(Err(_)) => return refuse(self, Q850Cause::INVALID_IE_CONTENTS),
            None => (None, false),
        };
        let channel = match wanted {
            Some(c) => match self.channel_state(c) {
                None => return refuse(self, Q850Cause::CHANNEL_DOES_NOT_EXIST),
                Some(ChannelState::Idle) => c,
                Some(ChannelState::Busy(other)) if self.yields_glare(other) => {
                    // Glare (§5.1.2/5.2.3.1): the network side (QSIG side A) keeps the
                    // channel; our own SETUP, not yet answered, waits for the channel
                    // the peer gives it.
                    if let Some(j) = self.find(other) {
                        self.calls[j].channel = None;
                    }
                    c
                }
                Some(_) if exclusive => {
                    return refuse(self, Q850Cause::REQUESTED_CHANNEL_NOT_AVAILABLE);
                }
                Some(_) => match self.pick_idle() {
                    Some(c) => c,
                    None => return refuse(self, Q850Cause::NO_CIRCUIT_AVAILABLE),
                },
            },
            None => match self.pick_idle() {
                Some(c) => c,
                None => return refuse(self, Q850Cause::NO_CIRCUIT_AVAILABLE),
            },
        };
        self.calls
            .push(Call::new(id, CallState::SetupReceived, Some(channel)));
        self.set_channel(channel, ChannelState::Busy(id));
        self.event(PriEvent::Incoming {
            call: id,
            channel,
            setup: m,
        });
    }

    /// True when our call `other` must give its channel to the peer's SETUP: we are the
    /// user side (QSIG side B), and our SETUP is not answered yet.
    fn yields_glare(&self, other: CallId) -> bool {
        self.cfg.side == Side::User
            && other.ours
            && self
                .find(other)
                .is_some_and(|j| self.calls[j].state == CallState::SetupSent)
    }

    /// An outgoing call's first answer may name its channel (§5.1.2).
    fn take_channel(&mut self, now: Instant, i: usize, m: &Message) -> bool {
        let named = match m.get::<ChannelId>() {
            Some(Ok(ci)) => ci.b_channels().first().copied(),
            _ => None,
        };
        let current = self.calls[i].channel;
        let id = self.calls[i].id;
        let Some(c) = named else {
            if current.is_some() {
                return true;
            }
            // We gave up our channel in glare and the peer names none.
            let cause = self.our_cause(Q850Cause::CHANNEL_UNACCEPTABLE);
            self.report_cleared(i, cause, false);
            self.disconnect(now, i, cause);
            return false;
        };
        if current == Some(c) {
            return true;
        }
        let acceptable = (!self.calls[i].exclusive || current.is_none())
            && self.channel_state(c) == Some(ChannelState::Idle);
        if !acceptable {
            let cause = self.our_cause(Q850Cause::CHANNEL_UNACCEPTABLE);
            self.report_cleared(i, cause, false);
            self.disconnect(now, i, cause);
            return false;
        }
        if let Some(old) = current
            && self.channel_state(old) == Some(ChannelState::Busy(id))
        {
            self.set_channel(old, ChannelState::Idle);
        }
        self.calls[i].channel = Some(c);
        self.set_channel(c, ChannelState::Busy(id));
        self.event(PriEvent::Channel {
            call: id,
            channel: c,
        });
        true
    }

    fn rx_call(&mut self, now: Instant, i: usize, m: Message) {
        let id = self.calls[i].id;
        let state = self.calls[i].state;
        let peer_cause = m.cause();
        match m.msg_type {
            // e) a SETUP for a call we know is ignored.
            MessageType::SETUP => {}
            MessageType::STATUS_ENQUIRY => {
                let v = state.value(self.cfg.side);
                self.status(m.call_ref.reply(), v, Q850Cause::RESPONSE_TO_STATUS_ENQUIRY);
            }
            MessageType::STATUS => {
                self.stop(i, Timer::T322);
                let reported = m
                    .get::<CallStateIe>()
                    .and_then(Result::ok)
                    .map_or(CallStateValue::NULL, |s| s.state);
                if reported == CallStateValue::NULL {
                    // §5.8.11 c): the peer has no such call; release everything.
                    let c = self.our_cause(Q850Cause::TEMPORARY_FAILURE);
                    self.clear_locally(i, c);
                } else {
                    self.event(PriEvent::Status {
                        call: id,
                        state: reported,
                        cause: peer_cause,
                    });
                }
            }
            MessageType::RELEASE => {
                // §5.3.4: RELEASE COMPLETE and Null, also in a clear collision.
                let c = peer_cause.unwrap_or_else(|| self.our_cause(Q850Cause::NORMAL_CLEARING));
                self.send_simple(id, MessageType::RELEASE_COMPLETE, None);
                self.report_cleared(i, c, true);
                self.free(i);
            }
            MessageType::RELEASE_COMPLETE => {
                let c = peer_cause
                    .or(self.calls[i].cause)
                    .unwrap_or_else(|| self.our_cause(Q850Cause::NORMAL_CLEARING));
                self.report_cleared(i, c, true);
                self.free(i);
            }
            MessageType::DISCONNECT => match state {
                CallState::ReleaseSent => {}
                CallState::DisconnectSent => {
                    // §5.3.5 clear collision: RELEASE, T308.
                    self.send_release(now, i, None);
                }
                _ => {
                    let c =
                        peer_cause.unwrap_or_else(|| self.our_cause(Q850Cause::NORMAL_CLEARING));
                    self.calls[i].state = CallState::DisconnectReceived;
                    self.stop_all(i);
                    self.report_cleared(i, c, true);
                    self.event(PriEvent::Message {
                        call: id,
                        message: m,
                    });
                    // §5.3.4: RELEASE at once (no in-band announcements here).
                    if let Some(i) = self.find(id) {
                        self.send_release(now, i, None);
                    }
                }
            },
            t => self.rx_progress(now, i, state, t, m),
        }
    }

    /// Call establishment messages and the ones that do not change the state.
    fn rx_progress(
        &mut self,
        now: Instant,
        i: usize,
        state: CallState,
        t: MessageType,
        m: Message,
    ) {
        let id = self.calls[i].id;
        let outgoing_early = matches!(
            state,
            CallState::SetupSent
                | CallState::OverlapSending
                | CallState::OutgoingProceeding
                | CallState::Delivered
        );
        let next = match t {
            MessageType::SETUP_ACKNOWLEDGE if state == CallState::SetupSent => {
                CallState::OverlapSending
            }
            MessageType::CALL_PROCEEDING
                if matches!(state, CallState::SetupSent | CallState::OverlapSending) =>
            {
                CallState::OutgoingProceeding
            }
            MessageType::ALERTING
                if matches!(
                    state,
                    CallState::SetupSent
                        | CallState::OverlapSending
                        | CallState::OutgoingProceeding
                ) =>
            {
                CallState::Delivered
            }
            MessageType::CONNECT if outgoing_early => CallState::Active,
            MessageType::CONNECT_ACKNOWLEDGE
                if matches!(state, CallState::ConnectRequest | CallState::Active) =>
            {
                CallState::Active
            }
            MessageType::PROGRESS if outgoing_early || state == CallState::Active => state,
            MessageType::INFORMATION | MessageType::NOTIFY | MessageType::FACILITY
                if state != CallState::ReleaseSent =>
            {
                state
            }
            _ => {
                // §5.8.4: not compatible with the call state (97 when we do not know
                // the message type at all).
                let v = if t.is_known() {
                    Q850Cause::MESSAGE_NOT_COMPATIBLE_OR_NON_EXISTENT
                } else {
                    Q850Cause::MESSAGE_TYPE_NON_EXISTENT
                };
                let s = state.value(self.cfg.side);
                self.status(m.call_ref.reply(), s, v);
                return;
            }
        };
        if state == CallState::SetupSent && next != state {
            // The first answer: T303 stops, the channel may move.
            self.stop(i, Timer::T303);
            self.calls[i].setup = None;
            if !self.take_channel(now, i, &m) {
                return;
            }
        }
        if state == CallState::OverlapSending && next != state {
            self.stop(i, Timer::T304);
        }
        match next {
            CallState::OverlapSending if state == CallState::SetupSent => {
                self.start(i, Timer::T304, now)
            }
            CallState::OutgoingProceeding if state != next => self.start(i, Timer::T310, now),
            CallState::Delivered => {
                self.stop(i, Timer::T310);
                if state != next {
                    self.start(i, Timer::T301, now);
                }
            }
            CallState::Active => {
                self.stop(i, Timer::T301);
                self.stop(i, Timer::T310);
                self.stop(i, Timer::T313);
            }
            CallState::OverlapReceiving if t == MessageType::INFORMATION => {
                // §5.2.4: more digits restart T302; Sending complete ends overlap.
                if m.sending_complete() {
                    self.stop(i, Timer::T302);
                } else {
                    self.start(i, Timer::T302, now);
                }
            }
            _ => {}
        }
        if t == MessageType::PROGRESS {
            self.stop(i, Timer::T310);
        }
        self.calls[i].state = next;
        if t == MessageType::CONNECT {
            // §5.1.8/5.2.8: CONNECT ACKNOWLEDGE.
            self.send_simple(id, MessageType::CONNECT_ACKNOWLEDGE, None);
        }
        self.event(PriEvent::Message {
            call: id,
            message: m,
        });
    }

    /// §5.5: the global call reference.
    fn rx_global(&mut self, m: Message) {
        match m.msg_type {
            MessageType::RESTART => {
                let class = m
                    .get::<RestartIndicator>()
                    .and_then(Result::ok)
                    .map(|r| r.0);
                let channels: Vec<u8> = match class {
                    Some(RestartClass::INDICATED_CHANNELS) => match m.get::<ChannelId>() {
                        Some(Ok(ci)) => ci
                            .b_channels()
                            .into_iter()
                            .filter(|c| self.channel_state(*c).is_some())
                            .collect(),
                        _ => Vec::new(),
                    },
                    Some(RestartClass::SINGLE_INTERFACE | RestartClass::ALL_INTERFACES) => {
                        self.cfg.channels.clone()
                    }
                    _ => {
                        // §5.5.2: a RESTART we cannot read is answered with STATUS.
                        self.status(
                            m.call_ref.reply(),
                            CallStateValue::NULL,
                            Q850Cause::INVALID_IE_CONTENTS,
                        );
                        return;
                    }
                };
                self.clear_channels(&channels, self.our_cause(Q850Cause::TEMPORARY_FAILURE));
                for &c in &channels {
                    self.set_channel(c, ChannelState::Idle);
                }
                let mut ack = m.clone();
                ack.msg_type = MessageType::RESTART_ACKNOWLEDGE;
                ack.call_ref = m.call_ref.reply();
                self.transmit(&ack);
                self.event(PriEvent::Restarted { channels });
            }
            MessageType::RESTART_ACKNOWLEDGE => {
                if let Some(r) = self.restart.take() {
                    for &c in &r.channels {
                        if self.channel_state(c) == Some(ChannelState::Restarting) {
                            self.set_channel(c, ChannelState::Idle);
                        }
                    }
                    self.event(PriEvent::RestartAcknowledged {
                        channels: r.channels,
                    });
                }
            }
            MessageType::STATUS => {}
            // §5.8.3.2 f): anything else: STATUS, cause 81.
            _ => {
                self.status(
                    m.call_ref.reply(),
                    CallStateValue::NULL,
                    Q850Cause::INVALID_CALL_REFERENCE,
                );
            }
        }
    }

    // ----- timers ----------------------------------------------------------------------

    /// Timers due at or before `now` run out.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.restart.as_ref().is_some_and(|r| r.deadline <= now) {
            self.t316_expiry(now);
        }
        loop {
            let due = self.calls.iter().enumerate().find_map(|(i, c)| {
                Timer::ALL
                    .into_iter()
                    .find(|&t| c.timers[t as usize].is_some_and(|d| d <= now))
                    .map(|t| (i, t))
            });
            let Some((i, t)) = due else { break };
            self.calls[i].timers[t as usize] = None;
            self.calls[i].expired[t as usize] = self.calls[i].expired[t as usize].saturating_add(1);
            self.expiry(now, i, t);
        }
    }

    fn expiry(&mut self, now: Instant, i: usize, t: Timer) {
        let id = self.calls[i].id;
        let c102 = self.our_cause(Q850Cause::RECOVERY_ON_TIMER_EXPIRY);
        match t {
            Timer::T303 => {
                if self.cfg.variant.retransmit_setup && self.calls[i].expired[t as usize] == 1 {
                    if let Some(s) = self.calls[i].setup.clone() {
                        self.transmit(&s);
                    }
                    self.start(i, Timer::T303, now);
                } else {
                    // Tables 9-1/9-2: clear the call; RELEASE COMPLETE tells the peer.
                    self.send_simple(id, MessageType::RELEASE_COMPLETE, Some(c102));
                    self.report_cleared(i, c102, true);
                    self.free(i);
                }
            }
            Timer::T310 | Timer::T313 | Timer::T304 => {
                self.report_cleared(i, c102, true);
                self.disconnect(now, i, c102);
            }
            Timer::T301 => {
                // No answer after alerting (Tables 9-1/9-2): cause 19.
                let c = self.our_cause(Q850Cause::NO_ANSWER);
                self.report_cleared(i, c, true);
                self.disconnect(now, i, c);
            }
            Timer::T302 => {
                // §5.2.4: whether the number is complete is the call core's call: it
                // answers (CALL PROCEEDING ...) or clears (cause 28).
                self.event(PriEvent::DigitsTimeout { call: id });
            }
            Timer::T305 => {
                let c = self.calls[i].cause.unwrap_or(c102);
                self.send_release(now, i, Some(c));
            }
            Timer::T308 => {
                if self.calls[i].expired[t as usize] == 1 {
                    let c = self.calls[i].cause.unwrap_or(c102);
                    self.send_simple(id, MessageType::RELEASE, Some(c));
                    self.start(i, Timer::T308, now);
                } else {
                    // Second expiry: the channel goes to maintenance, the reference is
                    // released.
                    let ch = self.calls[i].channel;
                    self.report_cleared(i, c102, true);
                    self.free(i);
                    if let Some(ch) = ch {
                        self.set_channel(ch, ChannelState::Maintenance);
                        self.event(PriEvent::Maintenance { channel: ch });
                    }
                }
            }
            Timer::T309 => {
                let c = self.our_cause(Q850Cause::TEMPORARY_FAILURE);
                self.clear_locally(i, c);
            }
            Timer::T322 => {
                // Table 9-1/9-2: the enquiry may be repeated; after that the call is
                // cleared.
                if self.calls[i].expired[t as usize] < STATUS_ENQUIRY_TRIES {
                    let m = self.msg(id, MessageType::STATUS_ENQUIRY);
                    self.transmit(&m);
                    self.start(i, Timer::T322, now);
                } else {
                    self.report_cleared(i, c102, true);
                    self.disconnect(now, i, c102);
                }
            }
        }
    }

    fn t316_expiry(&mut self, now: Instant) {
        let Some(mut r) = self.restart.take() else {
            return;
        };
        if r.sent < RESTART_TRIES {
            r.sent += 1;
            r.deadline = now + self.timers.t316;
            self.transmit(&r.message);
            self.restart = Some(r);
        } else {
            for c in r.channels {
                self.set_channel(c, ChannelState::Maintenance);
                self.event(PriEvent::Maintenance { channel: c });
            }
        }
    }
}
