//! The H.245 control channel of one call, tunnelled in H.225.0 `h245Control` (H.225.0
//! §8.2.1). Sans-IO: encoded H.245 messages in, encoded messages to tunnel and
//! [`H245Event`]s out; the call leg decides which H.225.0 message carries them.
//!
//! What it does (H.245 §8 procedures, reduced to one audio session):
//! - capability exchange (§8.3): sends our TerminalCapabilitySet (G.711 A-law and u-law,
//!   UserInputIndication `dtmf` and `basicString`), acknowledges the peer's and keeps the
//!   audio codecs it can receive;
//! - master/slave determination (§8.2, procedure of Annex C.2): terminal type 60 (a
//!   gateway, H.323 Table 1), 24-bit status determination number, acknowledgements both
//!   ways, a new number after identical numbers (up to [`MSD_RETRIES`], N236);
//! - slow start (§8.4, unidirectional logical channels), only when enabled because fast
//!   start was not used: once capabilities are exchanged both ways, the determination
//!   is done and our RTP address is known, opens our audio channel with the first codec
//!   of our preference the peer can receive; acknowledges the peer's audio channel with
//!   our RTP/RTCP address (other data types are rejected). When our channel is
//!   acknowledged (the peer's RTP address) and the peer's is open, reports
//!   [`H245Event::Media`] once;
//! - UserInputIndication in and out, RoundTripDelay answered,
//!   CloseLogicalChannel acknowledged, endSessionCommand both ways.
//!
//! Response timers of the H.245 Annex C signalling entities, spec-named in [`Timer`]:
//! T101 (capability exchange), T103 (uni-directional logical channel), T106
//! (master/slave determination). Each guards one outgoing request; on expiry the
//! entity does what its SDL says (TerminalCapabilitySetRelease,
//! MasterSlaveDeterminationRelease, CloseLogicalChannel with source `lcse`) and reports
//! [`H245Event::Timeout`]; the call leg decides about the call. Time comes in as `now`
//! only: [`H245Control::arm`] turns timers started by a send into deadlines.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use h323_asn1::h245::build::{
    AudioChannel, AudioTerminalCapabilities, audio_open_logical_channel, close_logical_channel,
    empty_terminal_capability_set, end_session, master_slave_determination,
    master_slave_determination_ack, open_logical_channel, open_logical_channel_ack, socket_addr,
    terminal_capability_set, terminal_capability_set_ack, user_input_alphanumeric,
};
use h323_asn1::h245::{
    self, Capability, CloseLogicalChannel, CloseLogicalChannelAck, CloseLogicalChannelSource,
    CommandMessage, DataType, FunctionNotSupported, FunctionNotSupportedCause, IndicationMessage,
    LogicalChannelNumber, MasterSlaveDeterminationAckDecision, MasterSlaveDeterminationReject,
    MasterSlaveDeterminationRejectCause, MasterSlaveDeterminationRelease,
    MultimediaSystemControlMessage, OpenLogicalChannel, OpenLogicalChannelAck,
    OpenLogicalChannelAckForwardMultiplexAckParameters, OpenLogicalChannelReject,
    OpenLogicalChannelRejectCause, RequestMessage, RequestModeReject, RequestModeRejectCause,
    ResponseMessage, RoundTripDelayResponse, TerminalCapabilitySet, TerminalCapabilitySetRelease,
    UserInputIndication,
};
use mapping::model::{Codec, CodecName, Media, MediaDirection};
use tracing::debug;

use super::fast_start::{AUDIO_SESSION, DEFAULT_PTIME_MS, audio_codec_for, codec_of, same_codec};

/// H.323 Table 1: terminal type of a gateway without MC.
pub const TERMINAL_TYPE_GATEWAY: u8 = 60;

/// N236: how many times master/slave determination is retried after identical numbers
/// (H.245 Annex C.2).
pub const MSD_RETRIES: u8 = 3;

/// The logical channel number of our audio channel in slow start.
pub const OUR_AUDIO_LCN: u16 = 1;

/// The H.245 response timers (H.245 Annex C): one per signalling entity we run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Timer {
    /// Capability exchange (C.4): TerminalCapabilitySet sent, no Ack/Reject yet.
    T101,
    /// Uni-directional logical channel signalling (C.5): OpenLogicalChannel sent, no
    /// Ack/Reject yet.
    T103,
    /// Master/slave determination (C.2): our request or our Ack sent, no answer yet.
    T106,
}

impl Timer {
    /// Every timer, in table order.
    pub const ALL: [Timer; 3] = [Timer::T101, Timer::T103, Timer::T106];

    fn index(self) -> usize {
        match self {
            Timer::T101 => 0,
            Timer::T103 => 1,
            Timer::T106 => 2,
        }
    }

    /// The spec name, for metrics and logs.
    pub fn name(self) -> &'static str {
        match self {
            Timer::T101 => "T101",
            Timer::T103 => "T103",
            Timer::T106 => "T106",
        }
    }
}

/// H.245 leaves the timer values to the implementation; 30 s for all three, well above
/// any round trip and below the call core's no-answer timer.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(30);

/// One timer of the table: off, started by a send (its deadline set at the next
/// [`H245Control::arm`]), or running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deadline {
    Off,
    Start,
    At(Instant),
}

/// What the control channel tells the call leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum H245Event {
    /// Slow start done: the peer's RTP address (from its OpenLogicalChannelAck), and the
    /// codec we send first, then the codec the peer sends when it differs.
    Media(Media),
    /// A DTMF digit from a UserInputIndication (`signal` or `alphanumeric`).
    Dtmf {
        /// The digit.
        digit: char,
        /// Duration in ms (0 when not given).
        duration_ms: u32,
    },
    /// The peer sent endSessionCommand (H.323 §8.5: the call is being cleared).
    EndSession,
    /// The peer sent an empty TerminalCapabilitySet (H.323 §8.4.6): it pauses (holds)
    /// the call; our transmitting channel opened through H.245 has been closed.
    Paused,
    /// The peer's first non-empty TerminalCapabilitySet after [`H245Event::Paused`]:
    /// the call resumes (our capabilities and determination go out again, and a
    /// channel closed by the pause is reopened).
    Resumed,
    /// A tunnelled message did not decode.
    DecodeError,
    /// A procedure got no answer in time (the release/close of its SDL has been sent).
    Timeout(Timer),
}

