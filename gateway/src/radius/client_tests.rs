use super::*;
use crate::radius::packet::{encode_response, verify_accounting_request};

const SECRET: &[u8] = b"testing123";

fn servers(n: usize) -> Vec<Server> {
    (0..n)
        .map(|i| Server {
            name: format!("s{i}"),
            auth: Some(SocketAddr::from(([127, 0, 0, 1], 18120 + i as u16))),
            acct: Some(SocketAddr::from(([127, 0, 0, 1], 18130 + i as u16))),
            secret: SECRET.to_vec(),
        })
        .collect()
}

fn client(n: usize) -> Client {
    Client::new(
        ClientConfig {
            servers: servers(n),
            timeout: Duration::from_secs(2),
            retries: 2,
            retry_interval: Duration::from_secs(30),
            interim: Some(Duration::from_secs(60)),
            start_at_attempt: false,
            password: None,
            require_message_authenticator: true,
            nas: Nas {
                identifier: "gw1".into(),
                ip: None,
                boot: 1,
            },
        },
        [9; 16],
    )
}

fn record(call: u64) -> Box<CallRecord> {
    let mut r = crate::cdr::format::tests::record();
    r.call = call;
    Box::new(r)
}

fn drain(c: &mut Client) -> Vec<ClientOutput> {
    std::iter::from_fn(|| c.poll_output()).collect()
}

fn sent(out: &[ClientOutput]) -> Vec<(SocketAddr, Vec<u8>)> {
    out.iter()
        .filter_map(|o| match o {
            ClientOutput::Transmit { to, bytes } => Some((*to, bytes.clone())),
            _ => None,
        })
        .collect()
}

/// What a server answers to a request.
fn answer(req: &[u8], code: Code, attrs: Vec<Attr>) -> Vec<u8> {
    let p = Packet::decode(req).expect("our request decodes");
    let mut ra = [0u8; 16];
    ra.copy_from_slice(&req[4..20]);
    encode_response(
        &Packet {
            code,
            identifier: p.identifier,
            authenticator: [0; 16],
            attrs,
        },
        &ra,
        SECRET,
    )
}

fn ma() -> Attr {
    Attr::Std(AttrType::MESSAGE_AUTHENTICATOR, vec![0; 16])
}

#[test]
fn start_is_spooled_before_it_is_sent_and_removed_when_acknowledged() {
    let mut c = client(1);
    let t0 = Instant::now();
    let w0 = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    c.call_point(t0, w0, CallPoint::Answer(record(1)));
    let out = drain(&mut c);
    let write = out
        .iter()
        .position(|o| matches!(o, ClientOutput::SpoolWrite(_)))
        .expect("spooled");
    let tx = out
        .iter()
        .position(|o| matches!(o, ClientOutput::Transmit { .. }))
        .expect("sent");
    assert!(write < tx, "written before sent: {out:?}");
    assert_eq!(c.spool_depth(), 1);
    let (to, req) = sent(&out).remove(0);
    assert_eq!(to.port(), 18130);
    assert!(verify_accounting_request(&req, SECRET));
    let p = Packet::decode(&req).expect("decodes");
    assert_eq!(p.get_int(AttrType::ACCT_STATUS_TYPE), Some(1));
    assert_eq!(p.get_int(AttrType::ACCT_DELAY_TIME), Some(0));
    c.handle_datagram(t0, w0, to, &answer(&req, Code::ACCOUNTING_RESPONSE, vec![]));
    let out = drain(&mut c);
    assert!(out.contains(&ClientOutput::SpoolRemove(1)), "{out:?}");
    assert_eq!(c.spool_depth(), 0);
    // The Stop of the call: session time and the same Acct-Session-Id.
    c.call_point(t0, w0, CallPoint::End(record(1)));
    let (_, stop) = sent(&drain(&mut c)).remove(0);
    let stop = Packet::decode(&stop).expect("decodes");
    assert_eq!(stop.get_int(AttrType::ACCT_STATUS_TYPE), Some(2));
    assert_eq!(
        stop.get(AttrType::ACCT_SESSION_ID),
        p.get(AttrType::ACCT_SESSION_ID)
    );
}

