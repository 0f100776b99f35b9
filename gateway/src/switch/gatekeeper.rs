//! Gatekeeper trunks: the switch owns one [`RasEndpoint`] per `kind: h323` trunk with a
//! `gatekeeper:`. The shell binds one UDP socket per such trunk and reports it with
//! [`Switch::ras_bound`]; registration starts then. An outgoing call on the trunk asks
//! admission (ARQ) while registered and connects to the ACF's address (the gatekeeper's
//! own address when it routes the call); an ARJ fails the leg with its cause, so routing
//! fails over. Without a registration the trunk's `remote`, when set, is called directly.
//! A leg that ends is disengaged (DRQ).

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use mapping::cause::Q850Cause;
use mapping::model::{Initiator, Setup};
use tracing::{debug, info};

use super::{CallId, Switch, SwitchOutput, release};
use crate::config::{Config, TrunkParams};
use crate::h323::call_leg::H323LegId;
use crate::h323::ras::{RasCall, RasConfig, RasEndpoint, RasOutput};

/// The RAS endpoints of the gatekeeper trunks, by trunk name.
#[derive(Debug, Default)]
pub(super) struct Gatekeepers {
    eps: BTreeMap<String, RasEndpoint>,
    /// Legs admitted (or being admitted) through a trunk's gatekeeper, and whether we
    /// answer them (incoming: DRQ `answeredCall` TRUE).
    legs: HashMap<H323LegId, (String, bool)>,
    /// Incoming calls waiting for their ACF: the Setup to route then.
    incoming: HashMap<H323LegId, (Setup, Option<std::net::IpAddr>)>,
}

impl Gatekeepers {
    pub(super) fn poll_timeout(&self) -> Option<Instant> {
        self.eps
            .values()
            .filter_map(RasEndpoint::poll_timeout)
            .min()
    }

    pub(super) fn handle_timeout(&mut self, now: Instant) {
        for ep in self.eps.values_mut() {
            if ep.poll_timeout().is_some_and(|t| t <= now) {
                ep.handle_timeout(now);
            }
        }
    }

    pub(super) fn poll_output(&mut self) -> Option<(String, RasOutput)> {
        self.eps
            .iter_mut()
            .find_map(|(name, ep)| ep.poll_output().map(|o| (name.clone(), o)))
    }

    /// True while `trunk` is registered with its gatekeeper.
    pub(super) fn registered(&self, trunk: &str) -> bool {
        self.eps.get(trunk).is_some_and(RasEndpoint::is_registered)
    }
}

/// The trunks with a gatekeeper and the gatekeeper's RAS address (an IP literal, or
/// what its name resolved to).
pub fn gatekeeper_trunks(cfg: &Config) -> Vec<(String, SocketAddr)> {
    cfg.trunks
        .iter()
        .filter_map(|t| match &t.params {
            TrunkParams::H323(h) => {
                let g = h.gatekeeper.as_ref()?;
                Some((t.name.clone(), cfg.hosts.first(&g.address)?))
            }
            _ => None,
        })
        .collect()
}

impl Switch {
    /// The RAS socket of gatekeeper trunk `trunk` is bound at `local`: discovery and
    /// registration start.
    pub fn ras_bound(&mut self, now: Instant, wall: SystemTime, trunk: &str, local: SocketAddr) {
        let Some(g) = self.cfg.trunks.iter().find_map(|t| match &t.params {
            TrunkParams::H323(h) if t.name == trunk => h.gatekeeper.clone(),
            _ => None,
        }) else {
            return;
        };
        let Some(gatekeeper) = self.cfg.hosts.first(&g.address) else {
            debug!(trunk, "gatekeeper address does not resolve");
            return;
        };
        let cfg = RasConfig {
            gatekeeper,
            gatekeeper_id: g.gatekeeper_id.clone(),
            h323_ids: g.h323_ids.clone(),
            e164: g.e164.iter().map(|d| d.as_str().to_owned()).collect(),
            time_to_live: g.time_to_live_seconds,
            ras_address: local,
            call_signal: super::h225_local(&self.cfg),
        };
        let seed = (self.rng >> 16) as u16;
        let mut ep = RasEndpoint::new(cfg, seed);
        ep.start(now);
        info!(trunk, %local, "RAS: registering with the gatekeeper");
        self.gatekeepers.eps.insert(trunk.to_owned(), ep);
        self.pump(now, wall);
    }

    /// One RAS datagram on `trunk`'s socket.
    pub fn handle_ras(
        &mut self,
        now: Instant,
        wall: SystemTime,
        trunk: &str,
        from: SocketAddr,
        bytes: &[u8],
    ) {
        if let Some(ep) = self.gatekeepers.eps.get_mut(trunk) {
            ep.handle_datagram(now, from, bytes);
        }
        self.pump(now, wall);
    }

    /// Shutdown: every registered trunk unregisters (URQ).
    pub fn ras_unregister(&mut self, now: Instant, wall: SystemTime) {
        for ep in self.gatekeepers.eps.values_mut() {
            ep.unregister(now);
        }
        self.pump(now, wall);
    }

