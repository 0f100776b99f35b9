//! Transaction timers on simulated time: the clock jumps to each deadline, no sleeps.

use super::*;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Msg {
    Request,
    Response(u16),
    Ack(u16),
}

impl TransactionMessage for Msg {
    fn ack_for(_request: &Self, response: &Self) -> Self {
        match response {
            Msg::Response(s) => Msg::Ack(*s),
            other => panic!("ACK built for {other:?}"),
        }
    }
    fn trying_for(_request: &Self) -> Self {
        Msg::Response(100)
    }
}

/// Anything with the sans-IO timer surface.
trait Machine {
    fn timeout(&self) -> Option<Instant>;
    fn fire(&mut self, now: Instant);
    fn output(&mut self) -> Option<TxOutput<Msg>>;
}

macro_rules! machine {
    ($t:ty) => {
        impl Machine for $t {
            fn timeout(&self) -> Option<Instant> {
                self.poll_timeout()
            }
            fn fire(&mut self, now: Instant) {
                self.handle_timeout(now)
            }
            fn output(&mut self) -> Option<TxOutput<Msg>> {
                self.poll_output()
            }
        }
    };
}
machine!(ClientInvite<Msg>);
machine!(ClientNonInvite<Msg>);
machine!(ServerInvite<Msg>);
machine!(ServerNonInvite<Msg>);
machine!(Retransmit2xx<Msg>);

/// Runs the machine's timers until it has no deadline before `until`.
fn run_until(m: &mut impl Machine, start: Instant, until: Duration) -> Vec<(u128, TxOutput<Msg>)> {
    let mut log = Vec::new();
    while let Some(o) = m.output() {
        log.push((0, o));
    }
    while let Some(t) = m.timeout() {
        if t > start + until {
            break;
        }
        m.fire(t);
        while let Some(o) = m.output() {
            log.push(((t - start).as_millis(), o));
        }
    }
    log
}

fn transmit_times(log: &[(u128, TxOutput<Msg>)]) -> Vec<u128> {
    log.iter()
        .filter(|(_, o)| matches!(o, TxOutput::Transmit(_)))
        .map(|(t, _)| *t)
        .collect()
}

const MIN: Duration = Duration::from_secs(60);

#[test]
fn invite_client_retransmits_with_timer_a_doubling_until_timer_b() {
    let t0 = Instant::now();
    let mut tx = ClientInvite::new(
        t0,
        Msg::Request,
        Reliability::Unreliable,
        TimerConfig::default(),
    );
    let log = run_until(&mut tx, t0, MIN);
    // §17.1.1.2: A = T1, doubling; B = 64*T1 = 32 s.
    assert_eq!(
        transmit_times(&log),
        [0, 500, 1500, 3500, 7500, 15500, 31500]
    );
    let tail: Vec<_> = log.iter().rev().take(2).collect();
    assert_eq!(*tail[1], (32000, TxOutput::Timeout(Timer::B)));
    assert_eq!(*tail[0], (32000, TxOutput::Terminated));
    assert!(tx.is_terminated());
}

#[test]
fn invite_client_over_tcp_does_not_retransmit_but_times_out() {
    let t0 = Instant::now();
    let mut tx = ClientInvite::new(
        t0,
        Msg::Request,
        Reliability::Reliable,
        TimerConfig::default(),
    );
    let log = run_until(&mut tx, t0, MIN);
    assert_eq!(transmit_times(&log), [0]);
    assert!(log.contains(&(32000, TxOutput::Timeout(Timer::B))));
}

#[test]
fn invite_client_provisional_stops_retransmission_and_final_error_is_acked() {
    let t0 = Instant::now();
    let cfg = TimerConfig::default();
    let mut tx = ClientInvite::new(t0, Msg::Request, Reliability::Unreliable, cfg);
    let log = run_until(&mut tx, t0, Duration::from_millis(600));
    assert_eq!(transmit_times(&log), [0, 500]);
    tx.handle_response(t0 + Duration::from_secs(1), 180, Msg::Response(180));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Response(Msg::Response(180)))
    );
    assert_eq!(tx.state(), client_invite_state::Proceeding);
    // No retransmission in Proceeding, and no Timer B: nothing fires for a minute.
    assert_eq!(tx.poll_timeout(), None);
    tx.handle_response(t0 + Duration::from_secs(5), 486, Msg::Response(486));
    assert_eq!(tx.poll_output(), Some(TxOutput::Transmit(Msg::Ack(486))));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Response(Msg::Response(486)))
    );
    // A retransmitted 486 is ACKed again and not passed up (§17.1.1.2).
    tx.handle_response(t0 + Duration::from_secs(6), 486, Msg::Response(486));
    assert_eq!(tx.poll_output(), Some(TxOutput::Transmit(Msg::Ack(486))));
    assert_eq!(tx.poll_output(), None);
    // Timer D: 32 s on UDP.
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(5 + 32)));
    tx.handle_timeout(t0 + Duration::from_secs(37));
    assert_eq!(tx.poll_output(), Some(TxOutput::Terminated));
}

