//! gatewayd against an independent H.323 endpoint: the scripted peer in
//! `tests/h323peer/peer.py` (Python, pycrate's PER codec; PEERS.md §7), with baresip on
//! the SIP side and audio checked both ways.
//!
//! - baresip -> gatewayd -> peer (the gateway calls out over H.323, fast start, or slow
//!   start over tunnelled H.245); baresip hangs up, the peer sees ReleaseComplete cause 16;
//! - peer -> gatewayd -> baresip (the gateway answers H.323, fast start or slow start);
//!   the peer releases with cause 16 and baresip sees the call closed;
//! - the peer calls a number routed to a busy local trunk (cause 17) and one with no
//!   route (cause 3).
//!
//! Every H.225.0 message the peer sent or received is written by the peer to a pcap and
//! checked by tshark: nothing malformed, the messages in the expected order.
//!
//! The peer runs on the Python of `GATEWAY_PYTHON` (default `tests/.venv/bin/python`, which
//! `tests/run.sh` creates with pycrate 0.8.1). Missing peers fail the tests unless
//! `GATEWAY_SKIP_PEERS=1`.
//!
//! `GATEWAY_H323_RECORD=OUT.pcapng` additionally records the fast-start call (SIP, H.225.0
//! and RTP) with a live tshark on `lo` (root only): how
//! `captures/h323-pycrate-fast-start-call.pcapng` was made.

#[path = "gatewayd_support/mod.rs"]
mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use support::audio::{check_tone, make_tone};
use support::baresip::{
    AnswerMode, Baresip, BaresipOptions, event_param, next_loopback_ip, peers_available,
};
use support::{Daemon, Ports, WAIT};

/// How long audio flows once the call is up (a bounded wait, not synchronisation).
const TALK: Duration = Duration::from_millis(2500);

/// Bound on a whole peer run (its `--timeout`): set-up, talk and release fit easily.
const PEER_TIMEOUT_SECONDS: u32 = 40;

/// The tone the peer sends.
const PEER_HZ: f64 = 700.0;

/// Interval between two polls.
const POLL: Duration = Duration::from_millis(25);

/// The workspace root.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the gateway crate is in the workspace")
        .to_owned()
}

/// The Python that has pycrate: `GATEWAY_PYTHON` (relative paths are taken from the
/// workspace root), else `tests/.venv/bin/python`.
fn python() -> PathBuf {
    match std::env::var_os("GATEWAY_PYTHON") {
        Some(p) if Path::new(&p).is_absolute() => PathBuf::from(p),
        Some(p) => workspace().join(p),
        None => workspace().join("tests/.venv/bin/python"),
    }
}

fn gatekeeper_script() -> PathBuf {
    workspace().join("tests/h323peer/gatekeeper.py")
}

fn peer_script() -> PathBuf {
    workspace().join("tests/h323peer/peer.py")
}

/// Runs `program args`, bounded by [`WAIT`]: (status, stdout, stderr).
fn run_bounded(program: &Path, args: &[&str]) -> Result<(ExitStatus, String, String), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).map_err(|e| e.to_string())?)
        .stderr(std::fs::File::create(&err).map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", program.display()))?;
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(s) = child.try_wait().map_err(|e| e.to_string())? {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "{} {args:?}: no exit within {WAIT:?}",
                program.display()
            ));
        }
        std::thread::sleep(POLL);
    };
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
    Ok((status, read(&out), read(&err)))
}

/// Whether the peer's Python and pycrate are there; like `peers_available`, a failure
/// unless `GATEWAY_SKIP_PEERS=1` (then a skip line and `false`).
fn pycrate_available(test: &str) -> bool {
    let py = python();
    let probe = run_bounded(
        &py,
        &["-c", "import pycrate_asn1dir.H225, pycrate_asn1dir.H245"],
    );
    let problem = match probe {
        Ok((s, _, _)) if s.success() => return true,
        Ok((_, out, err)) => format!("{} cannot import pycrate:\n{out}{err}", py.display()),
        Err(e) => e,
    };
    if std::env::var("GATEWAY_SKIP_PEERS").as_deref() == Ok("1") {
        eprintln!("SKIP {test}: {problem} (GATEWAY_SKIP_PEERS=1)");
        return false;
    }
    panic!(
        "{test} needs pycrate for the scripted H.323 peer: {problem}\n\
         Run tests/run.sh (it creates tests/.venv with pycrate 0.8.1), or point \
         GATEWAY_PYTHON at a Python that has it. Set GATEWAY_SKIP_PEERS=1 to skip instead."
    );
}

/// Everything a test needs: the programs and the peer's Python.
fn ready(test: &str, programs: &[&str]) -> bool {
    peers_available(test, programs) && pycrate_available(test)
}

// ----- the scripted peer -----------------------------------------------------------------

#[derive(Default)]
struct Inbox {
    /// Every event line so far, with whether a wait already returned it.
    events: Vec<(Value, bool)>,
    /// Lines that are not JSON.
    junk: Vec<String>,
    /// stdout is closed (the peer exited).
    closed: bool,
}

/// A running `peer.py`, killed (its pid only) when dropped. Its stdout (one JSON event per
/// line) is read by a thread; waits are bounded.
struct H323Peer {
    name: String,
    child: Child,
    shared: Arc<(Mutex<Inbox>, Condvar)>,
    reader: Option<JoinHandle<()>>,
    stderr: PathBuf,
    /// What it received, as WAV.
    wav: PathBuf,
    /// Its H.225.0 connection.
    pcap: PathBuf,
}