#[test]
fn retransmissions_repeat_the_packet_with_backoff_then_fail_over_with_a_new_one() {
    let mut c = client(2);
    let t0 = Instant::now();
    let w0 = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    c.call_point(t0, w0, CallPoint::Answer(record(1)));
    let (to, first) = sent(&drain(&mut c)).remove(0);
    // IRT 2 s, then 4 s, then 8 s (retries: 2).
    assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(2)));
    let mut now = t0 + Duration::from_secs(2);
    assert_eq!(c.due(now), vec![Timer::Retransmit(first[1])]);
    c.handle_timeout(now, w0 + Duration::from_secs(2));
    assert_eq!(sent(&drain(&mut c)), vec![(to, first.clone())]);
    assert_eq!(c.poll_timeout(), Some(now + Duration::from_secs(4)));
    now += Duration::from_secs(4);
    c.handle_timeout(now, w0 + Duration::from_secs(6));
    assert_eq!(sent(&drain(&mut c)), vec![(to, first.clone())]);
    assert_eq!(c.poll_timeout(), Some(now + Duration::from_secs(8)));
    now += Duration::from_secs(8);
    c.handle_timeout(now, w0 + Duration::from_secs(14));
    let out = drain(&mut c);
    assert!(out.contains(&ClientOutput::Notice(Notice::Timeout {
        server: "s0".into(),
        kind: Kind::Acct
    })));
    let (to2, second) = sent(&out).remove(0);
    assert_eq!(to2.port(), 18131, "the next server");
    assert_ne!(second[1], first[1], "a new identifier");
    let p1 = Packet::decode(&first).expect("decodes");
    let p2 = Packet::decode(&second).expect("decodes");
    assert_eq!(p2.get_int(AttrType::ACCT_DELAY_TIME), Some(14));
    assert_eq!(
        p1.get(AttrType::ACCT_SESSION_ID),
        p2.get(AttrType::ACCT_SESSION_ID)
    );
    // A late answer from the first server to the old identifier is not taken.
    c.handle_datagram(
        now,
        w0,
        to,
        &answer(&first, Code::ACCOUNTING_RESPONSE, vec![]),
    );
    assert_eq!(c.spool_depth(), 1);
    c.handle_datagram(
        now,
        w0,
        to2,
        &answer(&second, Code::ACCOUNTING_RESPONSE, vec![]),
    );
    assert_eq!(c.spool_depth(), 0);
}

#[test]
fn an_outage_holds_the_spool_until_the_retry_interval_then_delivers_in_order() {
    let mut c = client(1);
    let t0 = Instant::now();
    let w0 = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    c.call_point(t0, w0, CallPoint::Answer(record(1)));
    c.call_point(t0, w0, CallPoint::Answer(record(2)));
    let mut now = t0;
    // Run the clock until both requests gave up (2 + 4 + 8 s).
    while let Some(t) = c.poll_timeout() {
        if c.due(t).contains(&Timer::SpoolRetry) {
            break;
        }
        now = t;
        c.handle_timeout(now, w0 + now.duration_since(t0));
    }
    drain(&mut c);
    assert_eq!(c.spool_depth(), 2);
    assert_eq!(c.poll_timeout(), Some(now + Duration::from_secs(30)));
    // A third record during the outage is spooled, not sent.
    c.call_point(now, w0, CallPoint::End(record(1)));
    let out = drain(&mut c);
    assert!(sent(&out).is_empty(), "{out:?}");
    assert_eq!(c.spool_depth(), 3);
    now += Duration::from_secs(30);
    let wall = w0 + now.duration_since(t0);
    c.handle_timeout(now, wall);
    let requests = sent(&drain(&mut c));
    assert_eq!(requests.len(), 3);
    let statuses: Vec<u32> = requests
        .iter()
        .map(|(_, b)| {
            Packet::decode(b)
                .expect("decodes")
                .get_int(AttrType::ACCT_STATUS_TYPE)
                .expect("status")
        })
        .collect();
    assert_eq!(statuses, vec![1, 1, 2]);
    for (to, req) in &requests {
        c.handle_datagram(
            now,
            wall,
            *to,
            &answer(req, Code::ACCOUNTING_RESPONSE, vec![]),
        );
    }
    assert_eq!(c.spool_depth(), 0);
}

#[test]
fn restored_records_are_sent_with_their_delay() {
    let mut c = client(1);
    let t0 = Instant::now();
    let w0 = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    let rec = SpoolRecord {
        key: 41,
        event_secs: 1_790_000_000 - 100,
        attrs: accounting_attrs(&c.cfg.nas.clone(), &record(5), AcctStatus::STOP),
    };
    c.restore(t0, w0, vec![rec]);
    let (to, req) = sent(&drain(&mut c)).remove(0);
    let p = Packet::decode(&req).expect("decodes");
    assert_eq!(p.get_int(AttrType::ACCT_DELAY_TIME), Some(100));
    c.handle_datagram(t0, w0, to, &answer(&req, Code::ACCOUNTING_RESPONSE, vec![]));
    assert!(drain(&mut c).contains(&ClientOutput::SpoolRemove(41)));
    // New records continue after the restored keys.
    c.call_point(t0, w0, CallPoint::Answer(record(6)));
    assert!(
        drain(&mut c)
            .iter()
            .any(|o| matches!(o, ClientOutput::SpoolWrite(r) if r.key == 42))
    );
}

