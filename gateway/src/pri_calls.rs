//! The ISDN PRI legs of the gateway: one [`PriStack`] (Q.921 + Q.931, crate `tdm`) per
//! `kind: pri` trunk, and the translation between its calls and the neutral call model
//! (`mapping::q931::translate`, the same tables H.225.0 uses).
//!
//! Sans-IO like the other legs: the shell feeds D-channel frames in
//! ([`PriCalls::handle_frame`]) and sends the ones that come out
//! ([`PriOutput::Transmit`]); time comes in as `now`.
//!
//! The media of a PRI call is its B-channel. The shell frames each B-channel's G.711
//! into RTP on a loopback socket of its own (the bearer bridge), whose address it
//! reports with [`PriCalls::set_bearers`]; to the call core a PRI leg is then an RTP
//! peer at that address speaking the span's law, offered in an incoming SETUP and
//! answered with an outgoing call's first ALERTING, PROGRESS or CONNECT.

use crate::config::{Config, PriSide, PriSwitch, TrunkParams};
use mapping::cause::{Cause, Location, Q850Cause};
use mapping::model::{
    CallEvent, Codec, CodecName, Initiator, Media, MediaDirection, MediaExchange, Release, Setup,
};
use mapping::q931::ies::Layer1Protocol;
use mapping::q931::translate::{self, Outgoing};
use mapping::q931::{CallReference, Dialect, MessageType};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Instant;
use tdm::pri::{CallId, PriError, PriEvent, PriStack, StackOutput, Variant};
use tdm::q921;
use tracing::{debug, info};

/// One PRI call leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PriLegId(pub u64);

impl std::fmt::Display for PriLegId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "pri-{}", self.0)
    }
}

/// What the PRI legs hand out.
#[derive(Debug, Clone, PartialEq)]
pub enum PriOutput {
    /// A LAPD frame (from the address octet, no FCS) for the trunk's D-channel.
    Transmit {
        /// The trunk.
        trunk: String,
        /// The frame.
        frame: Vec<u8>,
    },
    /// A call came in on `trunk`; its media is the B-channel's bearer (when known).
    Incoming {
        /// The new leg.
        leg: PriLegId,
        /// The trunk.
        trunk: String,
        /// The call.
        setup: Box<Setup>,
    },
    /// A call event of a leg.
    Event {
        /// The leg.
        leg: PriLegId,
        /// The event.
        event: CallEvent,
    },
    /// The leg holds this B-channel (an incoming call's at once, an outgoing call's when
    /// the network's first answer names it): the shell connects its bearer.
    Channel {
        /// The leg.
        leg: PriLegId,
        /// The trunk.
        trunk: String,
        /// The B-channel.
        channel: u8,
    },
    /// The leg is over and forgotten (its B-channel is free again).
    Gone {
        /// The leg.
        leg: PriLegId,
        /// The trunk.
        trunk: String,
        /// The B-channel it held.
        channel: Option<u8>,
    },
    /// The trunk's data link came up or went down.
    Link {
        /// The trunk.
        trunk: String,
        /// Up (multiple frame established) or down.
        up: bool,
    },
}

#[derive(Debug)]
struct Trunk {
    stack: PriStack,
    /// What the stack was made from, to make it again when the span restarts.
    link_cfg: q921::Config,
    l3_cfg: tdm::pri::Config,
    law: Layer1Protocol,
    up: bool,
    /// The span carries frames (its far end is there): what the stack sends while it
    /// does not goes nowhere and is dropped here, unsent and uncaptured.
    span_up: bool,
    /// The bearer bridge's RTP address of each B-channel.
    bearers: HashMap<u8, SocketAddr>,
}

#[derive(Debug)]
struct Leg {
    trunk: String,
    call: CallId,
    incoming: bool,
    channel: Option<u8>,
    /// The answer (our bearer) went to the call core.
    media_sent: bool,
    /// We released it: the interface's `Cleared` is ours, not news.
    released: bool,
}