impl H323Peer {
    /// Starts `peer.py MODE --ip IP ARGS…` with a recording, a pcap and a timeout in `dir`;
    /// mode `gatekeeper` starts `gatekeeper.py --ip IP ARGS…` (pcap and timeout only).
    fn start(dir: &Path, name: &str, mode: &str, ip: Ipv4Addr, args: &[&str]) -> H323Peer {
        std::fs::create_dir_all(dir).expect("create peer dir");
        let wav = dir.join(format!("{name}-received.wav"));
        let pcap = dir.join(format!("{name}-h225.pcap"));
        let stderr = dir.join(format!("{name}.stderr"));
        let timeout = PEER_TIMEOUT_SECONDS.to_string();
        let hz = PEER_HZ.to_string();
        let ip = ip.to_string();
        let mut cmd = Command::new(python());
        cmd.arg("-u");
        if mode == "gatekeeper" {
            cmd.arg(gatekeeper_script());
        } else {
            cmd.arg(peer_script())
                .arg(mode)
                .args(["--tone-hz", &hz])
                .arg("--record")
                .arg(&wav);
        }
        let mut child = cmd
            .args(["--ip", &ip, "--timeout", &timeout])
            .arg("--pcap")
            .arg(&pcap)
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("create peer stderr"))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python().display()));
        let stdout = child.stdout.take().expect("piped stdout");
        let shared = Arc::new((Mutex::new(Inbox::default()), Condvar::new()));
        let reader = {
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    let mut inbox = shared.0.lock().expect("inbox");
                    match serde_json::from_str::<Value>(&line) {
                        Ok(v) if v.get("event").is_some() => inbox.events.push((v, false)),
                        _ => inbox.junk.push(line),
                    }
                    shared.1.notify_all();
                }
                shared.0.lock().expect("inbox").closed = true;
                shared.1.notify_all();
            })
        };
        H323Peer {
            name: name.to_owned(),
            child,
            shared,
            reader: Some(reader),
            stderr,
            wav,
            pcap,
        }
    }

    /// Waits (bounded) for the first not yet returned event whose type is in `types`.
    fn wait_any(&self, types: &[&str], timeout: Duration) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        let (lock, changed) = &*self.shared;
        let mut inbox = lock.lock().expect("inbox");
        loop {
            if let Some((ev, used)) = inbox
                .events
                .iter_mut()
                .find(|(ev, used)| !*used && types.contains(&ev["event"].as_str().unwrap_or("")))
            {
                *used = true;
                return Ok(ev.clone());
            }
            let now = Instant::now();
            if inbox.closed || now >= deadline {
                return Err(format!(
                    "peer {}: no {} ({})",
                    self.name,
                    types.join(" or "),
                    if inbox.closed {
                        "it exited".to_owned()
                    } else {
                        format!("within {timeout:?}")
                    }
                ));
            }
            inbox = changed
                .wait_timeout(inbox, deadline - now)
                .expect("inbox")
                .0;
        }
    }

    fn wait_event(&self, ty: &str, timeout: Duration) -> Result<Value, String> {
        self.wait_any(&[ty], timeout)
    }

    /// Every event so far.
    fn events(&self) -> Vec<Value> {
        let inbox = self.shared.0.lock().expect("inbox");
        inbox.events.iter().map(|(e, _)| e.clone()).collect()
    }

    /// Waits (bounded) for the exit; its code.
    fn wait_exit(&mut self, timeout: Duration) -> Result<i32, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().map_err(|e| e.to_string())? {
                if let Some(r) = self.reader.take() {
                    let _ = r.join();
                }
                return status
                    .code()
                    .ok_or_else(|| format!("peer {} killed by a signal", self.name));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "peer {} still running after {timeout:?}",
                    self.name
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// Its events and stderr, for failure messages.
    fn log(&self) -> String {
        let inbox = self.shared.0.lock().expect("inbox");
        let mut text = format!("--- peer {} events:\n", self.name);
        for (e, _) in &inbox.events {
            text.push_str(&e.to_string());
            text.push('\n');
        }
        for j in &inbox.junk {
            text.push_str(&format!("(not JSON) {j}\n"));
        }
        text.push_str(&format!(
            "--- peer {} stderr:\n{}",
            self.name,
            std::fs::read_to_string(&self.stderr).unwrap_or_default()
        ));
        text
    }
}

impl Drop for H323Peer {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        if std::thread::panicking() {
            eprintln!("{}", self.log());
        }
    }
}

// ----- tshark ------------------------------------------------------------------------------

/// tshark `args` on a capture, bounded: its stdout (the "running as root" note on stderr
/// is ignored).
fn tshark(args: &[&str]) -> String {
    let (status, out, err) =
        run_bounded(Path::new("tshark"), args).unwrap_or_else(|e| panic!("tshark: {e}"));
    assert!(status.success(), "tshark {args:?} failed:\n{out}{err}");
    out
}

/// Checks a capture of one H.225.0 call with tshark: no malformed frame, and returns the
/// `h323_message_body` values in order (0 setup, 1 callProceeding, 2 connect, 3 alerting,
/// 5 releaseComplete, 6 facility), with the Q.931 cause of the releaseComplete.
fn h225_messages(pcap: &Path) -> (Vec<u32>, Option<u32>) {
    let f = pcap.to_str().expect("utf-8 path");
    let malformed = tshark(&["-n", "-r", f, "-Y", "_ws.malformed"]);
    assert!(
        malformed.trim().is_empty(),
        "tshark finds malformed frames in {f}:\n{malformed}\n{}",
        tshark(&["-n", "-r", f, "-V", "-Y", "_ws.malformed"])
    );
    let fields = tshark(&[
        "-n",
        "-r",
        f,
        "-Y",
        "h225",
        "-T",
        "fields",
        "-E",
        "separator=;",
        "-e",
        "h225.h323_message_body",
        "-e",
        "q931.cause_value",
    ]);
    let mut bodies = Vec::new();
    let mut cause = None;
    for line in fields.lines() {
        let (b, c) = line.split_once(';').unwrap_or((line, ""));
        // One TCP segment may carry several messages: comma-separated values.
        let these: Vec<u32> = b
            .split(',')
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().expect("a message body number"))
            .collect();
        if these.contains(&5) {
            cause = c.split(',').find_map(|s| s.parse().ok());
        }
        bodies.extend(these);
    }
    (bodies, cause)
}

