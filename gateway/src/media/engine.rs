//! The shell side of the call core's media: binds the ports the switch reserves, runs a
//! [`MediaSession`] per call for the switch's [`MediaCommand`]s, hands back each call's
//! RTP figures when it ends, and passes what the sessions report ([`MediaEvent`]: DTMF
//! digits taken out of the media) to whoever [`MediaEngine::subscribe`]d.

use super::ports::{BoundPair, PortPool};
use super::quality::CodecImpairment;
use super::relay::{PtMap, RelayConfig, Side, SideConfig};
use super::session::{
    EventSink, MediaEvent, MediaSession, Mode, SessionHandle, SessionReport, SideUpdate,
};
use crate::switch::media_plan::{MediaCommand, MediaMode, MediaPeer, MediaPorts, PtRule};
use crate::switch::record::{DirectionStats, MediaFigures};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;
use tracing::warn;

/// Bound pairs waiting for their call's media to start.
type Held = Arc<Mutex<HashMap<SocketAddr, BoundPair>>>;

/// The switch's [`MediaPorts`]: binds each pair as it is handed out.
pub struct BoundPorts {
    pool: PortPool,
    held: Held,
}

impl MediaPorts for BoundPorts {
    fn reserve(&mut self) -> Option<SocketAddr> {
        match self.pool.reserve() {
            Ok(pair) => {
                let local = pair.local;
                if let Ok(mut held) = self.held.lock() {
                    held.insert(local, pair);
                }
                Some(local)
            }
            Err(e) => {
                warn!(error = %e, "no RTP port pair free");
                None
            }
        }
    }

    fn release(&mut self, local: SocketAddr) {
        if let Ok(mut held) = self.held.lock() {
            held.remove(&local);
        }
    }
}

/// Runs the media sessions of the calls.
pub struct MediaEngine {
    held: Held,
    sessions: HashMap<u64, SessionHandle>,
    ptime_ms: u16,
    ssrc_seed: u32,
    /// Where the sessions started from now on report their events.
    events: Option<mpsc::UnboundedSender<MediaEvent>>,
}

/// Why a session could not start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("media ports of call {0} were not reserved")]
pub struct NotReserved(pub u64);

fn update(p: MediaPeer) -> SideUpdate {
    SideUpdate {
        expected: p.rtp,
        expected_rtcp: p.rtcp,
    }
}

fn pt_map(rules: &[PtRule]) -> PtMap {
    let mut map = PtMap::new();
    for r in rules {
        match r.transcode {
            Some(t) => map.insert_transcode(r.from, r.pt_in, r.pt_out, t),
            None => {
                // A map holds 16 rules; a call never negotiates more codecs than that.
                let _ = map.insert_directed(r.from, r.pt_in, r.pt_out, r.laws);
            }
        }
    }
    map
}

/// A call's figures from the session's counters (side A = from the caller); `codec` (the
/// caller side's, by SDP name) picks the E-model's codec impairment.
pub fn figures(report: &SessionReport, codec: Option<&str>) -> MediaFigures {
    let impairment = CodecImpairment::for_codec(codec.unwrap_or("PCMA"));
    let ms = |d: std::time::Duration| u32::try_from(d.as_millis()).unwrap_or(u32::MAX);
    let dir = |side: Side| {
        let (s, leg) = match side {
            Side::A => (&report.a, &report.leg_a),
            Side::B => (&report.b, &report.leg_b),
        };
        DirectionStats {
            packets: s.packets,
            octets: s.octets,
            lost: s.lost,
            // Timestamp units to ms at the stream's own clock (8 kHz G.711, 48 kHz Opus).
            jitter_ms: (s.jitter * 1000.0 / f64::from(s.clock_rate.max(1000))).round() as u32,
            rtt_ms: leg.rtt.map(|r| ms(r.avg)),
            rtt_max_ms: leg.rtt.map(|r| ms(r.max)),
            remote_lost: leg.remote.map(|r| r.cumulative_lost),
            remote_jitter_ms: leg.remote.map(|r| r.jitter_ms.round() as u32),
            // Two decimals are all an estimate is worth.
            mos: report
                .quality(side, impairment)
                .map(|(_, mos)| (mos * 100.0).round() / 100.0),
        }
    };
    MediaFigures {
        from_caller: dir(Side::A),
        from_callee: dir(Side::B),
    }
}