/// All PRI legs.
#[derive(Debug, Default)]
pub struct PriCalls {
    trunks: HashMap<String, Trunk>,
    legs: HashMap<PriLegId, Leg>,
    by_call: HashMap<(String, CallId), PriLegId>,
    next: u64,
    out: VecDeque<PriOutput>,
}

/// A cause the gateway generates, located in the private network serving the local
/// user (Q.850 §2.2.5, as the H.323 leg says it).
fn gateway_cause(value: Q850Cause) -> Cause {
    Cause {
        value,
        location: Location::PRIVATE_LOCAL,
    }
}

/// The `tdm` variant of a configured switch type.
fn variant(s: PriSwitch) -> Variant {
    match s {
        PriSwitch::Euroisdn => Variant::EUROISDN,
        PriSwitch::Ni2 => Variant::NI2,
        PriSwitch::Qsig => Variant::QSIG,
    }
}

impl PriCalls {
    /// A stack per `kind: pri` trunk of `cfg`, each asking for its data link.
    pub fn new(now: Instant, cfg: &Config) -> Self {
        let mut calls = PriCalls::default();
        for t in &cfg.trunks {
            let TrunkParams::Pri(p) = &t.params else {
                continue;
            };
            let Some(span) = cfg.span(&p.span) else {
                continue;
            };
            let side = match p.side {
                PriSide::Network => q921::Side::Network,
                PriSide::User => q921::Side::User,
            };
            let e1 = span.line == crate::config::SpanType::E1;
            let mut l3 = if e1 {
                tdm::pri::Config::e1(side, variant(p.switch))
            } else {
                tdm::pri::Config::t1(side, variant(p.switch))
            };
            if let Some(set) = &p.channels {
                l3.channels = set
                    .numbers()
                    .iter()
                    .filter_map(|&n| u8::try_from(n).ok())
                    .filter(|&n| n != span.signalling_timeslot() as u8)
                    .collect();
            }
            let ulaw = match p.law {
                Some(crate::config::Law::Ulaw) => true,
                Some(crate::config::Law::Alaw) => false,
                None => !e1,
            };
            let link_cfg = q921::Config::pri(side);
            let stack = PriStack::new(now, link_cfg, l3.clone());
            calls.trunks.insert(
                t.name.clone(),
                Trunk {
                    stack,
                    link_cfg,
                    l3_cfg: l3,
                    law: if ulaw {
                        Layer1Protocol::G711_ULAW
                    } else {
                        Layer1Protocol::G711_ALAW
                    },
                    up: false,
                    span_up: false,
                    bearers: HashMap::new(),
                },
            );
        }
        calls.drain_all(now);
        calls
    }

    /// Whether `trunk` is a PRI trunk of this gateway.
    pub fn has_trunk(&self, trunk: &str) -> bool {
        self.trunks.contains_key(trunk)
    }

    /// Whether the trunk's data link is up.
    pub fn link_up(&self, trunk: &str) -> bool {
        self.trunks.get(trunk).is_some_and(|t| t.up)
    }

    /// The span under `trunk` came up (a far end connected, the line synchronised) or
    /// went down. Either way the D-channel starts over: calls on the trunk are cleared
    /// with cause 38 (network out of order) and a fresh data link asks for multiple
    /// frame operation (SABME) at once, rather than after T200 runs out on frames
    /// that went nowhere. A span starts down: frames are sent only while it is up.
    pub fn span_state(&mut self, now: Instant, trunk: &str, up: bool) {
        let Some(t) = self.trunks.get_mut(trunk) else {
            return;
        };
        t.stack = PriStack::new(now, t.link_cfg, t.l3_cfg.clone());
        t.span_up = up;
        let was_up = std::mem::replace(&mut t.up, false);
        let gone: Vec<PriLegId> = self
            .legs
            .iter()
            .filter(|(_, l)| l.trunk == trunk)
            .map(|(id, _)| *id)
            .collect();
        for leg in gone {
            let Some(l) = self.legs.remove(&leg) else {
                continue;
            };
            self.by_call.remove(&(l.trunk.clone(), l.call));
            if !l.released {
                self.out.push_back(PriOutput::Event {
                    leg,
                    event: CallEvent::Release(Release {
                        cause: gateway_cause(Q850Cause::NETWORK_OUT_OF_ORDER),
                        initiator: Initiator::Gateway,
                        sip_status: None,
                    }),
                });
            }
            self.out.push_back(PriOutput::Gone {
                leg,
                trunk: trunk.to_owned(),
                channel: l.channel,
            });
        }
        if was_up {
            self.out.push_back(PriOutput::Link {
                trunk: trunk.to_owned(),
                up: false,
            });
        }
        debug!(trunk, up, "span state");
        self.drain(now, trunk);
    }