use super::client_invite::State as client_invite_state;

#[test]
fn invite_client_accepted_passes_2xx_retransmissions_up_until_timer_m() {
    let t0 = Instant::now();
    let mut tx = ClientInvite::new(
        t0,
        Msg::Request,
        Reliability::Unreliable,
        TimerConfig::default(),
    );
    tx.poll_output();
    tx.handle_response(t0, 200, Msg::Response(200));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Response(Msg::Response(200)))
    );
    tx.handle_response(t0 + Duration::from_secs(1), 200, Msg::Response(200));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Response(Msg::Response(200)))
    );
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
    tx.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(tx.poll_output(), Some(TxOutput::Terminated));
}

#[test]
fn invite_client_transport_error_terminates() {
    let t0 = Instant::now();
    let mut tx = ClientInvite::new(
        t0,
        Msg::Request,
        Reliability::Reliable,
        TimerConfig::default(),
    );
    tx.poll_output();
    tx.handle_transport_error(t0);
    assert_eq!(tx.poll_output(), Some(TxOutput::TransportError));
    assert_eq!(tx.poll_output(), Some(TxOutput::Terminated));
}

#[test]
fn non_invite_client_timer_e_caps_at_t2_and_timer_f_fires_at_64_t1() {
    let t0 = Instant::now();
    let mut tx = ClientNonInvite::new(
        t0,
        Msg::Request,
        Reliability::Unreliable,
        TimerConfig::default(),
    );
    let log = run_until(&mut tx, t0, MIN);
    // §17.1.2.2: E = T1, doubling up to T2 = 4 s; F = 32 s.
    assert_eq!(
        transmit_times(&log),
        [
            0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert!(log.contains(&(32000, TxOutput::Timeout(Timer::F))));
    assert_eq!(log.last(), Some(&(32000, TxOutput::Terminated)));
}

#[test]
fn non_invite_client_proceeding_retransmits_every_t2_then_completes() {
    let t0 = Instant::now();
    let mut tx = ClientNonInvite::new(
        t0,
        Msg::Request,
        Reliability::Unreliable,
        TimerConfig::default(),
    );
    run_until(&mut tx, t0, Duration::from_millis(600));
    tx.handle_response(t0 + Duration::from_millis(700), 100, Msg::Response(100));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Response(Msg::Response(100)))
    );
    // Timer E was re-armed at 500 ms for 1 s; after it fires, the interval is T2.
    tx.handle_timeout(t0 + Duration::from_millis(1500));
    assert_eq!(tx.poll_output(), Some(TxOutput::Transmit(Msg::Request)));
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_millis(5500)));
    tx.handle_response(t0 + Duration::from_secs(2), 200, Msg::Response(200));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Response(Msg::Response(200)))
    );
    // Timer K = T4 on UDP; retransmitted responses are absorbed.
    tx.handle_response(t0 + Duration::from_secs(3), 200, Msg::Response(200));
    assert_eq!(tx.poll_output(), None);
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(7)));
    tx.handle_timeout(t0 + Duration::from_secs(7));
    assert_eq!(tx.poll_output(), Some(TxOutput::Terminated));
}

#[test]
fn invite_server_sends_trying_resends_provisional_and_retransmits_final_until_ack() {
    let t0 = Instant::now();
    let cfg = TimerConfig::default();
    let mut tx = ServerInvite::new(t0, &Msg::Request, Reliability::Unreliable, cfg);
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Transmit(Msg::Response(100)))
    );
    tx.send_response(t0, 180, Msg::Response(180));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Transmit(Msg::Response(180)))
    );
    tx.handle_request_retransmission(t0 + Duration::from_millis(500));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Transmit(Msg::Response(180)))
    );
    tx.send_response(t0 + Duration::from_secs(1), 486, Msg::Response(486));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Transmit(Msg::Response(486)))
    );
    let start = t0 + Duration::from_secs(1);
    // Timer G: T1 doubling to T2; stop at the ACK after 10 s.
    let mut sent = Vec::new();
    while let Some(t) = tx.poll_timeout() {
        if t > start + Duration::from_secs(10) {
            break;
        }
        tx.handle_timeout(t);
        while let Some(o) = tx.poll_output() {
            assert_eq!(o, TxOutput::Transmit(Msg::Response(486)));
            sent.push((t - start).as_millis());
        }
    }
    assert_eq!(sent, [500, 1500, 3500, 7500]);
    tx.handle_ack(start + Duration::from_secs(10));
    assert_eq!(tx.state(), super::server_invite::State::Confirmed);
    // Timer I = T4: ACK retransmissions absorbed, then Terminated.
    tx.handle_ack(start + Duration::from_secs(11));
    assert_eq!(tx.poll_output(), None);
    assert_eq!(tx.poll_timeout(), Some(start + Duration::from_secs(15)));
    tx.handle_timeout(start + Duration::from_secs(15));
    assert_eq!(tx.poll_output(), Some(TxOutput::Terminated));
}

