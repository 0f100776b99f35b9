//! RADIUS against FreeRADIUS 3.2.1 (Debian `freeradius`), on loopback, with a config
//! directory each test writes into its own temp dir (see shared/PEERS.md §4):
//! - authentication before routing: accept and reject by calling number, a credit time
//!   (h323-credit-time) that ends the call with cause 102;
//! - accounting Start, Interim-Update and Stop in FreeRADIUS's `detail` file, the Cisco
//!   VSAs decoded by name by FreeRADIUS's own dictionary;
//! - faults: FreeRADIUS stopped during calls (records spooled), gatewayd SIGKILLed
//!   mid-call and restarted (the spool survives), FreeRADIUS back (every record
//!   delivered exactly once per Acct-Session-Id and Acct-Status-Type), CDRs whole;
//! - failover from a dead first server, which new requests then avoid;
//! - a SIGTERM with a call up delivers its Stop before the exit;
//! - tshark decodes the gateway's RADIUS traffic with the shared secret.
//!
//! Calls are made by a tiny SIP UAC in this file toward the gateway's built-in tone
//! endpoint. Every wait is bounded; processes are stopped through their own pids.

#[path = "gatewayd_support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::{Duration, Instant};
use support::baresip::peers_available;
use support::{Daemon, Ports, WAIT, metric, write_file};

const SECRET: &str = "testing123";
const POLL: Duration = Duration::from_millis(25);

/// A UDP port pair for FreeRADIUS below the ephemeral range (32768-60999), so it never
/// collides with a client socket; distinct per test process and call.
fn radius_ports() -> (u16, u16) {
    static NEXT: AtomicU16 = AtomicU16::new(0);
    let base = 20_000 + (std::process::id() % 600) as u16 * 20;
    loop {
        let n = NEXT.fetch_add(2, Ordering::Relaxed);
        let auth = base + n % 20;
        let free = |p: u16| UdpSocket::bind((Ipv4Addr::LOCALHOST, p)).is_ok();
        if free(auth) && free(auth + 1) {
            return (auth, auth + 1);
        }
        assert!(n < 2000, "no free RADIUS ports");
    }
}

/// FreeRADIUS in the foreground with its own config directory.
struct FreeRadius {
    dir: PathBuf,
    child: Option<Child>,
    auth: u16,
    acct: u16,
}