fn query(call: u64) -> AuthQuery {
    AuthQuery {
        call,
        trunk: "pbx".into(),
        calling: "2000".into(),
        called: "4000".into(),
        source: None,
        call_id: None,
    }
}

#[test]
fn access_accept_grants_the_smaller_credit() {
    let mut c = client(1);
    let t0 = Instant::now();
    let w0 = SystemTime::now();
    c.authorize(t0, query(3));
    let (to, req) = sent(&drain(&mut c)).remove(0);
    assert_eq!(to.port(), 18120);
    let ok = answer(
        &req,
        Code::ACCESS_ACCEPT,
        vec![
            ma(),
            Attr::int(AttrType::SESSION_TIMEOUT, 3600),
            Attr::cisco(CiscoAttr::H323_CREDIT_TIME, "45"),
        ],
    );
    c.handle_datagram(t0, w0, to, &ok);
    assert!(drain(&mut c).contains(&ClientOutput::Auth {
        call: 3,
        answer: AuthAnswer::Accept {
            limit: Some(Duration::from_secs(45))
        }
    }));
}

#[test]
fn access_reject_and_forged_or_unsigned_answers() {
    let mut c = client(1);
    let t0 = Instant::now();
    let w0 = SystemTime::now();
    c.authorize(t0, query(4));
    let (to, req) = sent(&drain(&mut c)).remove(0);
    // No Message-Authenticator: dropped.
    c.handle_datagram(t0, w0, to, &answer(&req, Code::ACCESS_ACCEPT, vec![]));
    let out = drain(&mut c);
    assert!(
        !out.iter().any(|o| matches!(o, ClientOutput::Auth { .. })),
        "{out:?}"
    );
    // From another address: dropped.
    let other = SocketAddr::from(([127, 0, 0, 2], 18120));
    c.handle_datagram(
        t0,
        w0,
        other,
        &answer(&req, Code::ACCESS_ACCEPT, vec![ma()]),
    );
    assert!(
        !drain(&mut c)
            .iter()
            .any(|o| matches!(o, ClientOutput::Auth { .. }))
    );
    c.handle_datagram(t0, w0, to, &answer(&req, Code::ACCESS_REJECT, vec![ma()]));
    let out = drain(&mut c);
    assert!(out.contains(&ClientOutput::Auth {
        call: 4,
        answer: AuthAnswer::Reject
    }));
    assert!(out.contains(&ClientOutput::Notice(Notice::Rejected {
        server: "s0".into()
    })));
}

#[test]
fn no_server_answering_makes_the_call_unavailable() {
    let mut c = client(2);
    let t0 = Instant::now();
    let w0 = SystemTime::now();
    c.authorize(t0, query(5));
    let mut ports = Vec::new();
    let mut answers = Vec::new();
    let mut now = t0;
    ports.extend(sent(&drain(&mut c)).into_iter().map(|s| s.0.port()));
    while let Some(t) = c.poll_timeout() {
        now = t;
        c.handle_timeout(now, w0);
        for o in drain(&mut c) {
            match o {
                ClientOutput::Transmit { to, .. } => ports.push(to.port()),
                ClientOutput::Auth { answer, .. } => answers.push(answer),
                _ => {}
            }
        }
    }
    assert_eq!(ports, vec![18120, 18120, 18120, 18121, 18121, 18121]);
    assert_eq!(answers, vec![AuthAnswer::Unavailable]);
    assert_eq!(now, t0 + Duration::from_secs(2 * (2 + 4 + 8)));
}