#[test]
fn invite_server_without_ack_times_out_on_timer_h() {
    let t0 = Instant::now();
    let mut tx = ServerInvite::new(
        t0,
        &Msg::Request,
        Reliability::Reliable,
        TimerConfig::default(),
    );
    tx.send_response(t0, 603, Msg::Response(603));
    let log = run_until(&mut tx, t0, MIN);
    // Over TCP no Timer G; Timer H at 64*T1.
    assert_eq!(transmit_times(&log), [0, 0]);
    assert!(log.contains(&(32000, TxOutput::Timeout(Timer::H))));
}

#[test]
fn invite_server_accepted_absorbs_invite_retransmissions_until_timer_l() {
    let t0 = Instant::now();
    let mut tx = ServerInvite::new(
        t0,
        &Msg::Request,
        Reliability::Unreliable,
        TimerConfig::default(),
    );
    tx.poll_output();
    tx.send_response(t0, 200, Msg::Response(200));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Transmit(Msg::Response(200)))
    );
    tx.handle_request_retransmission(t0 + Duration::from_secs(1));
    assert_eq!(tx.poll_output(), None);
    // The TU's 2xx retransmissions pass through.
    tx.send_response(t0 + Duration::from_millis(500), 200, Msg::Response(200));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Transmit(Msg::Response(200)))
    );
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
    tx.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(tx.poll_output(), Some(TxOutput::Terminated));
}

#[test]
fn non_invite_server_absorbs_then_answers_retransmissions_until_timer_j() {
    let t0 = Instant::now();
    let mut tx = ServerNonInvite::<Msg>::new(t0, Reliability::Unreliable, TimerConfig::default());
    tx.handle_request_retransmission(t0);
    assert_eq!(tx.poll_output(), None, "Trying absorbs retransmissions");
    tx.send_response(t0, 200, Msg::Response(200));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Transmit(Msg::Response(200)))
    );
    tx.handle_request_retransmission(t0 + Duration::from_secs(2));
    assert_eq!(
        tx.poll_output(),
        Some(TxOutput::Transmit(Msg::Response(200)))
    );
    assert_eq!(tx.poll_timeout(), Some(t0 + Duration::from_secs(32)));
    tx.handle_timeout(t0 + Duration::from_secs(32));
    assert_eq!(tx.poll_output(), Some(TxOutput::Terminated));
}

#[test]
fn non_invite_server_over_tcp_terminates_at_once() {
    let t0 = Instant::now();
    let mut tx = ServerNonInvite::<Msg>::new(t0, Reliability::Reliable, TimerConfig::default());
    tx.send_response(t0, 200, Msg::Response(200));
    tx.poll_output();
    assert_eq!(tx.poll_timeout(), Some(t0));
    tx.handle_timeout(t0);
    assert_eq!(tx.poll_output(), Some(TxOutput::Terminated));
}

#[test]
fn uas_retransmits_2xx_until_ack() {
    let t0 = Instant::now();
    let mut r = Retransmit2xx::new(
        t0,
        Msg::Response(200),
        Reliability::Unreliable,
        TimerConfig::default(),
    );
    let log = run_until(&mut r, t0, Duration::from_secs(5));
    assert_eq!(transmit_times(&log), [500, 1500, 3500]);
    r.handle_ack(t0 + Duration::from_secs(5));
    assert_eq!(r.poll_output(), Some(TxOutput::Terminated));
    assert!(r.is_done());
    assert_eq!(r.poll_timeout(), None);
}

#[test]
fn uas_gives_up_on_2xx_after_64_t1_without_ack() {
    let t0 = Instant::now();
    let mut r = Retransmit2xx::new(
        t0,
        Msg::Response(200),
        Reliability::Unreliable,
        TimerConfig::default(),
    );
    let log = run_until(&mut r, t0, MIN);
    assert_eq!(
        transmit_times(&log),
        [
            500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500
        ]
    );
    assert!(log.contains(&(32000, TxOutput::Timeout(Timer::H))));
}

#[test]
fn configured_t1_scales_every_timer() {
    let t0 = Instant::now();
    let cfg = TimerConfig {
        t1: Duration::from_millis(100),
        t2: Duration::from_millis(400),
        t4: Duration::from_millis(500),
    };
    let mut tx = ClientNonInvite::new(t0, Msg::Request, Reliability::Unreliable, cfg);
    let log = run_until(&mut tx, t0, MIN);
    assert!(log.contains(&(6400, TxOutput::Timeout(Timer::F))));
}