impl FreeRadius {
    fn new(dir: &Path) -> FreeRadius {
        let (auth, acct) = radius_ports();
        let raddb = dir.join("raddb");
        for d in ["radacct", "log", "run"] {
            std::fs::create_dir_all(raddb.join(d)).expect("mkdir raddb");
        }
        let conf = format!(
            "raddbdir = {raddb}\nconfdir = ${{raddbdir}}\ndictdir = /usr/share/freeradius\n\
             libdir = /usr/lib/freeradius\nlogdir = ${{raddbdir}}/log\n\
             radacctdir = ${{raddbdir}}/radacct\nrun_dir = ${{raddbdir}}/run\n\
             client gateway {{\n\tipaddr = 127.0.0.1\n\tsecret = {SECRET}\n}}\n\
             modules {{\n\tfiles {{\n\t\tfilename = ${{raddbdir}}/users\n\
             \t\tacctusersfile = ${{raddbdir}}/acct_users\n\
             \t\tpreproxy_usersfile = ${{raddbdir}}/preproxy_users\n\t}}\n\tpap {{\n\t}}\n\
             \tdetail {{\n\t\tfilename = ${{radacctdir}}/detail\n\t}}\n}}\n\
             server default {{\n\
             \tlisten {{\n\t\ttype = auth\n\t\tipaddr = 127.0.0.1\n\t\tport = {auth}\n\t}}\n\
             \tlisten {{\n\t\ttype = acct\n\t\tipaddr = 127.0.0.1\n\t\tport = {acct}\n\t}}\n\
             \tauthorize {{\n\t\tfiles\n\t\tpap\n\t}}\n\
             \tauthenticate {{\n\t\tpap\n\t}}\n\
             \taccounting {{\n\t\tdetail\n\t}}\n}}\n",
            raddb = raddb.display()
        );
        write_file(&raddb, "radiusd.conf", &conf);
        // 2000: accepted with an hour; 2001: accepted with a 2 s credit (Cisco's
        // h323-credit-time); anyone else rejected. FreeRADIUS 3.2.1 signs answers only
        // when told to (Message-Authenticator among the reply items).
        write_file(
            &raddb,
            "users",
            "2000\tAuth-Type := Accept\n\
             \tSession-Timeout := 3600, Message-Authenticator := 0x00\n\
             2001\tAuth-Type := Accept\n\
             \th323-credit-time := \"h323-credit-time=2\", Message-Authenticator := 0x00\n\
             DEFAULT\tAuth-Type := Reject\n\
             \tMessage-Authenticator := 0x00\n",
        );
        write_file(&raddb, "acct_users", "");
        write_file(&raddb, "preproxy_users", "");
        write_file(&raddb, "dictionary", "# nothing of our own\n");
        FreeRadius {
            dir: dir.to_path_buf(),
            child: None,
            auth,
            acct,
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("radiusd.log")
    }

    /// Starts it and waits until it says it is ready.
    fn start(&mut self) {
        assert!(self.child.is_none());
        let log = self.log_path();
        let _ = std::fs::remove_file(&log);
        let child = Command::new("freeradius")
            .args(["-f", "-X", "-d"])
            .arg(self.dir.join("raddb"))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).expect("log"))
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn freeradius");
        self.child = Some(child);
        let deadline = Instant::now() + WAIT;
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("Ready to process requests") {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("freeradius exited ({status}):\n{text}");
            }
            assert!(Instant::now() < deadline, "freeradius not ready:\n{text}");
            std::thread::sleep(POLL);
        }
    }

    /// Stops it (SIGKILL to its own pid).
    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn detail(&self) -> String {
        std::fs::read_to_string(self.dir.join("raddb/radacct/detail")).unwrap_or_default()
    }

    /// The detail file's records: attribute name -> value (quotes removed).
    fn records(&self) -> Vec<HashMap<String, String>> {
        let mut out = Vec::new();
        let mut cur: Option<HashMap<String, String>> = None;
        for line in self.detail().lines() {
            if line.starts_with('\t') {
                if let (Some(r), Some((k, v))) = (cur.as_mut(), line.trim().split_once(" = ")) {
                    r.insert(k.to_owned(), v.trim_matches('"').to_owned());
                }
            } else if !line.trim().is_empty() {
                out.extend(cur.take());
                cur = Some(HashMap::new());
            }
        }
        out.extend(cur);
        out
    }

    /// Waits until `pred` holds on the records.
    fn wait_records(
        &self,
        what: &str,
        pred: impl Fn(&[HashMap<String, String>]) -> bool,
    ) -> Vec<HashMap<String, String>> {
        let deadline = Instant::now() + WAIT * 2;
        loop {
            let r = self.records();
            if pred(&r) {
                return r;
            }
            assert!(
                Instant::now() < deadline,
                "detail file never showed {what}:\n{}",
                self.detail()
            );
            std::thread::sleep(POLL);
        }
    }
}

impl Drop for FreeRadius {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "freeradius log:\n{}",
                std::fs::read_to_string(self.log_path()).unwrap_or_default()
            );
        }
    }
}

/// A gateway config: trunk `phones` for the test's UAC, the tone endpoint on `1…`, and
/// RADIUS on `rad` (authentication for `phones` when `auth`).
fn config(ports: Ports, uac: SocketAddr, rad: &FreeRadius, auth: bool, spool: &Path) -> String {
    let mut c = ports.config();
    c.push_str(&format!(
        "trunks:\n  - {{ name: phones, kind: sip, remote: \"{uac}\" }}\n\
         \x20 - {{ name: tone, kind: local, answer: tone, ring_ms: 0 }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: tone, match: {{called: {{prefix: \"1\"}}}}, egress: [tone] }}\n\
         radius:\n  servers:\n\
         \x20   - {{ address: 127.0.0.1, secret: {SECRET}, auth_port: {a}, acct_port: {b} }}\n\
         \x20 timeout_seconds: 1\n  retries: 1\n  retry_interval_seconds: 1\n\
         \x20 interim_seconds: 1\n  spool_directory: \"{spool}\"\n",
        a = rad.auth,
        b = rad.acct,
        spool = spool.display()
    ));
    if auth {
        c.push_str("  authenticate: [phones]\n");
    }
    c
}

/// A minimal SIP UAC on its own socket.
struct Uac {
    sock: UdpSocket,
    gw: SocketAddr,
}

struct Dialog {
    call_id: String,
    from: String,
    to: String,
    target: String,
}