    /// The bearer bridge's RTP address of each B-channel of `trunk`.
    pub fn set_bearers(&mut self, trunk: &str, bearers: HashMap<u8, SocketAddr>) {
        if let Some(t) = self.trunks.get_mut(trunk) {
            t.bearers = bearers;
        }
    }

    /// A leg's identification for records: trunk, B-channel and call reference.
    pub fn call_id_of(&self, leg: PriLegId) -> Option<String> {
        let l = self.legs.get(&leg)?;
        let channel = l.channel.map_or_else(|| "-".to_owned(), |c| c.to_string());
        Some(format!("{}/{}/{}", l.trunk, channel, l.call.crv))
    }

    /// The trunk and B-channel of a leg.
    pub fn channel_of(&self, leg: PriLegId) -> Option<(&str, u8)> {
        let l = self.legs.get(&leg)?;
        Some((l.trunk.as_str(), l.channel?))
    }

    /// One D-channel frame (from the address octet, FCS removed) from `trunk`.
    pub fn handle_frame(&mut self, now: Instant, trunk: &str, frame: &[u8]) {
        let Some(t) = self.trunks.get_mut(trunk) else {
            return;
        };
        if let Err(e) = t.stack.handle_frame(now, frame) {
            debug!(trunk, error = %e, "D-channel frame refused");
        }
        self.drain(now, trunk);
    }