impl MediaEngine {
    /// An engine and the port source for the switch, on `pool`.
    pub fn new(pool: PortPool, ptime_ms: u16, ssrc_seed: u32) -> (MediaEngine, BoundPorts) {
        let held: Held = Arc::default();
        (
            MediaEngine {
                held: held.clone(),
                sessions: HashMap::new(),
                ptime_ms,
                ssrc_seed: ssrc_seed | 1,
                events: None,
            },
            BoundPorts { pool, held },
        )
    }

    /// The events of the sessions started from now on (the call core's input). A second
    /// call replaces the first receiver.
    pub fn subscribe(&mut self) -> mpsc::UnboundedReceiver<MediaEvent> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.events = Some(tx);
        rx
    }

    fn take(&self, local: SocketAddr) -> Option<BoundPair> {
        self.held.lock().ok()?.remove(&local)
    }

    fn ssrc(&mut self) -> u32 {
        // xorshift32: SSRCs need to differ (RFC 3550 §8.1), not to be secret.
        let mut x = self.ssrc_seed;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.ssrc_seed = x;
        x
    }

    /// Carries out one command; `Err` when a call's ports are gone (the switch then
    /// ends the call).
    pub fn execute(&mut self, command: MediaCommand) -> Result<(), NotReserved> {
        match command {
            MediaCommand::Start {
                call,
                a,
                b,
                a_peer,
                b_peer,
                pt_map: pairs,
                mode,
            } => {
                let pair_a = self.take(a).ok_or(NotReserved(call))?;
                let pair_b = match b {
                    Some(b) => Some(self.take(b).ok_or(NotReserved(call))?),
                    None => None,
                };
                let side = |peer: MediaPeer, ssrc| SideConfig {
                    expected: peer.rtp,
                    expected_rtcp: peer.rtcp,
                    ..SideConfig::latching(ssrc)
                };
                let config = RelayConfig {
                    a: side(a_peer, self.ssrc()),
                    b: side(b_peer, self.ssrc()),
                    pt_map: pt_map(&pairs),
                };
                let mode = match mode {
                    MediaMode::Relay => Mode::Relay,
                    MediaMode::Echo => Mode::Echo,
                    MediaMode::Tone {
                        hz,
                        payload_type,
                        law,
                    } => Mode::Tone {
                        hz,
                        payload_type,
                        law,
                        ptime_ms: self.ptime_ms,
                    },
                };
                let handle = match &self.events {
                    Some(tx) => MediaSession::spawn_with_events(
                        pair_a,
                        pair_b,
                        config,
                        mode,
                        EventSink {
                            call,
                            tx: tx.clone(),
                        },
                    ),
                    None => MediaSession::spawn(pair_a, pair_b, config, mode),
                };
                self.sessions.insert(call, handle);
            }
            MediaCommand::Repoint { call, side, peer } => {
                if let Some(h) = self.sessions.get(&call) {
                    h.repoint(side, update(peer));
                }
            }
            MediaCommand::PtMap { call, pairs } => {
                if let Some(h) = self.sessions.get(&call) {
                    h.set_pt_map(pt_map(&pairs));
                }
            }
            MediaCommand::Dtmf { call, side, policy } => {
                if let Some(h) = self.sessions.get(&call) {
                    h.set_dtmf(side, policy);
                }
            }
            MediaCommand::SendDtmf {
                call,
                side,
                digit,
                duration_ms,
            } => {
                if let Some(h) = self.sessions.get(&call) {
                    h.send_dtmf(side, digit, duration_ms);
                }
            }
        }
        Ok(())
    }

    /// Stops a call's session; the returned handle's `close()` gives its figures.
    pub fn stop(&mut self, call: u64) -> Option<SessionHandle> {
        self.sessions.remove(&call)
    }
}