/// A call with H.245 on its own connection: the peer saw it up, tshark decodes the H.245
/// on it (capability exchange, determination, channels, and the peer's endSessionCommand
/// when `peer_ended`) and finds no tunnelled H.245 and no malformed frame (checked by
/// [`h225_messages`]). When the gateway ends the call, the peer may close before it reads
/// the gateway's endSessionCommand: two connections, no order between them.
fn assert_separate_h245(peer: &H323Peer, peer_ended: bool) {
    let events = peer.events();
    assert!(
        events.iter().any(|e| e["event"] == "h245_connected"),
        "{}",
        peer.log()
    );
    let f = peer.pcap.to_str().expect("utf-8 path");
    let tunnelled = tshark(&["-n", "-r", f, "-Y", "h225.h245Control"]);
    assert!(tunnelled.trim().is_empty(), "tunnelled H.245:\n{tunnelled}");
    let tunnelling = tshark(&["-n", "-r", f, "-Y", "h225.h245Tunnelling == 1"]);
    assert!(
        tunnelling.trim().is_empty(),
        "h245Tunnelling TRUE:\n{tunnelling}"
    );
    let h245 = tshark(&[
        "-n",
        "-r",
        f,
        "-Y",
        "h245 && !h225",
        "-T",
        "fields",
        "-E",
        "separator=;",
        "-e",
        "h245.request",
        "-e",
        "h245.response",
        "-e",
        "h245.command",
    ]);
    // Per column, every value seen (one segment may carry several messages).
    let mut seen: [Vec<u32>; 3] = Default::default();
    for line in h245.lines() {
        for (i, col) in line.split(';').enumerate().take(3) {
            seen[i].extend(col.split(',').filter_map(|v| v.parse::<u32>().ok()));
        }
    }
    let dump = || format!("{h245}\n{}", tshark(&["-n", "-r", f]));
    // RequestMessage: 1 masterSlaveDetermination, 2 terminalCapabilitySet,
    // 3 openLogicalChannel; ResponseMessage: 1 MSD ack, 3 TCS ack, 5 OLC ack;
    // CommandMessage: 5 endSessionCommand.
    for r in [1, 2, 3] {
        assert!(seen[0].contains(&r), "request {r}: {}", dump());
    }
    for r in [1, 3, 5] {
        assert!(seen[1].contains(&r), "response {r}: {}", dump());
    }
    if peer_ended {
        assert!(seen[2].contains(&5), "endSessionCommand: {}", dump());
    }
}

/// Asserts the order of a call's H.225.0 messages (facilities anywhere): setup first,
/// then call proceeding and/or alerting (`want_both`: both, in that order), connect,
/// release complete last.
fn assert_call_order(pcap: &Path, want_both: bool) -> Vec<u32> {
    let (all, cause) = h225_messages(pcap);
    let calls: Vec<u32> = all.iter().copied().filter(|b| *b != 6).collect();
    let ok = match calls.as_slice() {
        [0, 1, 3, 2, 5] => true,
        [0, 1, 2, 5] | [0, 3, 2, 5] => !want_both,
        _ => false,
    };
    assert!(
        ok,
        "{}: H.225.0 bodies {all:?} (0 setup, 1 callProceeding, 2 connect, 3 alerting, \
         5 releaseComplete, 6 facility)",
        pcap.display()
    );
    assert_eq!(cause, Some(16), "{}: release cause", pcap.display());
    all
}

// ----- live capture (recording only) -----------------------------------------------------

/// A live tshark on `lo` writing `out`, started only when `GATEWAY_H323_RECORD` is set.
struct LiveCapture {
    child: Child,
    out: PathBuf,
}

impl LiveCapture {
    /// Starts tshark with capture `filter` and waits (bounded) until it captures.
    fn start(out: &Path, filter: &str, dir: &Path) -> LiveCapture {
        let log = dir.join("tshark.log");
        let child = Command::new("tshark")
            .args([
                "-n",
                "-q",
                "-i",
                "lo",
                "-a",
                "duration:60",
                "-f",
                filter,
                "-w",
            ])
            .arg(out)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("tshark log"))
            .spawn()
            .expect("run tshark");
        let deadline = Instant::now() + WAIT;
        while !std::fs::read_to_string(&log)
            .unwrap_or_default()
            .contains("Capturing on")
        {
            assert!(
                Instant::now() < deadline,
                "tshark not capturing: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
            std::thread::sleep(POLL);
        }
        // The capture filter goes in just after the message.
        std::thread::sleep(Duration::from_secs(1));
        LiveCapture {
            child,
            out: out.to_owned(),
        }
    }