impl Uac {
    fn new(gw_port: u16) -> Uac {
        let sock = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        sock.set_read_timeout(Some(POLL)).expect("timeout");
        Uac {
            sock,
            gw: SocketAddr::from((Ipv4Addr::LOCALHOST, gw_port)),
        }
    }

    fn addr(&self) -> SocketAddr {
        self.sock.local_addr().expect("bound")
    }

    fn send(&self, text: &str) {
        self.sock.send_to(text.as_bytes(), self.gw).expect("send");
    }

    /// The next message, within the wait.
    fn recv(&self, deadline: Instant) -> Option<String> {
        let mut buf = vec![0u8; 65_536];
        while Instant::now() < deadline {
            if let Ok(n) = self.sock.recv(&mut buf) {
                return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
            }
        }
        None
    }

    /// INVITE from `calling` to `called`; the final response.
    fn invite(&self, calling: &str, called: &str, call_id: &str) -> (u16, String) {
        let me = self.addr();
        let sdp = format!(
            "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
             m=audio {} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n",
            me.port() + 1
        );
        self.send(&format!(
            "INVITE sip:{called}@{gw} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{call_id};rport\r\n\
             Max-Forwards: 70\r\nFrom: <sip:{calling}@127.0.0.1>;tag=t{call_id}\r\n\
             To: <sip:{called}@127.0.0.1>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n\
             Contact: <sip:{calling}@{me}>\r\nContent-Type: application/sdp\r\n\
             Content-Length: {}\r\n\r\n{sdp}",
            sdp.len(),
            gw = self.gw
        ));
        let deadline = Instant::now() + WAIT;
        loop {
            let m = self.recv(deadline).expect("a final response to the INVITE");
            let status: u16 = m
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            if m.starts_with("SIP/2.0") && status >= 200 && header(&m, "CSeq").contains("INVITE") {
                return (status, m);
            }
        }
    }

    /// ACKs a 2xx: the dialog.
    fn ack(&self, ok: &str) -> Dialog {
        let target = header(ok, "Contact")
            .trim_start_matches('<')
            .split('>')
            .next()
            .unwrap_or_default()
            .to_owned();
        let d = Dialog {
            call_id: header(ok, "Call-ID"),
            from: header(ok, "From"),
            to: header(ok, "To"),
            target,
        };
        self.request(&d, "ACK", 1);
        d
    }

    fn request(&self, d: &Dialog, method: &str, cseq: u32) {
        self.send(&format!(
            "{method} {t} SIP/2.0\r\nVia: SIP/2.0/UDP {me};branch=z9hG4bK{method}{c};rport\r\n\
             Max-Forwards: 70\r\nFrom: {f}\r\nTo: {to}\r\nCall-ID: {c}\r\nCSeq: {cseq} {method}\r\n\
             Content-Length: 0\r\n\r\n",
            t = d.target,
            me = self.addr(),
            f = d.from,
            to = d.to,
            c = d.call_id
        ));
    }

    /// Sends BYE and waits for its 200.
    fn bye(&self, d: &Dialog) {
        self.request(d, "BYE", 2);
        let deadline = Instant::now() + WAIT;
        loop {
            let m = self.recv(deadline).expect("200 to BYE");
            if m.starts_with("SIP/2.0 200") && header(&m, "CSeq").contains("BYE") {
                return;
            }
        }
    }

    /// Waits for the gateway's BYE and answers it.
    fn wait_bye(&self) {
        let deadline = Instant::now() + WAIT;
        loop {
            let m = self.recv(deadline).expect("a BYE from the gateway");
            if m.starts_with("BYE ") {
                let mut resp = String::from("SIP/2.0 200 OK\r\n");
                for h in ["Via", "From", "To", "Call-ID", "CSeq"] {
                    resp.push_str(&format!("{h}: {}\r\n", header(&m, h)));
                }
                resp.push_str("Content-Length: 0\r\n\r\n");
                self.send(&resp);
                return;
            }
        }
    }
}

fn header(msg: &str, name: &str) -> String {
    support::header(msg, name).unwrap_or_default().to_owned()
}