    /// The next deadline of any trunk.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.trunks
            .values()
            .filter_map(|t| t.stack.poll_timeout())
            .min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let due: Vec<String> = self
            .trunks
            .iter()
            .filter(|(_, t)| t.stack.poll_timeout().is_some_and(|d| d <= now))
            .map(|(n, _)| n.clone())
            .collect();
        for name in due {
            if let Some(t) = self.trunks.get_mut(&name) {
                t.stack.handle_timeout(now);
            }
            self.drain(now, &name);
        }
    }

    /// The next output.
    pub fn poll_output(&mut self) -> Option<PriOutput> {
        self.out.pop_front()
    }

    /// A sent frame's buffer, back for reuse.
    pub fn recycle(&mut self, trunk: &str, frame: Vec<u8>) {
        if let Some(t) = self.trunks.get_mut(trunk) {
            t.stack.recycle(frame);
        }
    }

    fn outgoing_ctx(law: Layer1Protocol) -> Outgoing {
        Outgoing {
            dialect: Dialect::Q931,
            // The interface sets the real call reference.
            call_ref: CallReference::dummy(),
            speech_law: law,
            location: Location::PRIVATE_LOCAL,
        }
    }

    /// Places a call on `trunk`. A trunk whose link is down refuses with cause 38
    /// (network out of order), one without an idle B-channel with 34 (no circuit).
    pub fn outgoing(
        &mut self,
        now: Instant,
        trunk: &str,
        setup: &Setup,
    ) -> Result<PriLegId, Release> {
        let refuse = |cause: Q850Cause| Release {
            cause: gateway_cause(cause),
            initiator: Initiator::Gateway,
            sip_status: None,
        };
        let Some(t) = self.trunks.get_mut(trunk) else {
            return Err(refuse(Q850Cause::NETWORK_OUT_OF_ORDER));
        };
        if !t.up {
            return Err(refuse(Q850Cause::NETWORK_OUT_OF_ORDER));
        }
        let ctx = Self::outgoing_ctx(t.law);
        let msg = match translate::from_event(&CallEvent::Setup(Box::new(setup.clone())), &ctx) {
            Ok(Some(m)) => m,
            Ok(None) | Err(_) => return Err(refuse(Q850Cause::INVALID_NUMBER_FORMAT)),
        };
        let call = t.stack.l3.setup(now, msg, None).map_err(|e| match e {
            PriError::NoChannel | PriError::ChannelUnavailable(_) => {
                refuse(Q850Cause::NO_CIRCUIT_AVAILABLE)
            }
            _ => refuse(Q850Cause::TEMPORARY_FAILURE),
        })?;
        let channel = t.stack.l3.call_channel(call);
        let leg = self.new_leg(trunk, call, false, channel);
        self.drain(now, trunk);
        Ok(leg)
    }

    fn new_leg(
        &mut self,
        trunk: &str,
        call: CallId,
        incoming: bool,
        channel: Option<u8>,
    ) -> PriLegId {
        self.next += 1;
        let leg = PriLegId(self.next);
        self.legs.insert(
            leg,
            Leg {
                trunk: trunk.to_owned(),
                call,
                incoming,
                channel,
                media_sent: false,
                released: false,
            },
        );
        self.by_call.insert((trunk.to_owned(), call), leg);
        leg
    }

    /// A call event from the call core for `leg`.
    pub fn send(&mut self, now: Instant, leg: PriLegId, event: CallEvent) {
        let Some(l) = self.legs.get_mut(&leg) else {
            return;
        };
        let trunk = l.trunk.clone();
        let call = l.call;
        let Some(t) = self.trunks.get_mut(&trunk) else {
            return;
        };
        match event {
            CallEvent::Release(r) => {
                if l.released {
                    return;
                }
                l.released = true;
                if let Err(e) = t.stack.l3.release(now, call, r.cause) {
                    debug!(%leg, error = %e, "release of a call the interface no longer has");
                }
            }
            // The bearer is fixed: media changes and hold stay on the other leg.
            CallEvent::Media(_) | CallEvent::Hold | CallEvent::Resume | CallEvent::Setup(_) => {
                return;
            }
            // An outgoing call's answers come from the network, not from us.
            CallEvent::Proceeding
            | CallEvent::Alerting(_)
            | CallEvent::Progress(_)
            | CallEvent::Connect { .. }
                if !l.incoming =>
            {
                return;
            }
            other => {
                let ctx = Self::outgoing_ctx(t.law);
                match translate::from_event(&other, &ctx) {
                    Ok(Some(msg)) => {
                        if let Err(e) = t.stack.l3.send(now, call, msg) {
                            debug!(%leg, error = %e, "call event not sent");
                        }
                    }
                    Ok(None) => {}
                    Err(e) => debug!(%leg, error = %e, "call event has no Q.931 form"),
                }
            }
        }
        self.drain(now, &trunk);
    }

    fn drain_all(&mut self, now: Instant) {
        let names: Vec<String> = self.trunks.keys().cloned().collect();
        for n in names {
            self.drain(now, &n);
        }
    }

    /// The bearer of `channel` on `trunk` as an RTP peer speaking the span's law.
    fn bearer_media(&self, trunk: &str, channel: Option<u8>) -> Option<Media> {
        let t = self.trunks.get(trunk)?;
        let rtp = *t.bearers.get(&channel?)?;
        let (name, pt) = if t.law == Layer1Protocol::G711_ULAW {
            (CodecName::Pcmu, 0)
        } else {
            (CodecName::Pcma, 8)
        };
        Some(Media {
            rtp: Some(rtp),
            rtcp: None,
            codecs: vec![Codec {
                name,
                clock_rate: 8000,
                channels: 1,
                payload_type: pt,
                fmtp: None,
            }],
            ptime: Some(20),
            direction: MediaDirection::SendRecv,
        })
    }

    /// Moves the trunk's stack outputs out (after moving what layer 3 was asked to send
    /// down to layer 2).
    fn drain(&mut self, now: Instant, trunk: &str) {
        if let Some(t) = self.trunks.get_mut(trunk) {
            t.stack.pump(now);
        }
        loop {
            let Some(o) = self
                .trunks
                .get_mut(trunk)
                .and_then(|t| t.stack.poll_output())
            else {
                return;
            };
            match o {
                StackOutput::Transmit(frame) => {
                    if self.trunks.get(trunk).is_some_and(|t| t.span_up) {
                        self.out.push_back(PriOutput::Transmit {
                            trunk: trunk.to_owned(),
                            frame,
                        });
                    }
                }
                StackOutput::Link(e) => debug!(trunk, event = ?e, "D-channel"),
                StackOutput::Event(e) => self.event(now, trunk, e),
            }
        }
    }

    fn event(&mut self, now: Instant, trunk: &str, e: PriEvent) {
        match e {
            PriEvent::LinkUp | PriEvent::LinkDown => {
                let up = e == PriEvent::LinkUp;
                if let Some(t) = self.trunks.get_mut(trunk) {
                    t.up = up;
                }
                info!(trunk, up, "PRI data link");
                self.out.push_back(PriOutput::Link {
                    trunk: trunk.to_owned(),
                    up,
                });
            }
            PriEvent::Incoming {
                call,
                channel,
                setup,
            } => {
                let mut s = match translate::to_event(&setup, Initiator::Caller) {
                    Ok(Some(CallEvent::Setup(s))) => s,
                    other => {
                        // §5.8.5/Table 5-1: what the SETUP lacks is the release cause.
                        let cause = match other {
                            Err(e) => e.cause(),
                            _ => Q850Cause::INVALID_MESSAGE,
                        };
                        if let Some(t) = self.trunks.get_mut(trunk) {
                            let _ = t.stack.l3.release(now, call, gateway_cause(cause));
                        }
                        return;
                    }
                };
                s.media = self.bearer_media(trunk, Some(channel));
                let leg = self.new_leg(trunk, call, true, Some(channel));
                self.out.push_back(PriOutput::Channel {
                    leg,
                    trunk: trunk.to_owned(),
                    channel,
                });
                self.out.push_back(PriOutput::Incoming {
                    leg,
                    trunk: trunk.to_owned(),
                    setup: s,
                });
            }
            PriEvent::Channel { call, channel } => {
                let Some(&leg) = self.by_call.get(&(trunk.to_owned(), call)) else {
                    return;
                };
                if let Some(l) = self.legs.get_mut(&leg) {
                    l.channel = Some(channel);
                }
                self.out.push_back(PriOutput::Channel {
                    leg,
                    trunk: trunk.to_owned(),
                    channel,
                });
            }
            PriEvent::Message { call, message } => {
                let Some(&leg) = self.by_call.get(&(trunk.to_owned(), call)) else {
                    return;
                };
                let Some(l) = self.legs.get(&leg) else {
                    return;
                };
                // Clearing is reported once, by `Cleared`.
                if matches!(
                    message.msg_type,
                    MessageType::DISCONNECT | MessageType::RELEASE | MessageType::RELEASE_COMPLETE
                ) {
                    return;
                }
                let sender = if l.incoming {
                    Initiator::Caller
                } else {
                    Initiator::Callee
                };
                let mut event = match translate::to_event(&message, sender) {
                    Ok(Some(ev)) => ev,
                    _ => return,
                };
                // An outgoing call's bearer: the answer with the first of ALERTING,
                // PROGRESS or CONNECT (the B-channel carries in-band tones from then on).
                if !l.incoming && !l.media_sent {
                    let media = self.bearer_media(trunk, l.channel);
                    let attached = match (&mut event, media) {
                        (CallEvent::Alerting(p) | CallEvent::Progress(p), Some(m)) => {
                            p.media = Some(MediaExchange::Answer(m));
                            true
                        }
                        (CallEvent::Connect { media, .. }, Some(m)) => {
                            *media = Some(MediaExchange::Answer(m));
                            true
                        }
                        _ => false,
                    };
                    if attached && let Some(l) = self.legs.get_mut(&leg) {
                        l.media_sent = true;
                    }
                }
                self.out.push_back(PriOutput::Event { leg, event });
            }
            PriEvent::Cleared {
                call,
                cause,
                by_peer,
            } => {
                let Some(&leg) = self.by_call.get(&(trunk.to_owned(), call)) else {
                    return;
                };
                let Some(l) = self.legs.get_mut(&leg) else {
                    return;
                };
                if l.released {
                    return;
                }
                l.released = true;
                let initiator = match (by_peer, l.incoming) {
                    (false, _) => Initiator::Gateway,
                    (true, true) => Initiator::Caller,
                    (true, false) => Initiator::Callee,
                };
                self.out.push_back(PriOutput::Event {
                    leg,
                    event: CallEvent::Release(Release {
                        cause,
                        initiator,
                        sip_status: None,
                    }),
                });
            }
            PriEvent::Idle { call, channel } => {
                let Some(leg) = self.by_call.remove(&(trunk.to_owned(), call)) else {
                    return;
                };
                self.legs.remove(&leg);
                self.out.push_back(PriOutput::Gone {
                    leg,
                    trunk: trunk.to_owned(),
                    channel,
                });
            }
            // Overlap receiving is not offered (calls are routed en bloc), so digits
            // that stop coming leave the number incomplete: cause 28 (§5.2.4).
            PriEvent::DigitsTimeout { call } => {
                if let Some(t) = self.trunks.get_mut(trunk) {
                    let c = gateway_cause(Q850Cause::INVALID_NUMBER_FORMAT);
                    let _ = t.stack.l3.release(now, call, c);
                }
            }
            PriEvent::Status { .. }
            | PriEvent::Restarted { .. }
            | PriEvent::RestartAcknowledged { .. }
            | PriEvent::Maintenance { .. } => debug!(trunk, event = ?e, "PRI interface"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mapping::number::{Digits, PartyNumber};
    use std::time::Duration;

    const CONFIG: &str = "\
listeners:
  sip:
    - { transport: udp, address: \"127.0.0.1:5060\" }
metrics:
  listen: \"127.0.0.1:9464\"
spans:
  - name: e1a
    type: e1
    driver: { kind: test, socket: /tmp/unused.sock }
trunks:
  - { name: pbx, kind: pri, span: e1a, side: network, switch: euroisdn }
";

    /// Our PRI legs (network side) and a far user side, wired frame to frame.
    struct Line {
        ours: PriCalls,
        far: PriStack,
        now: Instant,
        out: Vec<PriOutput>,
        far_events: Vec<PriEvent>,
    }

    fn bearer(ch: u8) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 20_000 + u16::from(ch)))
    }

    impl Line {
        fn new() -> Line {
            let cfg = Config::parse("t.yaml", CONFIG).expect("config");
            let now = Instant::now();
            let mut ours = PriCalls::new(now, &cfg);
            ours.set_bearers(
                "pbx",
                (1..=31)
                    .filter(|c| *c != 16)
                    .map(|c| (c, bearer(c)))
                    .collect(),
            );
            let far = PriStack::new(
                now,
                q921::Config::pri(q921::Side::User),
                tdm::pri::Config::e1(q921::Side::User, Variant::EUROISDN),
            );
            let mut line = Line {
                ours,
                far,
                now,
                out: Vec::new(),
                far_events: Vec::new(),
            };
            line.ours.span_state(now, "pbx", true);
            line.pump();
            line
        }

        /// Moves frames both ways until both sides are quiet.
        fn pump(&mut self) {
            for _ in 0..100 {
                let mut moved = false;
                while let Some(o) = self.ours.poll_output() {
                    if let PriOutput::Transmit { frame, .. } = &o {
                        moved = true;
                        let _ = self.far.handle_frame(self.now, frame);
                    } else {
                        self.out.push(o);
                    }
                }
                while let Some(o) = self.far.poll_output() {
                    match o {
                        StackOutput::Transmit(f) => {
                            moved = true;
                            self.ours.handle_frame(self.now, "pbx", &f);
                        }
                        StackOutput::Event(e) => self.far_events.push(e),
                        StackOutput::Link(_) => {}
                    }
                }
                if !moved {
                    return;
                }
            }
            panic!("the line does not settle");
        }

        fn events(&self) -> Vec<&CallEvent> {
            self.out
                .iter()
                .filter_map(|o| match o {
                    PriOutput::Event { event, .. } => Some(event),
                    _ => None,
                })
                .collect()
        }

        fn far_call(&self) -> CallId {
            self.far_events
                .iter()
                .find_map(|e| match e {
                    PriEvent::Incoming { call, .. } => Some(*call),
                    _ => None,
                })
                .expect("the far end got a SETUP")
        }

        fn far_send(&mut self, call: CallId, event: CallEvent) {
            let ctx = PriCalls::outgoing_ctx(Layer1Protocol::G711_ALAW);
            let msg = translate::from_event(&event, &ctx).unwrap().unwrap();
            self.far.l3.send(self.now, call, msg).unwrap();
            self.far.pump(self.now);
            self.pump();
        }
    }

    fn setup(called: &str) -> Setup {
        Setup {
            called: PartyNumber::unknown(Digits::new(called).unwrap()),
            calling: Some(PartyNumber::unknown(Digits::new("2000").unwrap())),
            display_name: None,
            redirection: vec![],
            bearer: mapping::model::Bearer::Speech,
            media: None,
            sending_complete: true,
        }
    }

    #[test]
    fn the_link_comes_up_and_an_outgoing_call_is_answered_with_its_bearer() {
        let mut l = Line::new();
        assert!(l.ours.link_up("pbx"));
        assert!(l.out.contains(&PriOutput::Link {
            trunk: "pbx".into(),
            up: true
        }));
        let leg = l
            .ours
            .outgoing(l.now, "pbx", &setup("1000"))
            .expect("placed");
        l.pump();
        let call = l.far_call();
        let Some((s, channel)) = l.far_events.iter().find_map(|e| match e {
            PriEvent::Incoming { setup, channel, .. } => Some((setup.clone(), *channel)),
            _ => None,
        }) else {
            panic!("{:?}", l.far_events);
        };
        let Ok(Some(CallEvent::Setup(got))) = translate::to_event(&s, Initiator::Caller) else {
            panic!("a SETUP");
        };
        assert_eq!(got.called.digits.as_str(), "1000");
        assert_eq!(l.ours.channel_of(leg), Some(("pbx", channel)));
        l.far_send(call, CallEvent::Proceeding);
        l.far_send(call, CallEvent::Alerting(Default::default()));
        l.far_send(
            call,
            CallEvent::Connect {
                connected: None,
                media: None,
            },
        );
        let ev = l.events();
        assert!(matches!(ev[0], CallEvent::Proceeding), "{ev:?}");
        // The bearer answers with the first ALERTING, once.
        let CallEvent::Alerting(p) = ev[1] else {
            panic!("{ev:?}")
        };
        let Some(MediaExchange::Answer(m)) = &p.media else {
            panic!("{p:?}")
        };
        assert_eq!(m.rtp, Some(bearer(channel)));
        assert_eq!(m.codecs[0].name, CodecName::Pcma);
        assert!(
            matches!(ev[2], CallEvent::Connect { media: None, .. }),
            "{ev:?}"
        );
        // We clear: the far end is told, the leg goes, its channel with it.
        l.ours.send(
            l.now,
            leg,
            CallEvent::Release(Release {
                cause: Cause::NORMAL,
                initiator: Initiator::Caller,
                sip_status: None,
            }),
        );
        l.pump();
        assert!(
            l.far_events
                .iter()
                .any(|e| matches!(e, PriEvent::Cleared { by_peer: true, .. }))
        );
        assert!(l.out.iter().any(|o| matches!(o, PriOutput::Gone { leg: g, channel: Some(c), .. } if *g == leg && *c == channel)));
        assert!(
            !l.events()
                .iter()
                .any(|e| matches!(e, CallEvent::Release(_))),
            "our own release is not news"
        );
    }

    #[test]
    fn an_incoming_call_offers_its_bearer_and_the_far_end_clears() {
        let mut l = Line::new();
        let ctx = PriCalls::outgoing_ctx(Layer1Protocol::G711_ALAW);
        let msg = translate::from_event(&CallEvent::Setup(Box::new(setup("5000"))), &ctx)
            .unwrap()
            .unwrap();
        let call = l.far.l3.setup(l.now, msg, Some(3)).unwrap();
        l.far.pump(l.now);
        l.pump();
        let Some((leg, s)) = l.out.iter().find_map(|o| match o {
            PriOutput::Incoming { leg, setup, .. } => Some((*leg, setup.clone())),
            _ => None,
        }) else {
            panic!("{:?}", l.out);
        };
        assert_eq!(s.called.digits.as_str(), "5000");
        assert_eq!(s.media.as_ref().and_then(|m| m.rtp), Some(bearer(3)));
        for ev in [
            CallEvent::Proceeding,
            CallEvent::Alerting(Default::default()),
            CallEvent::Connect {
                connected: None,
                media: None,
            },
        ] {
            l.ours.send(l.now, leg, ev);
            l.pump();
        }
        let types: Vec<MessageType> = l
            .far_events
            .iter()
            .filter_map(|e| match e {
                PriEvent::Message { message, .. } => Some(message.msg_type),
                _ => None,
            })
            .collect();
        assert_eq!(
            types,
            [
                MessageType::CALL_PROCEEDING,
                MessageType::ALERTING,
                MessageType::CONNECT
            ]
        );
        l.far.l3.release(l.now, call, Cause::NORMAL).unwrap();
        l.far.pump(l.now);
        l.pump();
        let release = l.events().into_iter().find_map(|e| match e {
            CallEvent::Release(r) => Some(r.clone()),
            _ => None,
        });
        let r = release.expect("the far end's clearing");
        assert_eq!(
            (r.cause.value, r.initiator),
            (Q850Cause::NORMAL_CLEARING, Initiator::Caller)
        );
        assert!(
            l.out
                .iter()
                .any(|o| matches!(o, PriOutput::Gone { leg: g, .. } if *g == leg))
        );
    }

    #[test]
    fn no_link_is_cause_38_and_a_span_restart_clears_its_calls() {
        let cfg = Config::parse("t.yaml", CONFIG).expect("config");
        let now = Instant::now();
        let mut alone = PriCalls::new(now, &cfg);
        let r = alone.outgoing(now, "pbx", &setup("1000")).unwrap_err();
        assert_eq!(r.cause.value, Q850Cause::NETWORK_OUT_OF_ORDER);

        let mut l = Line::new();
        let leg = l
            .ours
            .outgoing(l.now, "pbx", &setup("1000"))
            .expect("placed");
        l.pump();
        l.ours
            .span_state(l.now + Duration::from_millis(10), "pbx", false);
        while let Some(o) = l.ours.poll_output() {
            l.out.push(o);
        }
        let r = l.events().into_iter().find_map(|e| match e {
            CallEvent::Release(r) => Some(r.clone()),
            _ => None,
        });
        assert_eq!(
            r.map(|r| (r.cause.value, r.initiator)),
            Some((Q850Cause::NETWORK_OUT_OF_ORDER, Initiator::Gateway))
        );
        assert!(
            l.out
                .iter()
                .any(|o| matches!(o, PriOutput::Gone { leg: g, .. } if *g == leg))
        );
        assert!(!l.ours.link_up("pbx"));
        assert!(l.out.contains(&PriOutput::Link {
            trunk: "pbx".into(),
            up: false
        }));
    }
}