    /// Lets the last packets in, stops tshark (SIGINT, its pid) and waits for the file.
    fn stop(mut self) {
        std::thread::sleep(Duration::from_secs(1));
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid"));
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let deadline = Instant::now() + WAIT;
        while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(POLL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        eprintln!("recorded {}", self.out.display());
    }
}

// ----- the calls ---------------------------------------------------------------------------

/// SIP caller `phones` -> `9…` stripped of the 9 -> H.323 trunk `peer`.
fn config_to_peer(
    ports: Ports,
    caller: std::net::SocketAddr,
    peer: &str,
    fast: bool,
    tunnelling: bool,
    range: &str,
) -> String {
    format!(
        "{}media:\n  rtp_port_range: \"{range}\"\n\
         trunks:\n  - {{ name: phones, kind: sip, remote: \"{caller}\" }}\n\
         \x20 - {{ name: peer, kind: h323, remote: \"{peer}\", fast_start: {fast}, h245_tunnelling: {tunnelling} }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: to-peer, match: {{called: {{prefix: \"9\"}}}}, rewrite: {{called: {{strip: 1}}}}, egress: [peer] }}\n",
        ports.config()
    )
}

/// H.323 trunk `peer` (by its IP) -> `5…` to SIP `far`, `17…` to a busy local trunk.
fn config_from_peer(
    ports: Ports,
    peer_ip: Ipv4Addr,
    callee: Option<std::net::SocketAddr>,
    range: &str,
) -> String {
    let far = callee.map_or(String::new(), |c| {
        format!("\x20 - {{ name: far, kind: sip, remote: \"{c}\" }}\n")
    });
    let far_route = if callee.is_some() {
        "\x20   - { name: to-far, match: {called: {prefix: \"5\"}}, egress: [far] }\n"
    } else {
        ""
    };
    format!(
        "{}media:\n  rtp_port_range: \"{range}\"\n\
         trunks:\n  - {{ name: peer, kind: h323, remote: \"{peer_ip}:1720\" }}\n\
         {far}\
         \x20 - {{ name: busy, kind: local, answer: refuse, cause: 17 }}\n\
         routes:\n  default:\n\
         {far_route}\
         \x20   - {{ name: busy, match: {{called: {{prefix: \"17\"}}}}, egress: [busy] }}\n",
        ports.config()
    )
}

/// baresip -> gatewayd -> peer; baresip hangs up. The gateway's media ports are
/// `range_start`..+199.
fn gateway_calls_peer(test: &str, fast_start: bool, separate: bool, range_start: u16) {
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("tone440.wav");
    make_tone(&wav, 440.0, 30.0);
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU")
            .wav(&wav),
    );
    let peer_ip = next_loopback_ip();
    let mut answer_args = vec!["--port", "0", "--alert-ms", "200"];
    if !fast_start {
        answer_args.push("--slow-start");
    }
    if separate {
        answer_args.push("--separate-h245");
    }
    let mut peer = H323Peer::start(
        &dir.path().join("peer"),
        test,
        "answer",
        peer_ip,
        &answer_args,
    );
    let listening = peer
        .wait_event("listening", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", peer.log()));
    let peer_addr = format!("{peer_ip}:{}", listening["port"]);
    let p = Ports::free();
    let range = format!("{range_start}-{}", range_start + 199);
    let gw = Daemon::start_with(
        p,
        &config_to_peer(p, a.sip_addr(), &peer_addr, fast_start, !separate, &range),
    );
    let logs = |peer: &H323Peer| {
        format!(
            "\n--- baresip A:\n{}\n{}\n--- gatewayd:\n{}",
            a.log(),
            peer.log(),
            gw.log_text()
        )
    };
    let record = std::env::var_os("GATEWAY_H323_RECORD").filter(|_| fast_start);
    let capture = record.as_ref().map(|out| {
        // SIP from baresip, the H.225.0 connection the gateway opens to the peer, and the
        // RTP of both legs (the gateway's media range; the peer's own address).
        let filter = format!(
            "udp port {} or udp portrange {range} or host {peer_ip}",
            p.sip
        );
        LiveCapture::start(Path::new(out), &filter, dir.path())
    });

    a.dial(&format!("sip:95000@127.0.0.1:{}", p.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs(&peer)));
    let setup = peer
        .wait_event("setup_received", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(setup["called"], "5000", "{setup}");
    assert_eq!(setup["calling"], "2000", "{setup}");
    assert_eq!(setup["tunnelling"], !separate, "{setup}");
    let proposals = setup["fast_start"].as_array().cloned().unwrap_or_default();
    assert_eq!(!proposals.is_empty(), fast_start, "{setup}");
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs(&peer));
    let connected = peer
        .wait_event("connected", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    if fast_start {
        assert_eq!(connected["mode"], "fast", "{connected}");
        assert_eq!(connected["tx_codec"], "PCMU", "{connected}");
    } else {
        let media = peer
            .wait_event("media", WAIT)
            .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
        assert_eq!(media["mode"], "slow", "{media}");
    }
    std::thread::sleep(TALK);
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs(&peer)));
    let released = peer
        .wait_event("released", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(released["by"], "remote", "{released}{}", logs(&peer));
    assert_eq!(released["cause"], 16, "{released}{}", logs(&peer));
    let code = peer
        .wait_exit(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(code, 0, "peer exit code{}", logs(&peer));
    if let Some(c) = capture {
        c.stop();
    }

    // Audio both ways: A hears the peer's tone, the peer recorded A's.
    let (a_dec, _) = a
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    let a_heard =
        check_tone(&a_dec, PEER_HZ, 10.0).unwrap_or_else(|e| panic!("A: {e}{}", logs(&peer)));
    let peer_heard =
        check_tone(&peer.wav, 440.0, 10.0).unwrap_or_else(|e| panic!("peer: {e}{}", logs(&peer)));
    for r in [&a_heard, &peer_heard] {
        assert!(r.active.1 - r.active.0 >= 2.0, "{r}{}", logs(&peer));
    }
    let stats = peer
        .wait_event("rtp_stats", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(stats["rx_lost"], 0, "{stats}");
    assert_eq!(stats["rx_bad"], 0, "{stats}");

    // The wire, as tshark reads it.
    let bodies = assert_call_order(&peer.pcap, true);
    if separate {
        // H.245 on the connection to the peer's h245Address, none tunnelled.
        assert_separate_h245(&peer, false);
    } else if !fast_start {
        // The slow start H.245 rode in Facility messages.
        assert!(bodies.contains(&6), "{bodies:?}");
    }

    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["ingress_trunk"], "phones", "{r}");
    assert_eq!(r["egress_trunk"], "peer", "{r}");
    assert_eq!(r["called_out"], "5000", "{r}");
    assert_eq!(r["cause"], 16, "{r}");
    assert_eq!(r["initiator"], "caller", "{r}");
    assert!(r["answer"].is_string(), "{r}");
    assert_eq!(
        r["egress_call_id"], setup["call_id"],
        "the CDR names the H.323 call identifier the peer received"
    );
}

/// peer -> gatewayd -> baresip; the peer releases with cause 16.
fn peer_calls_gateway(test: &str, fast_start: bool, separate: bool, range: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let b = Baresip::start(
        &dir.path().join("b"),
        BaresipOptions::new("5000")
            .answer(AnswerMode::Auto)
            .codecs("PCMU,PCMA")
            .tone(1000.0),
    );
    let peer_ip = next_loopback_ip();
    let p = Ports::free();
    let gw = Daemon::start_with(p, &config_from_peer(p, peer_ip, Some(b.sip_addr()), range));
    let to = format!("127.0.0.1:{}", p.h225);
    let talk = format!("{:.1}", TALK.as_secs_f64());
    let mut args = vec![
        "--to",
        &to,
        "--called",
        "5000",
        "--calling",
        "7000",
        "--talk",
        &talk,
        "--cause",
        "16",
    ];
    if !fast_start {
        args.push("--slow-start");
    }
    if separate {
        args.push("--separate-h245");
    }
    let mut peer = H323Peer::start(&dir.path().join("peer"), test, "call", peer_ip, &args);
    let logs = |peer: &H323Peer| {
        format!(
            "\n--- baresip B:\n{}\n{}\n--- gatewayd:\n{}",
            b.log(),
            peer.log(),
            gw.log_text()
        )
    };
    let placed = peer
        .wait_event("call_placed", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    let connected = peer
        .wait_any(&["connected", "released"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(
        connected["event"],
        "connected",
        "{connected}{}",
        logs(&peer)
    );
    let media = peer
        .wait_event("media", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(
        media["mode"],
        if fast_start { "fast" } else { "slow" },
        "{media}"
    );
    b.wait_event("CALL_ESTABLISHED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    // The peer releases by itself after --talk.
    let released = peer
        .wait_event("released", TALK + WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(released["by"], "us", "{released}");
    assert_eq!(released["cause"], 16, "{released}");
    let closed = b
        .wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(event_param(&closed), "Connection reset by peer", "{closed}");
    let code = peer
        .wait_exit(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(code, 0, "peer exit code{}", logs(&peer));

    let (b_dec, _) = b
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    let b_heard =
        check_tone(&b_dec, PEER_HZ, 10.0).unwrap_or_else(|e| panic!("B: {e}{}", logs(&peer)));
    let peer_heard =
        check_tone(&peer.wav, 1000.0, 10.0).unwrap_or_else(|e| panic!("peer: {e}{}", logs(&peer)));
    for r in [&b_heard, &peer_heard] {
        assert!(r.active.1 - r.active.0 >= 2.0, "{r}{}", logs(&peer));
    }

    assert_call_order(&peer.pcap, false);
    if separate {
        assert_separate_h245(&peer, true);
        keep(&peer.pcap, "h323-pycrate-separate-h245.pcap");
    }

    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["ingress_trunk"], "peer", "{r}");
    assert_eq!(r["egress_trunk"], "far", "{r}");
    assert_eq!(r["called_in"], "5000", "{r}");
    assert_eq!(r["calling_in"], "7000", "{r}");
    assert_eq!(r["cause"], 16, "{r}");
    assert_eq!(r["initiator"], "caller", "{r}");
    assert!(r["answer"].is_string(), "{r}");
    assert_eq!(
        r["ingress_call_id"], placed["call_id"],
        "the CDR names the H.323 call identifier of the peer's Setup"
    );
}

/// The peer calls `called`; the gateway refuses at once: the ReleaseComplete's cause.
fn refused_call(test: &str, called: &str, range: &str) -> (Value, Daemon) {
    let dir = tempfile::tempdir().expect("temp dir");
    let peer_ip = next_loopback_ip();
    let p = Ports::free();
    let gw = Daemon::start_with(p, &config_from_peer(p, peer_ip, None, range));
    let to = format!("127.0.0.1:{}", p.h225);
    let args = ["--to", &to, "--called", called, "--calling", "7000"];
    let mut peer = H323Peer::start(&dir.path().join("peer"), test, "call", peer_ip, &args);
    let logs = |peer: &H323Peer| format!("\n{}\n--- gatewayd:\n{}", peer.log(), gw.log_text());
    let released = peer
        .wait_event("released", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(released["by"], "remote", "{released}{}", logs(&peer));
    let code = peer
        .wait_exit(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(code, 0, "peer exit code{}", logs(&peer));
    assert!(
        peer.events().iter().all(|e| e["event"] != "connected"),
        "{}",
        logs(&peer)
    );
    let (bodies, cause) = h225_messages(&peer.pcap);
    // FACILITY (6) may come last: the peer's own tunnelled H.245 answer to the TCS in our
    // CALL PROCEEDING can cross our RELEASE COMPLETE on the wire.
    let bodies: Vec<u32> = bodies.into_iter().filter(|b| *b != 6).collect();
    assert_eq!(bodies.first(), Some(&0), "{bodies:?}");
    assert_eq!(bodies.last(), Some(&5), "{bodies:?}");
    assert!(!bodies.contains(&2), "no connect: {bodies:?}");
    assert_eq!(
        cause,
        released["cause"].as_u64().map(|c| c as u32),
        "{bodies:?}"
    );
    (released, gw)
}

#[test]
fn gateway_calls_the_h323_peer_with_fast_start() {
    let test = "gateway_calls_the_h323_peer_with_fast_start";
    if ready(test, &["baresip", "sox", "tshark"]) {
        gateway_calls_peer(test, true, false, 16000);
    }
}

#[test]
fn gateway_calls_the_h323_peer_with_slow_start() {
    let test = "gateway_calls_the_h323_peer_with_slow_start";
    if ready(test, &["baresip", "sox", "tshark"]) {
        gateway_calls_peer(test, false, false, 16800);
    }
}

#[test]
fn gateway_calls_the_h323_peer_with_a_separate_h245_connection() {
    let test = "gateway_calls_the_h323_peer_with_a_separate_h245_connection";
    if ready(test, &["baresip", "sox", "tshark"]) {
        gateway_calls_peer(test, false, true, 17000);
    }
}

#[test]
fn the_h323_peer_calls_through_the_gateway_with_a_separate_h245_connection() {
    let test = "the_h323_peer_calls_through_the_gateway_with_a_separate_h245_connection";
    if ready(test, &["baresip", "sox", "tshark"]) {
        peer_calls_gateway(test, false, true, "17200-17399");
    }
}

#[test]
fn the_h323_peer_calls_through_the_gateway_with_fast_start() {
    let test = "the_h323_peer_calls_through_the_gateway_with_fast_start";
    if ready(test, &["baresip", "sox", "tshark"]) {
        peer_calls_gateway(test, true, false, "16200-16399");
    }
}

#[test]
fn the_h323_peer_calls_through_the_gateway_with_slow_start() {
    let test = "the_h323_peer_calls_through_the_gateway_with_slow_start";
    if ready(test, &["baresip", "sox", "tshark"]) {
        peer_calls_gateway(test, false, false, "16400-16599");
    }
}

#[test]
fn the_h323_peer_calling_a_busy_trunk_gets_cause_17() {
    let test = "the_h323_peer_calling_a_busy_trunk_gets_cause_17";
    if !ready(test, &["tshark"]) {
        return;
    }
    let (released, gw) = refused_call(test, "1700", "16600-16699");
    assert_eq!(released["cause"], 17, "{released}");
    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["ingress_trunk"], "peer", "{r}");
    assert_eq!(r["egress_trunk"], "busy", "{r}");
    assert_eq!(r["cause"], 17, "{r}");
    assert_eq!(r["initiator"], "callee", "{r}");
    assert!(r.get("answer").is_none_or(Value::is_null), "{r}");
}

#[test]
fn the_h323_peer_calling_an_unrouted_number_gets_cause_3() {
    let test = "the_h323_peer_calling_an_unrouted_number_gets_cause_3";
    if !ready(test, &["tshark"]) {
        return;
    }
    let (released, gw) = refused_call(test, "999", "16700-16799");
    assert_eq!(released["cause"], 3, "{released}");
    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["ingress_trunk"], "peer", "{r}");
    assert_eq!(r["cause"], 3, "{r}");
    assert_eq!(r["initiator"], "gateway", "{r}");
    assert!(r.get("egress_trunk").is_none_or(Value::is_null), "{r}");
}

// ----- through a gatekeeper (RAS) -----------------------------------------------------------

/// SIP caller `phones` -> `9…` stripped of the 9 -> H.323 trunk `gk`, registered with the
/// scripted gatekeeper at `gk` (no `remote`: every call needs admission).
fn config_via_gatekeeper(
    ports: Ports,
    caller: std::net::SocketAddr,
    gk: &str,
    range: &str,
) -> String {
    format!(
        "{}media:\n  rtp_port_range: \"{range}\"\n\
         trunks:\n  - {{ name: phones, kind: sip, remote: \"{caller}\" }}\n\
         \x20 - name: gk\n    kind: h323\n    gatekeeper:\n      address: \"{gk}\"\n\
         \x20     gatekeeper_id: GK-TEST\n      h323_ids: [gw-test]\n      e164: [\"4930\"]\n\
         \x20     time_to_live_seconds: 60\n\
         routes:\n  default:\n\
         \x20   - {{ name: to-gk, match: {{called: {{prefix: \"9\"}}}}, rewrite: {{called: {{strip: 1}}}}, egress: [gk] }}\n",
        ports.config()
    )
}

/// The RAS messages of the gatekeeper's capture as tshark reads them (`h225.RasMessage`
/// numbers), after checking that nothing in it is malformed.
fn ras_messages(pcap: &Path) -> Vec<u32> {
    let f = pcap.to_str().expect("utf-8 path");
    let malformed = tshark(&["-n", "-r", f, "-Y", "_ws.malformed"]);
    assert!(
        malformed.trim().is_empty(),
        "tshark finds malformed RAS in {f}:\n{malformed}\n{}",
        tshark(&["-n", "-r", f, "-V", "-Y", "_ws.malformed"])
    );
    tshark(&[
        "-n",
        "-r",
        f,
        "-Y",
        "h225",
        "-T",
        "fields",
        "-e",
        "h225.RasMessage",
    ])
    .lines()
    .flat_map(|l| l.split(',').map(str::to_owned).collect::<Vec<_>>())
    .filter_map(|v| v.trim().parse().ok())
    .collect()
}

/// With `GATEWAY_H323_KEEP=DIR`, copies a capture the scripted peers wrote to
/// `DIR/name` (how `captures/h323-pycrate-gatekeeper-ras.pcap` and
/// `captures/h323-pycrate-separate-h245.pcap` were made).
fn keep(pcap: &Path, name: &str) {
    if let Some(dir) = std::env::var_os("GATEWAY_H323_KEEP") {
        let to = Path::new(&dir).join(name);
        std::fs::copy(pcap, &to).unwrap_or_else(|e| panic!("copy to {}: {e}", to.display()));
        eprintln!("kept {}", to.display());
    }
}

/// The gatekeeper's `received` events of one message type.
fn gk_received(gk: &H323Peer, message: &str) -> Vec<Value> {
    gk.events()
        .into_iter()
        .filter(|e| e["event"] == "received" && e["message"] == message)
        .collect()
}

#[test]
fn a_call_admitted_by_the_gatekeeper_reaches_the_h323_peer() {
    let test = "a_call_admitted_by_the_gatekeeper_reaches_the_h323_peer";
    if !ready(test, &["baresip", "sox", "tshark"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let wav = dir.path().join("tone440.wav");
    make_tone(&wav, 440.0, 30.0);
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU")
            .wav(&wav),
    );
    let peer_ip = next_loopback_ip();
    let mut peer = H323Peer::start(
        &dir.path().join("peer"),
        test,
        "answer",
        peer_ip,
        &["--port", "0", "--alert-ms", "200"],
    );
    let listening = peer
        .wait_event("listening", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", peer.log()));
    let peer_addr = format!("{peer_ip}:{}", listening["port"]);
    let route = format!("5={peer_addr}");
    let gk_ip = next_loopback_ip();
    let gk = H323Peer::start(
        &dir.path().join("gk"),
        "gatekeeper",
        "gatekeeper",
        gk_ip,
        &["--route", &route, "--irq"],
    );
    let gk_listening = gk
        .wait_event("listening", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", gk.log()));
    let gk_addr = format!("{gk_ip}:{}", gk_listening["port"]);
    let p = Ports::free();
    let mut gw = Daemon::start_with(
        p,
        &config_via_gatekeeper(p, a.sip_addr(), &gk_addr, "17400-17599"),
    );
    let logs = |peer: &H323Peer, gk: &H323Peer| {
        format!(
            "\n--- baresip A:\n{}\n{}\n{}\n--- gatewayd:\n{}",
            a.log(),
            peer.log(),
            gk.log(),
            gw.log_text()
        )
    };
    gw.wait_metrics("registered with the gatekeeper", |t| {
        support::metric(t, "gateway_h323_registered", &[("trunk", "gk")]) == Some(1.0)
    });
    // Registration: GRQ, then RRQ with our aliases and addresses.
    let grq = &gk_received(&gk, "gatekeeperRequest")[0];
    assert_eq!(grq["gatekeeper_id"], "GK-TEST", "{grq}");
    let rrq = &gk_received(&gk, "registrationRequest")[0];
    assert_eq!(rrq["keep_alive"], false, "{rrq}");
    assert_eq!(rrq["time_to_live"], 60, "{rrq}");
    assert_eq!(
        rrq["call_signal"][0],
        format!("127.0.0.1:{}", p.h225),
        "{rrq}"
    );
    assert_eq!(rrq["ras"][0], grq["ras_address"], "{rrq}");
    let aliases = rrq["aliases"].to_string();
    assert!(
        aliases.contains("gw-test") && aliases.contains("4930"),
        "{rrq}"
    );

    a.dial(&format!("sip:95000@127.0.0.1:{}", p.sip))
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs(&peer, &gk)));
    let setup = peer
        .wait_event("setup_received", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer, &gk)));
    assert_eq!(setup["called"], "5000", "{setup}");
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer, &gk)));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs(&peer, &gk));
    peer.wait_event("connected", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer, &gk)));
    std::thread::sleep(TALK);
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs(&peer, &gk)));
    peer.wait_event("released", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer, &gk)));
    let code = peer
        .wait_exit(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer, &gk)));
    assert_eq!(code, 0, "peer exit code{}", logs(&peer, &gk));
    let peer_heard = check_tone(&peer.wav, 440.0, 10.0)
        .unwrap_or_else(|e| panic!("peer: {e}{}", logs(&peer, &gk)));
    assert!(
        peer_heard.active.1 - peer_heard.active.0 >= 2.0,
        "{peer_heard}"
    );

    // Admission before the Setup, for the same call; disengage after it.
    let arq = &gk_received(&gk, "admissionRequest")[0];
    assert_eq!(arq["called"], "5000", "{arq}");
    assert_eq!(arq["answer_call"], false, "{arq}");
    assert_eq!(arq["call_id"], setup["call_id"], "{arq}");
    assert_eq!(arq["crv"], setup["crv"], "{arq}");
    let deadline = Instant::now() + WAIT;
    let drq = loop {
        if let Some(d) = gk_received(&gk, "disengageRequest").first() {
            break d.clone();
        }
        assert!(Instant::now() < deadline, "no DRQ{}", logs(&peer, &gk));
        std::thread::sleep(POLL);
    };
    assert_eq!(drq["call_id"], setup["call_id"], "{drq}");
    assert_eq!(drq["answered_call"], false, "{drq}");
    assert_eq!(drq["reason"], "normalDrop", "{drq}");
    // The IRQ sent after registration was answered.
    let irr = &gk_received(&gk, "infoRequestResponse");
    assert_eq!(irr.len(), 1, "{}", logs(&peer, &gk));
    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["egress_trunk"], "gk", "{r}");
    assert_eq!(r["cause"], 16, "{r}");
    assert_eq!(r["egress_call_id"], setup["call_id"], "{r}");
    let metrics = gw.metrics();
    for (ty, dir) in [
        ("ARQ", "out"),
        ("ACF", "in"),
        ("DRQ", "out"),
        ("IRR", "out"),
    ] {
        assert!(
            support::metric(
                &metrics,
                "gateway_messages_total",
                &[("protocol", "ras"), ("type", ty), ("direction", dir)]
            )
            .is_some_and(|n| n >= 1.0),
            "{ty} {dir}"
        );
    }

    // Shutdown unregisters.
    gw.signal(nix::sys::signal::Signal::SIGTERM);
    assert!(gw.wait_exit().success(), "gatewayd exits 0");
    let deadline = Instant::now() + WAIT;
    while gk_received(&gk, "unregistrationRequest").is_empty() {
        assert!(Instant::now() < deadline, "no URQ\n{}", gk.log());
        std::thread::sleep(POLL);
    }
    drop(gk);
    // GRQ 0, GCF 1, RRQ 3, RCF 4, URQ 6, UCF 7, ARQ 9, ACF 10, DRQ 15, DCF 16, IRQ 21,
    // IRR 22: every one decoded by tshark, in this order for the first of each.
    let gk_pcap = dir.path().join("gk").join("gatekeeper-h225.pcap");
    keep(&gk_pcap, "h323-pycrate-gatekeeper-ras.pcap");
    let ras = ras_messages(&gk_pcap);
    for m in [0, 1, 3, 4, 9, 10, 15, 16, 21, 22, 6, 7] {
        assert!(ras.contains(&m), "RAS message {m} in {ras:?}");
    }
    let first = |m: u32| ras.iter().position(|x| *x == m).expect("present");
    assert!(first(0) < first(3) && first(3) < first(9) && first(9) < first(15));
    assert!(first(15) < first(6));
}