/// Counts per (Acct-Session-Id, Acct-Status-Type).
/// Records per Acct-Session-Id and Acct-Status-Type; Interim-Updates are periodic (a
/// call may have several, RFC 2866 §5.1), so each is also keyed by its Acct-Session-Time:
/// a count above one is then a record delivered twice.
fn counts(records: &[HashMap<String, String>]) -> HashMap<(String, String), usize> {
    let mut m = HashMap::new();
    for r in records {
        let status = r.get("Acct-Status-Type").cloned().unwrap_or_default();
        let status = if status == "Interim-Update" {
            format!(
                "{status}@{}",
                r.get("Acct-Session-Time").map_or("", String::as_str)
            )
        } else {
            status
        };
        let key = (
            r.get("Acct-Session-Id").cloned().unwrap_or_default(),
            status,
        );
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

fn has(records: &[HashMap<String, String>], calling: &str, status: &str) -> bool {
    records.iter().any(|r| {
        r.get("Calling-Station-Id").map(String::as_str) == Some(calling)
            && r.get("Acct-Status-Type").map(String::as_str) == Some(status)
    })
}

fn spool_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().ends_with(".acct"))
                .count()
        })
        .unwrap_or(0)
}

#[test]
fn authentication_credit_and_accounting_with_cisco_vsas() {
    if !peers_available("radius_freeradius", &["freeradius"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut rad = FreeRadius::new(tmp.path());
    rad.start();
    let ports = Ports::free();
    let uac = Uac::new(ports.sip);
    let spool = tmp.path().join("spool");
    let mut gw = Daemon::start_with(ports, &config(ports, uac.addr(), &rad, true, &spool));

    // Rejected by calling number: cause 21 (SIP 603 by the cause table), never routed,
    // no accounting.
    let (status, _) = uac.invite("2999", "1000", "rej1");
    assert_eq!(status, 603);

    // Accepted: answered, an Interim-Update while it lasts, Stop after the BYE.
    let (status, ok) = uac.invite("2000", "1000", "acc1");
    assert_eq!(status, 200);
    let d = uac.ack(&ok);
    rad.wait_records("an Interim-Update", |r| has(r, "2000", "Interim-Update"));
    uac.bye(&d);
    let records = rad.wait_records("the Stop", |r| has(r, "2000", "Stop"));
    let stop = records
        .iter()
        .find(|r| r.get("Acct-Status-Type").map(String::as_str) == Some("Stop"))
        .expect("stop");
    for vsa in [
        "h323-conf-id",
        "h323-call-origin",
        "h323-call-type",
        "h323-setup-time",
        "h323-connect-time",
        "h323-disconnect-time",
        "h323-disconnect-cause",
        "h323-remote-address",
        "h323-gw-id",
        "Cisco-AVPair",
    ] {
        assert!(stop.contains_key(vsa), "{vsa} decoded by name: {stop:?}");
    }
    assert_eq!(stop["h323-call-origin"], "h323-call-origin=answer");
    assert_eq!(stop["h323-disconnect-cause"], "h323-disconnect-cause=10");
    assert_eq!(stop["h323-remote-address"], "h323-remote-address=127.0.0.1");
    assert_eq!(stop["Cisco-AVPair"], "call-id=acc1");
    assert_eq!(stop["Called-Station-Id"], "1000");
    assert_eq!(stop["Acct-Terminate-Cause"], "User-Request");
    for attr in [
        "Acct-Session-Time",
        "Acct-Input-Octets",
        "Acct-Output-Octets",
        "Acct-Input-Packets",
        "Acct-Output-Packets",
        "Event-Timestamp",
    ] {
        assert!(stop.contains_key(attr), "{attr}: {stop:?}");
    }
    let session = &stop["Acct-Session-Id"];
    let start = records
        .iter()
        .find(|r| r.get("Acct-Status-Type").map(String::as_str) == Some("Start"))
        .expect("start");
    assert_eq!(&start["Acct-Session-Id"], session);
    assert_eq!(start["h323-conf-id"], stop["h323-conf-id"]);
    assert!(
        !records
            .iter()
            .any(|r| r.get("Calling-Station-Id").map(String::as_str) == Some("2999"))
    );

    // A 2 s credit: the gateway ends the call with cause 102, Session-Timeout.
    let (status, ok) = uac.invite("2001", "1000", "cred1");
    assert_eq!(status, 200);
    let _d = uac.ack(&ok);
    uac.wait_bye();
    let records = rad.wait_records("the credit call's Stop", |r| has(r, "2001", "Stop"));
    let stop = records
        .iter()
        .find(|r| {
            r.get("Calling-Station-Id").map(String::as_str) == Some("2001")
                && r.get("Acct-Status-Type").map(String::as_str) == Some("Stop")
        })
        .expect("stop");
    assert_eq!(stop["Acct-Terminate-Cause"], "Session-Timeout");
    assert_eq!(stop["h323-disconnect-cause"], "h323-disconnect-cause=66");

    let cdrs = gw.wait_cdrs(3);
    let cause_of = |id: &str| {
        cdrs.iter()
            .find(|c| c["ingress_call_id"] == id)
            .map(|c| c["cause"].clone())
    };
    assert_eq!(cause_of("rej1"), Some(serde_json::json!(21)), "{cdrs:?}");
    assert_eq!(cause_of("cred1"), Some(serde_json::json!(102)), "{cdrs:?}");
    gw.wait_metrics("three CDRs written", |t| {
        metric(t, "gateway_cdrs_written_total", &[]) == Some(3.0)
    });
    // The last acknowledgement may still be on its way after the detail file shows it.
    gw.wait_metrics("a reject and an empty spool", |t| {
        metric(
            t,
            "gateway_radius_rejects_total",
            &[("server", "127.0.0.1")],
        ) == Some(1.0)
            && metric(t, "gateway_radius_spool_depth", &[]) == Some(0.0)
    });
    assert_eq!(spool_files(&spool), 0);
    // Each record once.
    assert!(
        counts(&rad.records()).values().all(|n| *n == 1),
        "{}",
        rad.detail()
    );

    // SIGTERM with a call up: after the drain the call is cleared, and its Stop is
    // delivered and acknowledged before gatewayd exits (nothing left to send twice).
    let (status, ok) = uac.invite("2000", "1000", "term1");
    assert_eq!(status, 200);
    let _d = uac.ack(&ok);
    rad.wait_records("the last call's Start", |r| {
        r.iter()
            .any(|x| x.get("Cisco-AVPair").map(String::as_str) == Some("call-id=term1"))
    });
    gw.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(gw.wait_exit().success());
    let records = rad.records();
    let stops = records
        .iter()
        .filter(|x| {
            x.get("Cisco-AVPair").map(String::as_str) == Some("call-id=term1")
                && x.get("Acct-Status-Type").map(String::as_str) == Some("Stop")
        })
        .count();
    assert_eq!(stops, 1, "{}", rad.detail());
    assert_eq!(spool_files(&spool), 0, "nothing left in the spool");
}

#[test]
fn outage_and_sigkill_spool_then_exactly_once_delivery() {
    if !peers_available("radius_freeradius", &["freeradius"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut rad = FreeRadius::new(tmp.path());
    rad.start();
    let ports = Ports::free();
    let uac = Uac::new(ports.sip);
    let spool = tmp.path().join("spool");
    let gw_dir = tmp.path().join("gw");
    std::fs::create_dir_all(&gw_dir).expect("mkdir");
    let cfg = write_file(
        &gw_dir,
        "gateway.yaml",
        &config(ports, uac.addr(), &rad, false, &spool)
            .replace("interim_seconds: 1", "interim_seconds: 600"),
    );
    let args = ["--config", cfg.to_str().expect("utf-8")];
    let mut gw = Daemon::spawn(&gw_dir, ports.metrics, &args);
    gw.wait_ready();

    // One call delivered while FreeRADIUS is up.
    let (status, ok) = uac.invite("2000", "1000", "up1");
    assert_eq!(status, 200);
    let d = uac.ack(&ok);
    uac.bye(&d);
    rad.wait_records("the first call's Stop", |r| has(r, "2000", "Stop"));

    // FreeRADIUS stops; one call starts and ends, another starts and stays up.
    rad.stop();
    let (status, ok) = uac.invite("3000", "1000", "down1");
    assert_eq!(status, 200);
    let d = uac.ack(&ok);
    uac.bye(&d);
    let (status, ok) = uac.invite("3001", "1000", "down2");
    assert_eq!(status, 200);
    let _up = uac.ack(&ok);
    gw.wait_metrics("three records spooled", |t| {
        metric(t, "gateway_radius_spool_depth", &[]) == Some(3.0)
    });
    let cdrs_before = gw.wait_cdrs(2);

    // SIGKILL mid-call: the spool survives on disk.
    gw.signal(nix::sys::signal::Signal::SIGKILL);
    gw.wait_exit();
    assert_eq!(spool_files(&spool), 3, "spool after SIGKILL");

    // Restarted while FreeRADIUS is still down: the spool is read back.
    let mut gw = Daemon::spawn(&gw_dir, ports.metrics, &args);
    gw.wait_ready();
    gw.wait_metrics("the spool read back", |t| {
        metric(t, "gateway_radius_spool_depth", &[]) == Some(3.0)
    });

    // FreeRADIUS back: everything arrives, each record once.
    rad.start();
    gw.wait_metrics("an empty spool", |t| {
        metric(t, "gateway_radius_spool_depth", &[]) == Some(0.0)
    });
    assert_eq!(spool_files(&spool), 0);
    let records = rad.records();
    assert!(has(&records, "3000", "Start") && has(&records, "3000", "Stop"));
    assert!(has(&records, "3001", "Start"));
    let c = counts(&records);
    assert_eq!(c.len(), 5, "2 + 2 + 1 records: {}", rad.detail());
    assert!(c.values().all(|n| *n == 1), "{c:?}\n{}", rad.detail());
    // The delayed ones say so.
    assert!(
        records
            .iter()
            .filter(|r| r["Calling-Station-Id"].starts_with("300"))
            .all(|r| r.contains_key("Acct-Delay-Time"))
    );

    // CDRs: the two finished calls, each once, every line whole JSON (wait_cdrs parses).
    let cdrs = gw.wait_cdrs(2);
    assert_eq!(cdrs.len(), 2, "{cdrs:?}");
    assert_eq!(cdrs, cdrs_before);
    let ids: Vec<&str> = cdrs
        .iter()
        .filter_map(|c| c["ingress_call_id"].as_str())
        .collect();
    assert_eq!(ids, ["up1", "down1"]);
    // This run wrote none of them (they were written before the SIGKILL).
    assert_eq!(
        metric(&gw.metrics(), "gateway_cdrs_written_total", &[]),
        Some(0.0)
    );
}

// ----- wire validation by tshark -------------------------------------------------------

/// A datagram seen by the test's own RADIUS server: (from, to, bytes).
type Seen = (SocketAddr, SocketAddr, Vec<u8>);

/// A RADIUS server of the test's own, answering with the gateway crate's codec
/// (Access-Accept with a Message-Authenticator; Accounting-Response), recording every
/// datagram both ways. Runs until `stop` is set.
fn recording_server(
    auth: UdpSocket,
    acct: UdpSocket,
    seen: std::sync::Arc<std::sync::Mutex<Vec<Seen>>>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use gateway::radius::dict::AttrType;
    use gateway::radius::packet::{Attr, Code, Packet, encode_response, verify_accounting_request};
    for s in [&auth, &acct] {
        s.set_read_timeout(Some(POLL)).expect("timeout");
    }
    let mut buf = vec![0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        for s in [&auth, &acct] {
            let Ok((n, from)) = s.recv_from(&mut buf) else {
                continue;
            };
            let req = buf[..n].to_vec();
            let Ok(p) = Packet::decode(&req) else {
                continue;
            };
            let mut ra = [0u8; 16];
            ra.copy_from_slice(&req[4..20]);
            let answer = match p.code {
                Code::ACCESS_REQUEST => Packet {
                    code: Code::ACCESS_ACCEPT,
                    identifier: p.identifier,
                    authenticator: [0; 16],
                    attrs: vec![
                        Attr::int(AttrType::SESSION_TIMEOUT, 3600),
                        Attr::Std(AttrType::MESSAGE_AUTHENTICATOR, vec![0; 16]),
                    ],
                },
                Code::ACCOUNTING_REQUEST if verify_accounting_request(&req, SECRET.as_bytes()) => {
                    Packet {
                        code: Code::ACCOUNTING_RESPONSE,
                        identifier: p.identifier,
                        authenticator: [0; 16],
                        attrs: vec![],
                    }
                }
                _ => continue,
            };
            let bytes = encode_response(&answer, &ra, SECRET.as_bytes());
            let me = s.local_addr().expect("bound");
            s.send_to(&bytes, from).expect("answer");
            let mut seen = seen.lock().expect("not poisoned");
            seen.push((from, me, req));
            seen.push((me, from, bytes));
        }
    }
}

/// IPv4 + UDP headers around a payload (LINKTYPE_RAW), with the IPv4 header checksum.
fn ipv4_udp(from: SocketAddr, to: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let (SocketAddr::V4(f), SocketAddr::V4(t)) = (from, to) else {
        panic!("IPv4 loopback only");
    };
    let total = 20 + 8 + payload.len();
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&(total as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
    p.extend_from_slice(&f.ip().octets());
    p.extend_from_slice(&t.ip().octets());
    let sum: u32 = p
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], w[1]])))
        .sum();
    let folded = (sum & 0xffff) + (sum >> 16);
    let check = !((folded & 0xffff) + (folded >> 16)) as u16;
    p[10..12].copy_from_slice(&check.to_be_bytes());
    p.extend_from_slice(&f.port().to_be_bytes());
    p.extend_from_slice(&t.port().to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]); // UDP checksum optional over IPv4 (RFC 768)
    p.extend_from_slice(payload);
    p
}