/// Master/slave determination signalling entity state (H.245 Annex C.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Msd {
    Idle,
    OutgoingAwaitingResponse,
    IncomingAwaitingResponse { we_master: bool },
    Determined { we_master: bool },
}

#[derive(Debug, Clone)]
struct LocalMedia {
    rtp: SocketAddr,
    rtcp: SocketAddr,
    codecs: Vec<Codec>,
}

/// Our outgoing audio channel.
#[derive(Debug, Clone, PartialEq)]
enum OurChannel {
    Closed,
    Proposed {
        codec: Codec,
    },
    Open {
        codec: Codec,
        peer_rtp: SocketAddr,
        peer_rtcp: Option<SocketAddr>,
    },
    Refused,
}

/// The peer's audio channel toward us.
#[derive(Debug, Clone, PartialEq)]
struct PeerChannel {
    lcn: u16,
    codec: Codec,
    acked: bool,
}

/// The H.245 side of one call.
#[derive(Debug, Clone)]
pub struct H245Control {
    rng: u64,
    sdn: u32,
    /// Our TerminalCapabilitySet went out.
    started: bool,
    /// H.245 runs on this call (we started, or the peer sent something).
    active: bool,
    tcs_seq: u8,
    tcs_acked: bool,
    peer_caps: Option<Vec<Codec>>,
    msd: Msd,
    msd_retries: u8,
    local: Option<LocalMedia>,
    slow_start: bool,
    ours: OurChannel,
    peer: Option<PeerChannel>,
    media_reported: bool,
    end_sent: bool,
    /// Our codec preferences, for a capability set sent again after a pause.
    prefs: Vec<Codec>,
    /// The peer paused us with an empty capability set (H.323 §8.4.6).
    paused_by_peer: bool,
    /// We paused the peer with an empty capability set.
    pausing_peer: bool,
    /// Our channel was closed by a pause: open it again through H.245 once capabilities
    /// and master/slave are settled (also on a fast-start call).
    reopen: bool,
    timers: [Deadline; 3],
    timeout: Duration,
    out: VecDeque<Vec<u8>>,
    events: VecDeque<H245Event>,
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The 24-bit decision of H.245 Annex C.2: `Some(true)` when we are master, `None` when
/// indeterminate (same type, numbers equal or 2^23 apart).
pub fn determine(our_type: u8, our_sdn: u32, their_type: u8, their_sdn: u32) -> Option<bool> {
    if our_type != their_type {
        return Some(our_type > their_type);
    }
    let diff = their_sdn.wrapping_sub(our_sdn) & 0xFF_FFFF;
    match diff {
        0 | 0x80_0000 => None,
        d => Some(d < 0x80_0000),
    }
}

fn is_dtmf(c: char) -> bool {
    matches!(c, '0'..='9' | '*' | '#' | 'A'..='D')
}

/// The audio codecs a TerminalCapabilitySet says the peer can receive.
fn receive_codecs(tcs: &TerminalCapabilitySet) -> Vec<Codec> {
    let mut out: Vec<Codec> = Vec::new();
    for entry in tcs.capability_table.iter().flatten() {
        let cap = match &entry.capability {
            Some(
                Capability::receiveAudioCapability(a)
                | Capability::receiveAndTransmitAudioCapability(a),
            ) => a,
            _ => continue,
        };
        if let Some((codec, _, _)) = codec_of(cap)
            && !out.iter().any(|c| c == &codec)
        {
            out.push(codec);
        }
    }
    out
}

impl H245Control {
    /// A control channel whose status determination number and retries come from `seed`.
    pub fn new(seed: u64) -> Self {
        let mut rng = seed;
        let sdn = (splitmix(&mut rng) & 0xFF_FFFF) as u32;
        H245Control {
            rng,
            sdn,
            started: false,
            active: false,
            tcs_seq: 1,
            tcs_acked: false,
            peer_caps: None,
            msd: Msd::Idle,
            msd_retries: 0,
            local: None,
            slow_start: false,
            ours: OurChannel::Closed,
            peer: None,
            media_reported: false,
            end_sent: false,
            prefs: Vec::new(),
            paused_by_peer: false,
            pausing_peer: false,
            reopen: false,
            timers: [Deadline::Off; 3],
            timeout: RESPONSE_TIMEOUT,
            out: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The response timeout of T101, T103 and T106 (default [`RESPONSE_TIMEOUT`]).
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.timeout = timeout;
    }

    fn start_timer(&mut self, t: Timer) {
        self.timers[t.index()] = Deadline::Start;
    }

    fn stop_timer(&mut self, t: Timer) {
        self.timers[t.index()] = Deadline::Off;
    }

    /// Gives the timers started since the last call their deadline (`now` + timeout).
    pub fn arm(&mut self, now: Instant) {
        for d in &mut self.timers {
            if *d == Deadline::Start {
                *d = Deadline::At(now + self.timeout);
            }
        }
    }

    /// The earliest running deadline.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.timers
            .iter()
            .filter_map(|d| match d {
                Deadline::At(at) => Some(*at),
                _ => None,
            })
            .min()
    }