#[test]
fn a_call_the_gatekeeper_rejects_fails_with_the_mapped_cause() {
    let test = "a_call_the_gatekeeper_rejects_fails_with_the_mapped_cause";
    if !ready(test, &["baresip", "tshark"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU"),
    );
    let gk_ip = next_loopback_ip();
    let gk = H323Peer::start(
        &dir.path().join("gk"),
        "gatekeeper",
        "gatekeeper",
        gk_ip,
        &["--reject", "17=calledPartyNotRegistered"],
    );
    let gk_listening = gk
        .wait_event("listening", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", gk.log()));
    let gk_addr = format!("{gk_ip}:{}", gk_listening["port"]);
    let p = Ports::free();
    let gw = Daemon::start_with(
        p,
        &config_via_gatekeeper(p, a.sip_addr(), &gk_addr, "17600-17799"),
    );
    gw.wait_metrics("registered with the gatekeeper", |t| {
        support::metric(t, "gateway_h323_registered", &[("trunk", "gk")]) == Some(1.0)
    });
    a.dial(&format!("sip:91700@127.0.0.1:{}", p.sip))
        .unwrap_or_else(|e| panic!("dial: {e}\n{}\n{}", gk.log(), gw.log_text()));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}\n{}", gk.log(), gw.log_text()));
    assert_eq!(ev["type"], "CALL_CLOSED", "{ev}");
    let arq = &gk_received(&gk, "admissionRequest")[0];
    assert_eq!(arq["called"], "1700", "{arq}");
    // ARJ calledPartyNotRegistered: cause 20 "subscriber absent", no Setup, no DRQ.
    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["egress_trunk"], "gk", "{r}");
    assert_eq!(r["cause"], 20, "{r}");
    assert_eq!(r["initiator"], "gateway", "{r}");
    assert!(r.get("answer").is_none_or(Value::is_null), "{r}");
    assert!(gk_received(&gk, "disengageRequest").is_empty());
    drop(gk);
    let ras = ras_messages(&dir.path().join("gk").join("gatekeeper-h225.pcap"));
    assert!(
        ras.contains(&9) && ras.contains(&11),
        "ARQ and ARJ: {ras:?}"
    );
}