    /// True when `trunk` has a registered gatekeeper: its calls go through admission.
    pub(super) fn admits(&self, trunk: &str) -> bool {
        self.gatekeepers.registered(trunk)
    }

    /// Asks `trunk`'s gatekeeper to admit the pending outgoing `leg` (its Setup `setup`).
    pub(super) fn admit_h323(&mut self, now: Instant, trunk: &str, leg: H323LegId, setup: &Setup) {
        let Some((call_id, conference_id, crv)) = self.h323.admission_ids(leg) else {
            return;
        };
        let Some(ep) = self.gatekeepers.eps.get_mut(trunk) else {
            self.h323
                .not_admitted(now, leg, Q850Cause::NETWORK_OUT_OF_ORDER);
            return;
        };
        self.gatekeepers.legs.insert(leg, (trunk.to_owned(), false));
        ep.admit(
            now,
            leg.0,
            RasCall {
                call_id,
                conference_id,
                crv,
                answer: false,
                called: setup.called.digits.as_str().to_owned(),
                calling: setup
                    .calling
                    .as_ref()
                    .filter(|c| !c.is_restricted())
                    .map(|c| c.digits.as_str().to_owned()),
            },
        );
    }

    /// An incoming call on registered gatekeeper trunk `trunk`: ARQ `answerCall` TRUE
    /// (H.225.0 §7.10); the call is routed when the ACF comes, released on ARJ.
    pub(super) fn admit_incoming(
        &mut self,
        now: Instant,
        trunk: String,
        leg: H323LegId,
        setup: Setup,
        peer: Option<std::net::IpAddr>,
    ) {
        let Some((call_id, conference_id, crv)) = self.h323.admission_ids(leg) else {
            return;
        };
        let Some(ep) = self.gatekeepers.eps.get_mut(&trunk) else {
            return;
        };
        let call = RasCall {
            call_id,
            conference_id,
            crv,
            answer: true,
            called: setup.called.digits.as_str().to_owned(),
            calling: setup
                .calling
                .as_ref()
                .filter(|c| !c.is_restricted())
                .map(|c| c.digits.as_str().to_owned()),
        };
        self.gatekeepers.legs.insert(leg, (trunk, true));
        self.gatekeepers.incoming.insert(leg, (setup, peer));
        ep.admit(now, leg.0, call);
    }

    /// An H.323 leg is gone: DRQ when its gatekeeper admitted it (`answeredCall` TRUE for
    /// the calls we answered).
    pub(super) fn ras_leg_gone(&mut self, now: Instant, leg: H323LegId) {
        self.gatekeepers.incoming.remove(&leg);
        if let Some((trunk, answered)) = self.gatekeepers.legs.remove(&leg)
            && let Some(ep) = self.gatekeepers.eps.get_mut(&trunk)
        {
            ep.disengage(now, leg.0, answered);
        }
    }

    /// One output of a RAS endpoint.
    pub(super) fn ras_output(
        &mut self,
        now: Instant,
        wall: SystemTime,
        trunk: String,
        o: RasOutput,
    ) {
        match o {
            RasOutput::Transmit {
                to,
                bytes,
                label,
                retransmission,
            } => self.out.push_back(SwitchOutput::Ras {
                trunk,
                to,
                bytes,
                label,
                retransmission,
            }),
            RasOutput::Registered(registered) => {
                info!(%trunk, registered, "RAS registration");
                self.out
                    .push_back(SwitchOutput::RasRegistered { trunk, registered });
            }
            RasOutput::Admitted {
                call,
                dest,
                gatekeeper_routed,
            } => {
                debug!(%trunk, call, %dest, gatekeeper_routed, "admitted (ACF)");
                match self.gatekeepers.incoming.remove(&H323LegId(call)) {
                    Some((setup, peer)) => self.incoming(
                        now,
                        wall,
                        super::Leg::H323(H323LegId(call)),
                        trunk,
                        setup,
                        peer,
                    ),
                    None => self.h323.dial(now, H323LegId(call), dest),
                }
            }
            RasOutput::Rejected { call, cause } => {
                debug!(%trunk, call, cause = cause.0, "not admitted");
                self.gatekeepers.legs.remove(&H323LegId(call));
                if self.gatekeepers.incoming.remove(&H323LegId(call)).is_some() {
                    // The caller hears why (RELEASE COMPLETE with the cause).
                    self.h323.send(
                        now,
                        H323LegId(call),
                        mapping::model::CallEvent::Release(release(cause, Initiator::Gateway)),
                    );
                } else {
                    self.h323.not_admitted(now, H323LegId(call), cause);
                }
            }
            RasOutput::Disengaged { call } => {
                // The gatekeeper dropped the call (its DRQ): clear it, normal clearing.
                self.gatekeepers.legs.remove(&H323LegId(call));
                let id: Option<CallId> =
                    self.by_leg.get(&super::Leg::H323(H323LegId(call))).copied();
                if let Some(id) = id {
                    self.clear(
                        now,
                        wall,
                        id,
                        release(Q850Cause::NORMAL_CLEARING, Initiator::Gateway),
                    );
                }
            }
        }
    }
}