#[test]
fn tshark_decodes_the_radius_traffic_with_the_secret() {
    use pcap_file::DataLink;
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    if !peers_available("radius_freeradius", &["tshark"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let (auth_port, acct_port) = radius_ports();
    let auth = UdpSocket::bind((Ipv4Addr::LOCALHOST, auth_port)).expect("bind auth");
    let acct = UdpSocket::bind((Ipv4Addr::LOCALHOST, acct_port)).expect("bind acct");
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let server = {
        let (seen, stop) = (seen.clone(), stop.clone());
        std::thread::spawn(move || recording_server(auth, acct, seen, stop))
    };
    let ports = Ports::free();
    let uac = Uac::new(ports.sip);
    let rad = FreeRadius {
        dir: tmp.path().to_path_buf(),
        child: None,
        auth: auth_port,
        acct: acct_port,
    };
    let gw = Daemon::start_with(
        ports,
        &config(ports, uac.addr(), &rad, true, &tmp.path().join("spool")),
    );
    let (status, ok) = uac.invite("2000", "1000", "wire1");
    assert_eq!(status, 200);
    let d = uac.ack(&ok);
    uac.bye(&d);
    gw.wait_cdrs(1);
    let deadline = Instant::now() + WAIT;
    // Access-Request, Start, Stop (and perhaps Interims), each with its answer.
    while seen.lock().expect("not poisoned").len() < 6
        || gw.metrics().contains("gateway_radius_spool_depth 1")
    {
        assert!(Instant::now() < deadline, "RADIUS exchange incomplete");
        std::thread::sleep(POLL);
    }
    gw.wait_metrics("an empty spool", |t| {
        metric(t, "gateway_radius_spool_depth", &[]) == Some(0.0)
    });
    stop.store(true, Ordering::Relaxed);
    server.join().expect("server thread");

    let pcap = tmp.path().join("radius.pcap");
    let file = std::fs::File::create(&pcap).expect("create pcap");
    let header = PcapHeader {
        datalink: DataLink::RAW,
        ..Default::default()
    };
    let mut w = PcapWriter::with_header(file, header).expect("pcap header");
    for (i, (from, to, bytes)) in seen.lock().expect("not poisoned").iter().enumerate() {
        let data = ipv4_udp(*from, *to, bytes);
        let ts = Duration::from_millis(10 * i as u64);
        w.write_packet(&PcapPacket::new(ts, data.len() as u32, &data))
            .expect("pcap packet");
    }
    drop(w);
    // GATEWAY_KEEP_PCAP=DIR keeps the capture for a look in Wireshark.
    if let Some(keep) = std::env::var_os("GATEWAY_KEEP_PCAP") {
        let _ = std::fs::copy(&pcap, Path::new(&keep).join("radius.pcap"));
    }

    let decode_as = [
        format!("udp.port=={auth_port},radius"),
        format!("udp.port=={acct_port},radius"),
    ];
    let out = Command::new("tshark")
        .args(["-n", "-r"])
        .arg(&pcap)
        .args(["-d", &decode_as[0], "-d", &decode_as[1]])
        .args(["-o", &format!("radius.shared_secret:{SECRET}")])
        .args(["-o", "radius.validate_authenticator:TRUE", "-V"])
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    std::fs::write(tmp.path().join("tshark.txt"), &text).expect("keep the decode");
    assert!(!text.contains("Malformed"), "{text}");
    for want in [
        "Access-Request",
        "Access-Accept",
        "Accounting-Request",
        "Accounting-Response",
        "Acct-Status-Type: Start",
        "Acct-Status-Type: Stop",
        "Vendor-Specific",
        "h323-conf-id",
        "h323-setup-time",
        "h323-disconnect-cause",
        "h323-gw-id",
        "Cisco-AVPair",
        "Message-Authenticator",
    ] {
        assert!(text.contains(want), "tshark shows {want}:\n{text}");
    }
    // With the secret, tshark reveals the hidden User-Password (the calling number)
    // and checks every answer's Response Authenticator against our request's.
    assert!(text.contains("User-Password: 2000"), "{text}");
    let answers =
        text.matches("Access-Accept (2)").count() + text.matches("Accounting-Response (5)").count();
    assert!(answers >= 3, "{text}");
    assert_eq!(
        text.matches("[Valid Authenticator: True]").count(),
        answers,
        "{text}"
    );
    assert!(!text.contains("[Invalid Authenticator: True]"), "{text}");
}

#[test]
fn a_dead_first_server_fails_over_once_then_the_answering_one_is_used() {
    if !peers_available("radius_freeradius", &["freeradius"]) {
        return;
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut rad = FreeRadius::new(tmp.path());
    rad.start();
    let ports = Ports::free();
    let uac = Uac::new(ports.sip);
    // Nothing listens on 127.0.0.2 at these ports: the first server never answers.
    let (dead_auth, dead_acct) = radius_ports();
    let cfg = config(ports, uac.addr(), &rad, true, &tmp.path().join("spool")).replace(
        "  servers:\n",
        &format!(
            "  servers:\n    - {{ address: 127.0.0.2, secret: {SECRET}, auth_port: {dead_auth}, acct_port: {dead_acct} }}\n"
        ),
    );
    let gw = Daemon::start_with(ports, &cfg);
    for (n, calling) in ["2000", "2000"].iter().enumerate() {
        let (status, ok) = uac.invite(calling, "1000", &format!("fo{n}"));
        assert_eq!(status, 200, "call {n}");
        let d = uac.ack(&ok);
        uac.bye(&d);
    }
    let records = rad.wait_records("both calls' Stops", |r| {
        r.iter()
            .filter(|x| x.get("Acct-Status-Type").map(String::as_str) == Some("Stop"))
            .count()
            == 2
    });
    assert!(
        counts(&records).values().all(|n| *n == 1),
        "{}",
        rad.detail()
    );
    let text = gw.wait_metrics("an empty spool", |t| {
        metric(t, "gateway_radius_spool_depth", &[]) == Some(0.0)
    });
    // Authorisation is one call at a time: the dead server saw the first call's
    // request (and its retransmission), the second call went straight to FreeRADIUS.
    let dead_auth_sent = [
        ("server", "127.0.0.2"),
        ("kind", "auth"),
        ("retransmission", "no"),
    ];
    assert_eq!(
        metric(&text, "gateway_radius_requests_total", &dead_auth_sent),
        Some(1.0)
    );
    let dead_auth = [("server", "127.0.0.2"), ("kind", "auth")];
    assert_eq!(
        metric(&text, "gateway_radius_timeouts_total", &dead_auth),
        Some(1.0)
    );
    // Accounting requests sent before the first failover was answered went to the dead
    // server too; once FreeRADIUS answered, new ones go there directly.
    let dead_acct_sent = [
        ("server", "127.0.0.2"),
        ("kind", "acct"),
        ("retransmission", "no"),
    ];
    let before = metric(&text, "gateway_radius_requests_total", &dead_acct_sent);
    assert!(before >= Some(1.0));
    let (status, ok) = uac.invite("2000", "1000", "fo2");
    assert_eq!(status, 200);
    let d = uac.ack(&ok);
    uac.bye(&d);
    rad.wait_records("the third call's Stop", |r| {
        r.iter()
            .filter(|x| x.get("Acct-Status-Type").map(String::as_str) == Some("Stop"))
            .count()
            == 3
    });
    let text = gw.wait_metrics("an empty spool", |t| {
        metric(t, "gateway_radius_spool_depth", &[]) == Some(0.0)
    });
    assert_eq!(
        metric(&text, "gateway_radius_requests_total", &dead_acct_sent),
        before
    );
    assert_eq!(
        metric(&text, "gateway_radius_requests_total", &dead_auth_sent),
        Some(1.0)
    );
    for kind in ["auth", "acct"] {
        let live = [("server", "127.0.0.1"), ("kind", kind)];
        assert_eq!(
            metric(&text, "gateway_radius_timeouts_total", &live),
            Some(0.0),
            "{kind}"
        );
    }
    assert!(
        counts(&rad.records()).values().all(|n| *n == 1),
        "{}",
        rad.detail()
    );
}