#[test]
fn a_call_from_the_h323_peer_is_admitted_before_it_is_answered() {
    let test = "a_call_from_the_h323_peer_is_admitted_before_it_is_answered";
    if !ready(test, &["baresip", "tshark"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let b = Baresip::start(
        &dir.path().join("b"),
        BaresipOptions::new("5000")
            .answer(AnswerMode::Auto)
            .codecs("PCMU,PCMA"),
    );
    let peer_ip = next_loopback_ip();
    let p = Ports::free();
    let gk_ip = next_loopback_ip();
    let route = format!("5=127.0.0.1:{}", p.h225);
    let gk = H323Peer::start(
        &dir.path().join("gk"),
        "gatekeeper",
        "gatekeeper",
        gk_ip,
        &["--route", &route],
    );
    let gk_listening = gk
        .wait_event("listening", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", gk.log()));
    let gk_addr = format!("{gk_ip}:{}", gk_listening["port"]);
    // Trunk `peer`: the H.323 peer (by its IP), registered with the gatekeeper.
    let config = format!(
        "{}media:\n  rtp_port_range: \"17800-17999\"\n\
         trunks:\n  - name: peer\n    kind: h323\n    remote: \"{peer_ip}:1720\"\n\
         \x20   gatekeeper: {{ address: \"{gk_addr}\", e164: [\"5000\"] }}\n\
         \x20 - {{ name: far, kind: sip, remote: \"{}\" }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: to-far, match: {{called: {{prefix: \"5\"}}}}, egress: [far] }}\n",
        p.config(),
        b.sip_addr()
    );
    let gw = Daemon::start_with(p, &config);
    gw.wait_metrics("registered with the gatekeeper", |t| {
        support::metric(t, "gateway_h323_registered", &[("trunk", "peer")]) == Some(1.0)
    });
    let to = format!("127.0.0.1:{}", p.h225);
    let talk = format!("{:.1}", TALK.as_secs_f64());
    let args = [
        "--to",
        &to,
        "--called",
        "5000",
        "--calling",
        "7000",
        "--talk",
        &talk,
    ];
    let mut peer = H323Peer::start(&dir.path().join("peer"), test, "call", peer_ip, &args);
    let logs = |peer: &H323Peer| {
        format!(
            "\n--- baresip B:\n{}\n{}\n{}\n--- gatewayd:\n{}",
            b.log(),
            peer.log(),
            gk.log(),
            gw.log_text()
        )
    };
    let placed = peer
        .wait_event("call_placed", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    let connected = peer
        .wait_any(&["connected", "released"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(
        connected["event"],
        "connected",
        "{connected}{}",
        logs(&peer)
    );
    peer.wait_event("released", TALK + WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer)));
    assert_eq!(peer.wait_exit(WAIT).unwrap_or_else(|e| panic!("{e}")), 0);
    let arq = &gk_received(&gk, "admissionRequest")[0];
    assert_eq!(arq["answer_call"], true, "{arq}");
    assert_eq!(arq["called"], "5000", "{arq}");
    assert_eq!(arq["call_id"], placed["call_id"], "{arq}");
    let deadline = Instant::now() + WAIT;
    let drq = loop {
        if let Some(d) = gk_received(&gk, "disengageRequest").first() {
            break d.clone();
        }
        assert!(Instant::now() < deadline, "no DRQ{}", logs(&peer));
        std::thread::sleep(POLL);
    };
    assert_eq!(drq["answered_call"], true, "{drq}");
    assert_eq!(drq["call_id"], placed["call_id"], "{drq}");
    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["ingress_trunk"], "peer", "{r}");
    assert_eq!(r["cause"], 16, "{r}");
    drop(gk);
    let ras = ras_messages(&dir.path().join("gk").join("gatekeeper-h225.pcap"));
    for m in [0, 1, 3, 4, 9, 10, 15, 16] {
        assert!(ras.contains(&m), "RAS message {m} in {ras:?}");
    }
}

/// PRI -> H.323 (issue 7): Debian's libpri calls over gatewayd's test span, the gateway
/// routes the call to the scripted H.323 peer (fast start); the peer hears libpri's
/// tone and libpri hears the peer's, each by its frequency; libpri clears.
#[test]
fn libpri_calls_the_h323_peer_with_audio_both_ways() {
    let test = "libpri_calls_the_h323_peer_with_audio_both_ways";
    if !ready(test, &["gcc"]) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let peer_ip = next_loopback_ip();
    let mut peer = H323Peer::start(
        &dir.path().join("peer"),
        test,
        "answer",
        peer_ip,
        &["--port", "0", "--alert-ms", "200", "--codecs", "PCMA,PCMU"],
    );
    let listening = peer
        .wait_event("listening", WAIT)
        .unwrap_or_else(|e| panic!("{e}\n{}", peer.log()));
    let span = dir.path().join("span");
    let p = Ports::free();
    let config = format!(
        "{}media:\n  rtp_port_range: \"18400-18599\"\n\
         spans:\n  - name: e1a\n    type: e1\n    driver: {{ kind: test, socket: \"{}\" }}\n\
         trunks:\n  - {{ name: pbx, kind: pri, span: e1a, side: network, switch: euroisdn }}\n\
         \x20 - {{ name: peer, kind: h323, remote: \"{peer_ip}:{}\" }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: to-h323, match: {{called: {{prefix: \"5\"}}}}, egress: [peer] }}\n",
        p.config(),
        span.display(),
        listening["port"]
    );
    let gw = Daemon::start_with(p, &config);
    let pcap = dir.path().join("libpri.pcap");
    let mut pri = support::libpri::Peer::spawn(
        &span,
        "cpe",
        "call:5000",
        &pcap,
        &[("PEER_TONE", "1000"), ("PEER_HOLD_MS", "2500")],
    );
    let logs = |peer: &H323Peer, pri: &support::libpri::Peer| {
        format!(
            "\n--- libpri:\n{}\n{}\n--- gatewayd:\n{}",
            pri.text(),
            peer.log(),
            gw.log_text()
        )
    };
    let setup = peer
        .wait_event("setup_received", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer, &pri)));
    assert_eq!(setup["called"], "5000", "{setup}");
    assert_eq!(setup["calling"], "2000", "{setup}");
    pri.wait_line("EVENT ANSWER", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer, &pri)));
    let released = peer
        .wait_event("released", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer, &pri)));
    assert_eq!(released["by"], "remote", "{released}");
    assert_eq!(released["cause"], 16, "{released}");
    let heard = pri
        .wait_line("EVENT BEARER", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer, &pri)));
    let hz: f64 = support::libpri::field(&heard, "heard_hz")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    assert!(
        (hz - PEER_HZ).abs() < 40.0,
        "libpri heard {heard}{}",
        logs(&peer, &pri)
    );
    peer.wait_exit(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&peer, &pri)));
    check_tone(&peer.wav, 1000.0, 15.0)
        .unwrap_or_else(|e| panic!("peer heard: {e}{}", logs(&peer, &pri)));
    let r = &gw.wait_cdrs(1)[0];
    assert_eq!(r["ingress_trunk"], "pbx", "{r}");
    assert_eq!(r["egress_trunk"], "peer", "{r}");
    assert_eq!(r["cause"], 16, "{r}");
    assert_eq!(r["initiator"], "caller", "{r}");
}
