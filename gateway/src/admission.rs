//! Call admission and the drain on SIGTERM.
//!
//! Every leg asks [`Admission::admit`] before it accepts a new call and keeps the returned
//! [`CallGuard`] for the life of the call; dropping the guard ends the call's count. Once
//! [`Admission::begin_drain`] has been called, `admit` refuses (the leg answers
//! `503 Service Unavailable`, RFC 3261 §21.5.4, or Release Complete with Q.850 cause 42
//! on H.323/PRI), and [`Admission::drained`] waits until the live calls have ended or the
//! drain deadline has passed.

use prometheus::IntGauge;
use std::time::Duration;
use tokio::sync::watch;

/// The shared admission state; cheap to clone, one per process.
#[derive(Clone)]
pub struct Admission {
    state: watch::Sender<State>,
    active_gauge: IntGauge,
    draining_gauge: IntGauge,
}

#[derive(Debug, Clone, Copy, Default)]
struct State {
    active: usize,
    draining: bool,
}

/// A new call was refused because the gateway is draining.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the gateway is draining and takes no new calls")]
pub struct Draining;

/// How a drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Every live call ended before the deadline.
    Idle,
    /// The deadline passed with this many calls still up.
    TimedOut {
        /// Calls still live at the deadline.
        remaining: usize,
    },
}

/// One admitted call; dropping it ends the call's count.
#[must_use = "dropping the guard ends the call at once"]
pub struct CallGuard {
    admission: Admission,
}

impl Admission {
    /// A new admission state reporting into the `gateway_active_calls` and
    /// `gateway_draining` gauges.
    pub fn new(active_gauge: IntGauge, draining_gauge: IntGauge) -> Admission {
        Admission {
            state: watch::Sender::new(State::default()),
            active_gauge,
            draining_gauge,
        }
    }

    /// Admits a new call, or refuses it while draining.
    pub fn admit(&self) -> Result<CallGuard, Draining> {
        let mut admitted = false;
        // The check and the increment happen under the watch's lock: no call slips in
        // after `begin_drain`.
        self.state.send_if_modified(|s| {
            if s.draining {
                return false;
            }
            s.active += 1;
            admitted = true;
            true
        });
        if !admitted {
            return Err(Draining);
        }
        self.active_gauge.inc();
        Ok(CallGuard {
            admission: self.clone(),
        })
    }

    /// Stops admitting new calls. Idempotent.
    pub fn begin_drain(&self) {
        self.state.send_modify(|s| s.draining = true);
        self.draining_gauge.set(1);
    }

    /// True once [`begin_drain`](Self::begin_drain) has been called.
    pub fn is_draining(&self) -> bool {
        self.state.borrow().draining
    }

    /// Calls admitted and not yet ended.
    pub fn active(&self) -> usize {
        self.state.borrow().active
    }

    /// Waits until no call is live, or `timeout` has passed.
    pub async fn drained(&self, timeout: Duration) -> DrainOutcome {
        let mut rx = self.state.subscribe();
        match tokio::time::timeout(timeout, rx.wait_for(|s| s.active == 0)).await {
            // `wait_for` only fails when the sender is gone, and `self` holds it.
            Ok(_) => DrainOutcome::Idle,
            Err(_) => DrainOutcome::TimedOut {
                remaining: self.active(),
            },
        }
    }
}

impl Drop for CallGuard {
    fn drop(&mut self) {
        self.admission.state.send_modify(|s| s.active -= 1);
        self.admission.active_gauge.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admission() -> Admission {
        let active = IntGauge::new("a", "a").expect("valid gauge");
        let draining = IntGauge::new("d", "d").expect("valid gauge");
        Admission::new(active, draining)
    }

    #[tokio::test(start_paused = true)]
    async fn drain_waits_for_the_live_call_and_refuses_new_ones() {
        let adm = admission();
        let call = adm.admit().expect("not draining yet");
        assert_eq!(adm.active(), 1);
        assert_eq!(adm.active_gauge.get(), 1);

        adm.begin_drain();
        assert!(adm.is_draining());
        assert_eq!(adm.draining_gauge.get(), 1);
        assert_eq!(adm.admit().err(), Some(Draining));

        let waiter = tokio::spawn({
            let adm = adm.clone();
            async move { adm.drained(Duration::from_secs(30)).await }
        });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished(), "a live call holds the drain");
        drop(call);
        assert_eq!(waiter.await.expect("no panic"), DrainOutcome::Idle);
        assert_eq!(adm.active(), 0);
        assert_eq!(adm.active_gauge.get(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn drain_gives_up_at_the_deadline() {
        let adm = admission();
        let _call = adm.admit().expect("not draining yet");
        adm.begin_drain();
        // Paused time: the runtime jumps to the deadline.
        assert_eq!(
            adm.drained(Duration::from_secs(30)).await,
            DrainOutcome::TimedOut { remaining: 1 }
        );
    }

    #[tokio::test]
    async fn drain_with_no_call_is_immediate() {
        let adm = admission();
        adm.begin_drain();
        assert_eq!(adm.drained(Duration::ZERO).await, DrainOutcome::Idle);
    }
}