#[test]
fn interim_updates_follow_the_interval_until_the_stop() {
    let mut c = client(1);
    let t0 = Instant::now();
    let w0 = UNIX_EPOCH + Duration::from_secs(1_790_000_000);
    c.call_point(t0, w0, CallPoint::Answer(record(1)));
    let (to, req) = sent(&drain(&mut c)).remove(0);
    c.handle_datagram(t0, w0, to, &answer(&req, Code::ACCOUNTING_RESPONSE, vec![]));
    drain(&mut c);
    let at = t0 + Duration::from_secs(60);
    assert_eq!(c.poll_timeout(), Some(at));
    assert_eq!(c.due(at), vec![Timer::Interim(1)]);
    c.handle_timeout(at, w0 + Duration::from_secs(60));
    let (to, req) = sent(&drain(&mut c)).remove(0);
    let p = Packet::decode(&req).expect("decodes");
    assert_eq!(p.get_int(AttrType::ACCT_STATUS_TYPE), Some(3));
    c.handle_datagram(at, w0, to, &answer(&req, Code::ACCOUNTING_RESPONSE, vec![]));
    assert_eq!(c.poll_timeout(), Some(at + Duration::from_secs(60)));
    c.call_point(at, w0, CallPoint::End(record(1)));
    let (to, req) = sent(&drain(&mut c)).remove(0);
    c.handle_datagram(at, w0, to, &answer(&req, Code::ACCOUNTING_RESPONSE, vec![]));
    assert_eq!(c.poll_timeout(), None, "no interim after the stop");
    assert_eq!(c.sessions(), 0);
}

#[test]
fn without_an_accounting_server_nothing_is_spooled() {
    let mut c = client(1);
    c.cfg.servers[0].acct = None;
    let t0 = Instant::now();
    let w0 = SystemTime::now();
    c.call_point(t0, w0, CallPoint::Answer(record(1)));
    c.call_point(t0, w0, CallPoint::End(record(1)));
    assert!(drain(&mut c).is_empty());
    assert_eq!(c.spool_depth(), 0);
}

#[test]
fn unanswered_calls_get_start_and_stop_only_with_start_at_attempt() {
    let mut c = client(1);
    let t0 = Instant::now();
    let w0 = SystemTime::now();
    c.call_point(t0, w0, CallPoint::Attempt(record(1)));
    c.call_point(t0, w0, CallPoint::End(record(1)));
    assert!(sent(&drain(&mut c)).is_empty());
    c.cfg.start_at_attempt = true;
    c.call_point(t0, w0, CallPoint::Attempt(record(2)));
    c.call_point(t0, w0, CallPoint::Answer(record(2)));
    c.call_point(t0, w0, CallPoint::End(record(2)));
    let statuses: Vec<u32> = sent(&drain(&mut c))
        .iter()
        .map(|(_, b)| {
            Packet::decode(b)
                .expect("decodes")
                .get_int(AttrType::ACCT_STATUS_TYPE)
                .expect("status")
        })
        .collect();
    assert_eq!(statuses, vec![1, 2], "one Start (at attempt), one Stop");
}

#[test]
fn after_a_failover_new_requests_go_to_the_server_that_answered() {
    let mut c = client(2);
    let t0 = Instant::now();
    let w0 = SystemTime::now();
    c.authorize(t0, query(1));
    let mut now = t0;
    let mut to_s1 = None;
    // s0 never answers: after its retransmissions the request goes to s1.
    drain(&mut c);
    while to_s1.is_none() {
        now = c.poll_timeout().expect("a timer");
        c.handle_timeout(now, w0);
        to_s1 = sent(&drain(&mut c))
            .into_iter()
            .find(|(to, _)| to.port() == 18121);
    }
    let (to, req) = to_s1.expect("sent to s1");
    c.handle_datagram(now, w0, to, &answer(&req, Code::ACCESS_ACCEPT, vec![ma()]));
    drain(&mut c);
    // The next call goes straight to s1 and gets its answer without waiting on s0.
    c.authorize(now, query(2));
    let (to, req) = sent(&drain(&mut c)).remove(0);
    assert_eq!(to.port(), 18121);
    c.handle_datagram(now, w0, to, &answer(&req, Code::ACCESS_REJECT, vec![ma()]));
    assert!(drain(&mut c).contains(&ClientOutput::Auth {
        call: 2,
        answer: AuthAnswer::Reject
    }));
    // s1 going quiet: failover wraps round to s0, then gives up at s1 again.
    c.authorize(now, query(3));
    let mut ports = vec![sent(&drain(&mut c))[0].0.port()];
    let mut answers = Vec::new();
    while let Some(t) = c.poll_timeout() {
        c.handle_timeout(t, w0);
        for o in drain(&mut c) {
            match o {
                ClientOutput::Transmit { to, .. } => ports.push(to.port()),
                ClientOutput::Auth { answer, .. } => answers.push(answer),
                _ => {}
            }
        }
    }
    assert_eq!(ports, vec![18121, 18121, 18121, 18120, 18120, 18120]);
    assert_eq!(answers, vec![AuthAnswer::Unavailable]);
    // Every server failed: the next request starts at the first again.
    c.authorize(now, query(4));
    assert_eq!(sent(&drain(&mut c))[0].0.port(), 18120);
}