    /// Runs the timers due at `now` (H.245 Annex C expiry transitions).
    pub fn handle_timeout(&mut self, now: Instant) {
        for t in Timer::ALL {
            let Deadline::At(at) = self.timers[t.index()] else {
                continue;
            };
            if at > now {
                continue;
            }
            self.stop_timer(t);
            debug!(timer = t.name(), "H.245 procedure timed out");
            match t {
                // C.4.4: TerminalCapabilitySetRelease, REJECT.indication to the user.
                Timer::T101 => self.push(&MultimediaSystemControlMessage::indication(
                    IndicationMessage::terminalCapabilitySetRelease(
                        TerminalCapabilitySetRelease::new(None),
                    ),
                )),
                // C.2.4: MasterSlaveDeterminationRelease, ERROR.indication, back to idle.
                Timer::T106 => {
                    self.msd = Msd::Idle;
                    self.push(&MultimediaSystemControlMessage::indication(
                        IndicationMessage::masterSlaveDeterminationRelease(
                            MasterSlaveDeterminationRelease::new(),
                        ),
                    ));
                }
                // C.5.4: CloseLogicalChannel with source lcse, REJECT.indication.
                Timer::T103 => {
                    self.ours = OurChannel::Refused;
                    self.push(&MultimediaSystemControlMessage::request(
                        RequestMessage::closeLogicalChannel(CloseLogicalChannel::new(
                            LogicalChannelNumber(OUR_AUDIO_LCN),
                            CloseLogicalChannelSource::lcse(()),
                            None,
                        )),
                    ));
                }
            }
            self.events.push_back(H245Event::Timeout(t));
        }
    }

    /// True once slow start reported its media ([`H245Event::Media`]).
    pub fn media_done(&self) -> bool {
        self.media_reported
    }

    /// True once our TerminalCapabilitySet went out.
    pub fn is_started(&self) -> bool {
        self.started
    }

    /// True once H.245 runs on the call: we started it or the peer sent a message.
    pub fn is_active(&self) -> bool {
        self.active
    }

    /// True when master/slave determination is done; `Some(true)` when we are master.
    pub fn is_master(&self) -> Option<bool> {
        match self.msd {
            Msd::Determined { we_master } => Some(we_master),
            _ => None,
        }
    }

    /// True when slow start has been asked for.
    pub fn slow_start(&self) -> bool {
        self.slow_start
    }

    fn push(&mut self, msg: &MultimediaSystemControlMessage) {
        match h245::encode(msg) {
            Ok(bytes) => self.out.push_back(bytes),
            // Only values out of their ASN.1 range fail; ours are built in range.
            Err(e) => debug!(error = %e, "H.245 message not encoded"),
        }
    }

    /// Starts the session: our TerminalCapabilitySet and, unless the peer started one,
    /// master/slave determination. `prefs` orders the G.711 laws we announce.
    pub fn start(&mut self, prefs: &[Codec]) {
        if self.started {
            return;
        }
        self.started = true;
        self.active = true;
        self.prefs = prefs.to_vec();
        self.send_tcs(prefs);
        if self.msd == Msd::Idle {
            self.send_msd();
        }
        self.progress();
    }

    fn send_tcs(&mut self, prefs: &[Codec]) {
        let mut codecs = Vec::new();
        let mut add = |name: CodecName| {
            let c = Codec {
                name,
                clock_rate: 8000,
                channels: 1,
                payload_type: 0,
                fmtp: None,
            };
            if let Some(a) = audio_codec_for(&c, DEFAULT_PTIME_MS)
                && !codecs.contains(&a)
            {
                codecs.push(a);
            }
        };
        for c in prefs {
            if matches!(c.name, CodecName::Pcma | CodecName::Pcmu) {
                add(c.name.clone());
            }
        }
        add(CodecName::Pcma);
        add(CodecName::Pcmu);
        let caps = AudioTerminalCapabilities {
            codecs,
            telephone_event: None,
            user_input: true,
        };
        let msg = terminal_capability_set(self.tcs_seq, &caps);
        self.push(&msg);
        self.start_timer(Timer::T101);
    }

    fn send_msd(&mut self) {
        self.msd = Msd::OutgoingAwaitingResponse;
        let msg = master_slave_determination(TERMINAL_TYPE_GATEWAY, self.sdn);
        self.push(&msg);
        self.start_timer(Timer::T106);
    }

    /// Our RTP address (RTCP on the next port unless given) and codec preferences, for
    /// slow start. The first one given stays.
    pub fn set_local(&mut self, rtp: SocketAddr, rtcp: Option<SocketAddr>, codecs: &[Codec]) {
        if self.local.is_some() {
            return;
        }
        let rtcp = rtcp.unwrap_or_else(|| SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1)));
        self.local = Some(LocalMedia {
            rtp,
            rtcp,
            codecs: codecs.to_vec(),
        });
        self.progress();
    }

    /// Fast start was not used: open the audio channel through H.245.
    pub fn enable_slow_start(&mut self) {
        self.slow_start = true;
        self.progress();
    }

    /// Sends a DTMF digit as UserInputIndication `alphanumeric`. False when the session
    /// has not started (the leg then uses Q.931 keypad instead).
    pub fn user_input(&mut self, digit: char) -> bool {
        self.user_input_as(digit, None)
    }

    /// A DTMF digit as H.245 UserInputIndication (Annex A `userInput`): `alphanumeric`, or
    /// `signal` with its duration when `signal_ms` is given (the form that keeps the
    /// tone's length). False when the session has not started or the digit has no
    /// `signal` form.
    pub fn user_input_as(&mut self, digit: char, signal_ms: Option<u16>) -> bool {
        if !self.active || self.end_sent {
            return false;
        }
        let msg = match signal_ms {
            Some(ms) => match h245::build::user_input_signal(digit, Some(ms)) {
                Some(m) => m,
                None => return false,
            },
            None => user_input_alphanumeric(&digit.to_string()),
        };
        self.push(&msg);
        true
    }

    /// Pauses the peer (H.323 §8.4.6, for a hold on the other leg): an empty
    /// TerminalCapabilitySet, upon which the peer closes the channel it transmits on.
    /// Ours stays open (what the holding party sends, music on hold, still reaches the
    /// peer, as SIP sendonly). False when the session is not running.
    pub fn pause(&mut self) -> bool {
        if !self.active || self.end_sent || self.pausing_peer {
            return false;
        }
        self.pausing_peer = true;
        self.tcs_seq = self.tcs_seq.wrapping_add(1);
        self.tcs_acked = false;
        self.push(&empty_terminal_capability_set(self.tcs_seq));
        self.start_timer(Timer::T101);
        true
    }

    /// Ends our pause: our full capability set again; the peer reopens its channel
    /// (reported as [`H245Event::Media`] on a channel opened through H.245).
    pub fn resume(&mut self) -> bool {
        if !self.pausing_peer || self.end_sent {
            return false;
        }
        self.pausing_peer = false;
        self.tcs_seq = self.tcs_seq.wrapping_add(1);
        self.tcs_acked = false;
        let prefs = self.prefs.clone();
        self.send_tcs(&prefs);
        self.media_reported = false;
        self.progress();
        true
    }

    /// Whether the peer holds the call with an empty capability set.
    pub fn paused_by_peer(&self) -> bool {
        self.paused_by_peer
    }

    /// Queues endSessionCommand (H.323 §8.5) once, if the session started.
    pub fn end_session(&mut self) {
        if self.active && !self.end_sent {
            self.end_sent = true;
            self.timers = [Deadline::Off; 3];
            self.push(&end_session());
        }
    }

    /// The next encoded message to tunnel.
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.out.pop_front()
    }

    /// True when messages wait to be tunnelled.
    pub fn has_transmit(&self) -> bool {
        !self.out.is_empty()
    }

    /// The next event for the call leg.
    pub fn poll_event(&mut self) -> Option<H245Event> {
        self.events.pop_front()
    }

    /// Takes the slow start [`H245Event::Media`] out of the event queue, if it is there.
    pub fn take_media(&mut self) -> Option<Media> {
        let i = self
            .events
            .iter()
            .position(|e| matches!(e, H245Event::Media(_)))?;
        match self.events.remove(i) {
            Some(H245Event::Media(m)) => Some(m),
            _ => None,
        }
    }

    /// One tunnelled message from the peer.
    pub fn handle(&mut self, bytes: &[u8]) {
        let msg = match h245::decode(bytes) {
            Ok(m) => m,
            Err(e) => {
                debug!(error = %e, "tunnelled H.245 message does not decode");
                self.events.push_back(H245Event::DecodeError);
                return;
            }
        };
        // The peer runs H.245: the session is on whether or not we started it.
        self.active = true;
        match msg {
            MultimediaSystemControlMessage::request(r) => self.request(r),
            MultimediaSystemControlMessage::response(r) => self.response(r),
            MultimediaSystemControlMessage::command(c) => self.command(c),
            MultimediaSystemControlMessage::indication(i) => self.indication(i),
            _ => {}
        }
        self.progress();
    }

    fn request(&mut self, r: RequestMessage) {
        match r {
            RequestMessage::terminalCapabilitySet(tcs) => {
                let ack = terminal_capability_set_ack(tcs.sequence_number.0);
                self.push(&ack);
                let empty = tcs.capability_table.is_none() && tcs.capability_descriptors.is_none();
                if empty {
                    self.peer_paused();
                } else {
                    self.peer_caps = Some(receive_codecs(&tcs));
                    if self.paused_by_peer {
                        self.peer_resumed();
                    }
                }
            }
            RequestMessage::masterSlaveDetermination(m) => {
                self.incoming_msd(m.terminal_type, m.status_determination_number)
            }
            RequestMessage::openLogicalChannel(olc) => self.peer_open(&olc),
            RequestMessage::closeLogicalChannel(clc) => {
                let lcn = clc.forward_logical_channel_number.0;
                if self.peer.as_ref().is_some_and(|p| p.lcn == lcn) {
                    self.peer = None;
                }
                let ack = MultimediaSystemControlMessage::response(
                    ResponseMessage::closeLogicalChannelAck(CloseLogicalChannelAck::new(
                        LogicalChannelNumber(lcn),
                    )),
                );
                self.push(&ack);
            }
            RequestMessage::roundTripDelayRequest(rtd) => {
                let resp = MultimediaSystemControlMessage::response(
                    ResponseMessage::roundTripDelayResponse(RoundTripDelayResponse::new(
                        rtd.sequence_number,
                    )),
                );
                self.push(&resp);
            }
            // T.38 and other mode changes are not supported yet: the mode request
            // procedure's refusal (RequestModeReject), so the peer does not wait for
            // its T109.
            RequestMessage::requestMode(rm) => {
                let reject = MultimediaSystemControlMessage::response(
                    ResponseMessage::requestModeReject(RequestModeReject::new(
                        rm.sequence_number,
                        RequestModeRejectCause::modeUnavailable(()),
                    )),
                );
                self.push(&reject);
            }
            other => {
                // H.245 Annex A: a request we do not implement gets the indication
                // FunctionNotSupported (unknownFunction, the request returned) instead
                // of silence.
                debug!(request = ?std::mem::discriminant(&other), "H.245 request not supported");
                let returned = h245::encode(&MultimediaSystemControlMessage::request(other))
                    .ok()
                    .map(Into::into);
                let ind = MultimediaSystemControlMessage::indication(
                    IndicationMessage::functionNotSupported(FunctionNotSupported::new(
                        FunctionNotSupportedCause::unknownFunction(()),
                        returned,
                    )),
                );
                self.push(&ind);
            }
        }
    }

    fn response(&mut self, r: ResponseMessage) {
        match r {
            ResponseMessage::terminalCapabilitySetAck(ack)
                if ack.sequence_number.0 == self.tcs_seq =>
            {
                self.tcs_acked = true;
                self.stop_timer(Timer::T101);
            }
            ResponseMessage::terminalCapabilitySetReject(_) => {
                self.stop_timer(Timer::T101);
                debug!("peer rejected our TerminalCapabilitySet");
            }
            ResponseMessage::masterSlaveDeterminationAck(ack) => {
                // The decision names what the receiver (we) is.
                let we_master = matches!(
                    ack.decision,
                    MasterSlaveDeterminationAckDecision::master(())
                );
                self.stop_timer(Timer::T106);
                match self.msd {
                    Msd::OutgoingAwaitingResponse => {
                        let back = master_slave_determination_ack(!we_master);
                        self.push(&back);
                        self.msd = Msd::Determined { we_master };
                    }
                    Msd::IncomingAwaitingResponse { we_master: ours } => {
                        if ours != we_master {
                            debug!("master/slave acknowledgement contradicts our decision");
                        }
                        self.msd = Msd::Determined { we_master: ours };
                    }
                    Msd::Idle | Msd::Determined { .. } => {}
                }
            }
            ResponseMessage::masterSlaveDeterminationReject(_) => {
                self.stop_timer(Timer::T106);
                self.retry_msd();
            }
            ResponseMessage::openLogicalChannelAck(ack) => self.our_open_acked(&ack),
            ResponseMessage::openLogicalChannelReject(rej)
                if rej.forward_logical_channel_number.0 == OUR_AUDIO_LCN =>
            {
                debug!("peer rejected our audio channel");
                self.stop_timer(Timer::T103);
                self.ours = OurChannel::Refused;
            }
            _ => {}
        }
    }

    fn command(&mut self, c: CommandMessage) {
        if let CommandMessage::endSessionCommand(_) = c {
            self.events.push_back(H245Event::EndSession);
            // H.323 §8.5: answer with our own endSessionCommand.
            self.end_session();
        }
    }

    fn indication(&mut self, i: IndicationMessage) {
        let IndicationMessage::userInput(uii) = i else {
            return;
        };
        match &uii {
            UserInputIndication::signal(s) => {
                let duration_ms = s.duration.map_or(0, u32::from);
                for digit in String::from_utf8_lossy(s.signal_type.as_iso646_bytes()).chars() {
                    if is_dtmf(digit) {
                        self.events
                            .push_back(H245Event::Dtmf { digit, duration_ms });
                    }
                }
            }
            _ => {
                for digit in h245::build::user_input_digits(&uii)
                    .unwrap_or_default()
                    .chars()
                {
                    let digit = digit.to_ascii_uppercase();
                    if is_dtmf(digit) {
                        self.events.push_back(H245Event::Dtmf {
                            digit,
                            duration_ms: 0,
                        });
                    }
                }
            }
        }
    }

    /// H.323 §8.4.6: an empty capability set pauses us; we close the channel we
    /// transmit on (the one opened through H.245: fast-start channels carry no H.245
    /// state here and stay, the relay has nothing to send on them while the other
    /// leg is held) and wait for a new set.
    fn peer_paused(&mut self) {
        if self.paused_by_peer {
            return;
        }
        self.paused_by_peer = true;
        if matches!(
            self.ours,
            OurChannel::Open { .. } | OurChannel::Proposed { .. }
        ) {
            self.stop_timer(Timer::T103);
            self.push(&close_logical_channel(OUR_AUDIO_LCN));
            self.ours = OurChannel::Closed;
            self.reopen = true;
        }
        self.events.push_back(H245Event::Paused);
    }

    /// H.323 §8.4.6: a non-empty set after the pause; the endpoint starts over as after
    /// the H.245 channel came up: capability set, master/slave determination, and the
    /// channel the pause closed.
    fn peer_resumed(&mut self) {
        self.paused_by_peer = false;
        self.tcs_seq = self.tcs_seq.wrapping_add(1);
        self.tcs_acked = false;
        let prefs = self.prefs.clone();
        self.send_tcs(&prefs);
        self.msd_retries = 0;
        self.send_msd();
        self.media_reported = false;
        self.events.push_back(H245Event::Resumed);
    }

    fn incoming_msd(&mut self, their_type: u8, their_sdn: u32) {
        match determine(TERMINAL_TYPE_GATEWAY, self.sdn, their_type, their_sdn) {
            Some(we_master) => {
                let ack = master_slave_determination_ack(!we_master);
                self.push(&ack);
                self.msd = Msd::IncomingAwaitingResponse { we_master };
                // C.2: our Ack waits for the peer's Ack under T106 too.
                self.start_timer(Timer::T106);
            }
            None => {
                let rej = MultimediaSystemControlMessage::response(
                    ResponseMessage::masterSlaveDeterminationReject(
                        MasterSlaveDeterminationReject::new(
                            MasterSlaveDeterminationRejectCause::identicalNumbers(()),
                        ),
                    ),
                );
                self.push(&rej);
                self.retry_msd();
            }
        }
    }

    fn retry_msd(&mut self) {
        if self.msd_retries >= MSD_RETRIES {
            debug!("master/slave determination failed after retries");
            self.msd = Msd::Idle;
            return;
        }
        self.msd_retries += 1;
        self.sdn = (splitmix(&mut self.rng) & 0xFF_FFFF) as u32;
        self.send_msd();
    }

    fn peer_open(&mut self, olc: &OpenLogicalChannel) {
        let lcn = olc.forward_logical_channel_number.0;
        let reject = |this: &mut Self, cause| {
            let rej = MultimediaSystemControlMessage::response(
                ResponseMessage::openLogicalChannelReject(OpenLogicalChannelReject::new(
                    LogicalChannelNumber(lcn),
                    cause,
                    None,
                )),
            );
            this.push(&rej);
        };
        if olc.reverse_logical_channel_parameters.is_some() {
            reject(
                self,
                OpenLogicalChannelRejectCause::unsuitableReverseParameters(()),
            );
            return;
        }
        let codec = match &olc.forward_logical_channel_parameters.data_type {
            DataType::audioData(cap) => codec_of(cap).map(|(c, _, _)| c),
            _ => None,
        };
        let Some(codec) = codec else {
            reject(
                self,
                OpenLogicalChannelRejectCause::dataTypeNotSupported(()),
            );
            return;
        };
        self.peer = Some(PeerChannel {
            lcn,
            codec,
            acked: false,
        });
    }

    fn our_open_acked(&mut self, ack: &OpenLogicalChannelAck) {
        if ack.forward_logical_channel_number.0 != OUR_AUDIO_LCN {
            return;
        }
        let OurChannel::Proposed { codec } = &self.ours else {
            return;
        };
        self.timers[Timer::T103.index()] = Deadline::Off;
        let params = match &ack.forward_multiplex_ack_parameters {
            Some(
                OpenLogicalChannelAckForwardMultiplexAckParameters::h2250LogicalChannelAckParameters(
                    p,
                ),
            ) => Some(p),
            _ => None,
        };
        let peer_rtp = params
            .and_then(|p| p.media_channel.as_ref())
            .and_then(socket_addr);
        let peer_rtcp = params
            .and_then(|p| p.media_control_channel.as_ref())
            .and_then(socket_addr);
        self.ours = match peer_rtp {
            Some(peer_rtp) => OurChannel::Open {
                codec: codec.clone(),
                peer_rtp,
                peer_rtcp,
            },
            None => {
                debug!("OpenLogicalChannelAck without mediaChannel");
                OurChannel::Refused
            }
        };
    }

    /// Moves slow start on as far as the state allows.
    fn progress(&mut self) {
        // Acknowledge the peer's channel once we know where we receive.
        let ack = match (self.peer.as_mut(), self.local.as_ref()) {
            (Some(p), Some(l)) if !p.acked => {
                p.acked = true;
                Some(open_logical_channel_ack(
                    p.lcn,
                    AUDIO_SESSION,
                    l.rtp,
                    l.rtcp,
                ))
            }
            _ => None,
        };
        if let Some(ack) = ack {
            self.push(&ack);
        }
        if (self.slow_start || self.reopen)
            && !self.paused_by_peer
            && self.ours == OurChannel::Closed
            && self.tcs_acked
            && self.is_master().is_some()
            && let (Some(caps), Some(l)) = (self.peer_caps.clone(), self.local.clone())
        {
            let chosen = l
                .codecs
                .iter()
                .find(|c| caps.iter().any(|k| same_codec(k, c)))
                .or_else(|| {
                    caps.iter()
                        .find(|k| audio_codec_for(k, DEFAULT_PTIME_MS).is_some())
                })
                .cloned();
            match chosen.and_then(|c| audio_codec_for(&c, DEFAULT_PTIME_MS).map(|a| (c, a))) {
                Some((codec, cap)) => {
                    let ch = AudioChannel {
                        logical_channel: OUR_AUDIO_LCN,
                        codec: cap,
                        session_id: AUDIO_SESSION,
                        media_channel: None,
                        media_control_channel: Some(l.rtcp),
                        silence_suppression: false,
                    };
                    let msg = open_logical_channel(audio_open_logical_channel(&ch));
                    self.push(&msg);
                    self.start_timer(Timer::T103);
                    self.reopen = false;
                    // Our payload type for the codec when the call core named one.
                    let payload_type = l
                        .codecs
                        .iter()
                        .find(|k| same_codec(k, &codec))
                        .map_or(codec.payload_type, |k| k.payload_type);
                    self.ours = OurChannel::Proposed {
                        codec: Codec {
                            payload_type,
                            ..codec
                        },
                    };
                }
                None => {
                    debug!("no audio codec in common with the peer's capabilities");
                    self.ours = OurChannel::Refused;
                }
            }
        }
        if !self.media_reported
            && let OurChannel::Open {
                codec,
                peer_rtp,
                peer_rtcp,
            } = &self.ours
            && let Some(p) = self.peer.as_ref().filter(|p| p.acked)
        {
            let mut codecs = vec![codec.clone()];
            if !same_codec(codec, &p.codec) {
                codecs.push(p.codec.clone());
            }
            self.media_reported = true;
            self.events.push_back(H245Event::Media(Media {
                rtp: Some(*peer_rtp),
                rtcp: *peer_rtcp,
                codecs,
                ptime: Some(DEFAULT_PTIME_MS),
                direction: MediaDirection::SendRecv,
            }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn determination_follows_annex_c() {
        assert_eq!(determine(60, 5, 50, 9), Some(true), "higher type wins");
        assert_eq!(determine(50, 5, 60, 9), Some(false));
        assert_eq!(determine(60, 5, 60, 5), None);
        assert_eq!(determine(60, 0, 60, 0x80_0000), None);
        // (their - ours) mod 2^24 below 2^23: we are master.
        assert_eq!(determine(60, 5, 60, 9), Some(true));
        assert_eq!(determine(60, 9, 60, 5), Some(false));
        assert_eq!(determine(60, 0xFF_FFFF, 60, 1), Some(true));
    }

    fn enc(m: &MultimediaSystemControlMessage) -> Vec<u8> {
        h245::encode(m).expect("encodes")
    }

    fn drain(c: &mut H245Control) -> Vec<MultimediaSystemControlMessage> {
        std::iter::from_fn(|| c.poll_transmit())
            .map(|b| h245::decode(&b).expect("our own message decodes"))
            .collect()
    }

    /// Two control channels talking to each other until both are quiet.
    fn pump(a: &mut H245Control, b: &mut H245Control) {
        for _ in 0..20 {
            let ab: Vec<_> = std::iter::from_fn(|| a.poll_transmit()).collect();
            let ba: Vec<_> = std::iter::from_fn(|| b.poll_transmit()).collect();
            if ab.is_empty() && ba.is_empty() {
                return;
            }
            ab.iter().for_each(|m| b.handle(m));
            ba.iter().for_each(|m| a.handle(m));
        }
        panic!("H.245 exchange does not settle");
    }

    fn pcma() -> Codec {
        Codec {
            name: CodecName::Pcma,
            clock_rate: 8000,
            channels: 1,
            payload_type: 8,
            fmtp: None,
        }
    }

    #[test]
    fn two_sides_settle_on_slow_start_media() {
        let mut a = H245Control::new(1);
        let mut b = H245Control::new(2);
        let a_rtp: SocketAddr = "192.0.2.1:4000".parse().expect("addr");
        let b_rtp: SocketAddr = "198.51.100.2:6000".parse().expect("addr");
        a.set_local(a_rtp, None, &[pcma()]);
        b.set_local(b_rtp, None, &[pcma()]);
        a.enable_slow_start();
        b.enable_slow_start();
        a.start(&[pcma()]);
        b.start(&[]);
        pump(&mut a, &mut b);
        let (ma, mb) = (a.is_master().expect("done"), b.is_master().expect("done"));
        assert_ne!(ma, mb, "one master, one slave");
        let media_a = std::iter::from_fn(|| a.poll_event()).find_map(|e| match e {
            H245Event::Media(m) => Some(m),
            _ => None,
        });
        let media_a = media_a.expect("a has media");
        assert_eq!(media_a.rtp, Some(b_rtp));
        assert_eq!(
            media_a.rtcp,
            Some("198.51.100.2:6001".parse().expect("addr"))
        );
        assert_eq!(media_a.codecs, vec![pcma()]);
        assert!(
            std::iter::from_fn(|| b.poll_event())
                .any(|e| matches!(e, H245Event::Media(m) if m.rtp == Some(a_rtp)))
        );
    }

    /// H.323 §8.4.6 between two of ours on slow start: A pauses B with an empty
    /// capability set (B closes its channel, A's stays), A resumes, B starts over and
    /// reopens; both report their media again and nothing is left unanswered.
    #[test]
    fn third_party_pause_closes_and_resume_reopens_the_channel() {
        let mut a = H245Control::new(1);
        let mut b = H245Control::new(2);
        let a_rtp: SocketAddr = "192.0.2.1:4000".parse().expect("addr");
        let b_rtp: SocketAddr = "198.51.100.2:6000".parse().expect("addr");
        a.set_local(a_rtp, None, &[pcma()]);
        b.set_local(b_rtp, None, &[pcma()]);
        a.enable_slow_start();
        b.enable_slow_start();
        a.start(&[pcma()]);
        b.start(&[pcma()]);
        pump(&mut a, &mut b);
        std::iter::from_fn(|| a.poll_event()).for_each(drop);
        std::iter::from_fn(|| b.poll_event()).for_each(drop);

        assert!(a.pause());
        assert!(!a.pause(), "one pause at a time");
        let sent = drain(&mut a);
        let MultimediaSystemControlMessage::request(RequestMessage::terminalCapabilitySet(tcs)) =
            &sent[0]
        else {
            panic!("{sent:?}");
        };
        assert!(tcs.capability_table.is_none() && tcs.multiplex_capability.is_none());
        sent.iter().for_each(|m| b.handle(&enc(m)));
        assert!(b.paused_by_peer());
        let b_events: Vec<_> = std::iter::from_fn(|| b.poll_event()).collect();
        assert_eq!(b_events, [H245Event::Paused]);
        let b_sent = drain(&mut b);
        assert!(b_sent.iter().any(|m| matches!(
            m,
            MultimediaSystemControlMessage::request(RequestMessage::closeLogicalChannel(c))
                if c.forward_logical_channel_number.0 == OUR_AUDIO_LCN
        )));
        b_sent.iter().for_each(|m| a.handle(&enc(m)));
        pump(&mut a, &mut b);
        assert_eq!(
            a.timers,
            [Deadline::Off; 3],
            "the empty set was acknowledged"
        );

        assert!(a.resume());
        pump(&mut a, &mut b);
        assert!(!b.paused_by_peer());
        let b_events: Vec<_> = std::iter::from_fn(|| b.poll_event()).collect();
        assert_eq!(b_events[0], H245Event::Resumed, "{b_events:?}");
        assert!(
            b_events
                .iter()
                .any(|e| matches!(e, H245Event::Media(m) if m.rtp == Some(a_rtp))),
            "B reopened and reports A's address: {b_events:?}"
        );
        assert!(
            std::iter::from_fn(|| a.poll_event())
                .any(|e| matches!(e, H245Event::Media(m) if m.rtp == Some(b_rtp))),
            "A sees B's channel again"
        );
        assert!(a.is_master().is_some() && b.is_master().is_some());
        a.arm(Instant::now());
        b.arm(Instant::now());
        assert_eq!(a.poll_timeout(), None, "no procedure left open on A");
        assert_eq!(b.poll_timeout(), None, "no procedure left open on B");
    }

    #[test]
    fn response_timers_follow_annex_c() {
        let now = Instant::now();
        let mut c = H245Control::new(5);
        c.set_local("192.0.2.1:4000".parse().expect("addr"), None, &[pcma()]);
        c.enable_slow_start();
        c.start(&[pcma()]);
        assert_eq!(c.poll_timeout(), None, "deadlines come with arm");
        c.arm(now);
        assert_eq!(c.poll_timeout(), Some(now + RESPONSE_TIMEOUT));
        drain(&mut c);
        c.handle_timeout(now + RESPONSE_TIMEOUT - Duration::from_millis(1));
        assert!(!c.has_transmit());
        c.handle_timeout(now + RESPONSE_TIMEOUT);
        let sent = drain(&mut c);
        assert!(sent.iter().any(|m| matches!(
            m,
            MultimediaSystemControlMessage::indication(
                IndicationMessage::terminalCapabilitySetRelease(_)
            )
        )));
        assert!(sent.iter().any(|m| matches!(
            m,
            MultimediaSystemControlMessage::indication(
                IndicationMessage::masterSlaveDeterminationRelease(_)
            )
        )));
        let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
        assert_eq!(
            events,
            vec![
                H245Event::Timeout(Timer::T101),
                H245Event::Timeout(Timer::T106)
            ]
        );
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(c.is_master(), None, "determination back to idle");
    }

    #[test]
    fn answered_procedures_stop_their_timers_and_t103_closes() {
        let now = Instant::now();
        let mut a = H245Control::new(1);
        let mut b = H245Control::new(2);
        a.set_local("192.0.2.1:4000".parse().expect("addr"), None, &[pcma()]);
        b.set_local("198.51.100.2:6000".parse().expect("addr"), None, &[pcma()]);
        a.enable_slow_start();
        b.enable_slow_start();
        a.start(&[pcma()]);
        b.start(&[]);
        a.arm(now);
        b.arm(now);
        pump(&mut a, &mut b);
        a.arm(now);
        b.arm(now);
        assert_eq!(a.poll_timeout(), None, "everything answered");
        assert_eq!(b.poll_timeout(), None);

        // A peer that exchanges capabilities but never answers our channel: T103.
        let mut c = H245Control::new(3);
        let mut d = H245Control::new(4);
        c.set_local("192.0.2.1:4000".parse().expect("addr"), None, &[pcma()]);
        c.enable_slow_start();
        c.start(&[pcma()]);
        d.start(&[pcma()]);
        for _ in 0..5 {
            let cd: Vec<_> = std::iter::from_fn(|| c.poll_transmit()).collect();
            let dc: Vec<_> = std::iter::from_fn(|| d.poll_transmit()).collect();
            // d drops c's OpenLogicalChannel on the floor.
            for m in cd {
                if !matches!(
                    h245::decode(&m),
                    Ok(MultimediaSystemControlMessage::request(
                        RequestMessage::openLogicalChannel(_)
                    ))
                ) {
                    d.handle(&m);
                }
            }
            dc.iter().for_each(|m| c.handle(m));
        }
        c.arm(now);
        assert_eq!(c.poll_timeout(), Some(now + RESPONSE_TIMEOUT));
        c.handle_timeout(now + RESPONSE_TIMEOUT);
        let sent = drain(&mut c);
        assert!(sent.iter().any(|m| matches!(
            m,
            MultimediaSystemControlMessage::request(RequestMessage::closeLogicalChannel(clc))
                if clc.forward_logical_channel_number.0 == OUR_AUDIO_LCN
                    && clc.source == CloseLogicalChannelSource::lcse(())
        )));
        assert!(
            std::iter::from_fn(|| c.poll_event()).any(|e| e == H245Event::Timeout(Timer::T103))
        );
        assert!(!c.media_done());
    }

    #[test]
    fn request_mode_is_refused_and_unknown_requests_get_function_not_supported() {
        use h323_asn1::h245::{
            AudioMode, ModeDescription, ModeElement, ModeElementType, RequestMode, SequenceNumber,
        };
        let mut c = H245Control::new(3);
        let _ = drain(&mut c);
        let element = ModeElement::new(
            ModeElementType::audioMode(AudioMode::g711Alaw64k(())),
            None,
            None,
            None,
            None,
            None,
            None,
        );
        let rm = MultimediaSystemControlMessage::request(RequestMessage::requestMode(
            RequestMode::new(SequenceNumber(4), vec![ModeDescription(vec![element])]),
        ));
        c.handle(&enc(&rm));
        let out = drain(&mut c);
        assert!(
            out.iter().any(|m| matches!(
                m,
                MultimediaSystemControlMessage::response(ResponseMessage::requestModeReject(r))
                    if r.sequence_number.0 == 4
                        && r.cause == RequestModeRejectCause::modeUnavailable(())
            )),
            "{out:?}"
        );
    }

    #[test]
    fn user_input_and_housekeeping() {
        let mut c = H245Control::new(3);
        assert!(!c.user_input('5'), "not before the session starts");
        let uii = h245::build::user_input_signal('7', Some(120)).expect("a digit");
        c.handle(&enc(&uii));
        c.handle(&enc(&user_input_alphanumeric("1#")));
        let events: Vec<_> = std::iter::from_fn(|| c.poll_event()).collect();
        assert_eq!(
            events,
            vec![
                H245Event::Dtmf {
                    digit: '7',
                    duration_ms: 120
                },
                H245Event::Dtmf {
                    digit: '1',
                    duration_ms: 0
                },
                H245Event::Dtmf {
                    digit: '#',
                    duration_ms: 0
                },
            ]
        );
        assert!(c.user_input('9'));
        c.handle(b"\xff\xff");
        assert_eq!(c.poll_event(), Some(H245Event::DecodeError));
        // A video channel is refused.
        let mut olc = audio_open_logical_channel(&AudioChannel {
            logical_channel: 7,
            codec: h245::build::AudioCodec::G711Alaw { frames: 20 },
            session_id: 2,
            media_channel: None,
            media_control_channel: None,
            silence_suppression: false,
        });
        olc.forward_logical_channel_parameters.data_type = DataType::nullData(());
        c.handle(&enc(&open_logical_channel(olc)));
        c.handle(&enc(&end_session()));
        let sent = drain(&mut c);
        assert!(sent.iter().any(|m| matches!(
            m,
            MultimediaSystemControlMessage::response(ResponseMessage::openLogicalChannelReject(r))
                if r.forward_logical_channel_number.0 == 7
        )));
        assert!(sent.iter().any(|m| matches!(
            m,
            MultimediaSystemControlMessage::command(CommandMessage::endSessionCommand(_))
        )));
        assert_eq!(c.poll_event(), Some(H245Event::EndSession));
    }
}
