//! The registrar and call routing against a real SIP user agent: linphonec (Debian's
//! linphone-cli) registers with digest authentication, then takes a call that a baresip
//! caller places to its user through gatewayd (routed to the registered contact, audio
//! both ways checked by tone frequency; the phone requires 100rel, so the gateway PRACKs
//! its reliable 180, and both agree a session timer), unregisters; a second instance with a wrong
//! password is refused and gets no call (the caller gets 480).
//!
//! linphonecsh talks to its daemon over a per-user socket in /tmp, so all linphone
//! scenarios run in this one test, one after the other.

mod gatewayd_support;

use gatewayd_support::audio::{check_tone, make_tone, read_wav};
use gatewayd_support::baresip::{
    AnswerMode, Baresip, BaresipOptions, event_param, peers_available,
};
use gatewayd_support::*;
use std::net::{Ipv4Addr, SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long audio flows once the call is up (a bounded wait, not synchronisation).
const TALK: Duration = Duration::from_millis(2500);

/// The caller's tone and the phone's tone.
const CALLER_HZ: f64 = 440.0;
const PHONE_HZ: f64 = 700.0;

/// A linphonec daemon with its own HOME and rc file, stopped when dropped.
struct Linphone {
    home: PathBuf,
    log: PathBuf,
}

/// An RTP port range of `width` ports in 32000–32767 (above the baresip harness's
/// 20000–31999 and the gateway's default media range 10000–20000, below the kernel's
/// ephemeral ports) that is free on 0.0.0.0 now.
fn free_rtp_range(width: u16) -> (u16, u16) {
    let slots = (32768 - 32000) / width;
    let first = u16::try_from(std::process::id() % u32::from(slots)).expect("fits");
    (0..slots)
        .map(|i| 32000 + (first + i) % slots * width)
        .find(|&base| {
            (base..base + width).all(|p| UdpSocket::bind((Ipv4Addr::UNSPECIFIED, p)).is_ok())
        })
        .map(|base| (base, base + width - 1))
        .expect("a free RTP port range in 32000-32767")
}

impl Linphone {
    /// Starts `linphonecsh init` in `dir` with SIP on 127.0.0.1:`sip_port`, auto-answering
    /// incoming calls (`-a`) when `auto_answer`.
    fn start(dir: &Path, sip_port: u16, auto_answer: bool) -> Linphone {
        let home = dir.join("home");
        std::fs::create_dir_all(home.join(".local/share/linphone")).expect("linphone home");
        let (rtp_min, rtp_max) = free_rtp_range(40);
        let (audio_max, video_min) = (rtp_min + 19, rtp_min + 20);
        // PEERS.md: bind everything to loopback, no IPv6, or it advertises real addresses.
        let rc = write_file(
            dir,
            "linphonerc",
            &format!(
                "[sip]\nbind_address=127.0.0.1\nsip_port={sip_port}\nsip_tcp_port=0\n\
                 sip_tls_port=0\nuse_ipv6=0\ndefault_proxy=-1\nguess_hostname=0\n\
                 100rel_support_level=2\nsession_expires_enabled=1\nsession_expires_value=120\n\
                 contact=sip:3000@127.0.0.1:{sip_port}\n\n[rtp]\nbind_address=127.0.0.1\n\
                 audio_rtp_port={rtp_min}-{audio_max}\nvideo_rtp_port={video_min}-{rtp_max}\n\n\
                 [video]\nenabled=0\n"
            ),
        );
        let log = dir.join("linphone.log");
        let l = Linphone {
            home,
            log: log.clone(),
        };
        // A daemon left over from an interrupted run would take our commands.
        let _ = l.run(&["exit"]);
        let mut args = vec![
            "init",
            "-c",
            rc.to_str().expect("utf-8 path"),
            "-d",
            "4",
            "-l",
            log.to_str().expect("utf-8 path"),
        ];
        if auto_answer {
            args.push("-a");
        }
        let (ok, out) = l.run(&args);
        assert!(ok, "linphonecsh init failed: {out}");
        // Ready once the daemon answers on its pipe.
        l.wait_status("hook", |s| !s.is_empty() && !s.contains("ERROR"));
        l
    }

    /// Runs `linphonecsh ARGS`, bounded; (success, output).
    fn run(&self, args: &[&str]) -> (bool, String) {
        let mut child = Command::new("linphonecsh")
            .args(args)
            .env("HOME", &self.home)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("linphonecsh is installed (./tests/run.sh installs linphone-cli)");
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().expect("wait linphonecsh") {
                let out = child.wait_with_output().expect("linphonecsh output");
                let text = String::from_utf8_lossy(&out.stdout).into_owned()
                    + &String::from_utf8_lossy(&out.stderr);
                return (status.success(), text);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return (false, format!("linphonecsh {args:?} timed out"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Runs `linphonecsh generic COMMAND`; panics when it fails.
    fn generic(&self, command: &str) -> String {
        let (ok, out) = self.run(&["generic", command]);
        assert!(ok, "linphonecsh generic {command:?}: {out}");
        out
    }

    /// Polls `linphonecsh status WHAT` until `pred` holds, bounded; returns the status.
    fn wait_status(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let (_, out) = self.run(&["status", what]);
            if pred(out.trim()) {
                return out;
            }
            assert!(
                Instant::now() < deadline,
                "linphone status {what} never matched; last: {out}\nlinphone log tail:\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The daemon's log (`-d 4`: it holds every SIP message sent and received).
    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last lines of the log, for failure messages.
    fn log_tail(&self) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }
}

impl Drop for Linphone {
    fn drop(&mut self) {
        let _ = self.run(&["exit"]);
    }
}

fn registrations(text: &str) -> f64 {
    metric(text, "gateway_sip_registrations", &[]).expect("series exists")
}

fn auth_failures(text: &str) -> f64 {
    metric(text, "gateway_sip_auth_failures_total", &[]).expect("series exists")
}

fn calls(text: &str, outcome: &str) -> f64 {
    metric(
        text,
        "gateway_calls_total",
        &[("ingress", "sip"), ("egress", "sip"), ("outcome", outcome)],
    )
    .unwrap_or(0.0)
}

/// The gateway config: trunk `caller` for the baresip caller, trunk `phones` of
/// registering users (3000), and a route sending called numbers `3…` to `phones`. Media
/// ports stay in the default 10000–20000, clear of the kernel's ephemeral ports that
/// [`Ports::free`] hands out.
fn config(ports: Ports, caller: SocketAddr) -> String {
    format!(
        "{}trunks:\n  - {{ name: caller, kind: sip, remote: \"{caller}\" }}\n\
         \x20 - name: phones\n    kind: sip\n    realm: gw.test\n    users:\n      \
         - {{ name: \"3000\", password: \"s3cret\" }}\n\
         routes:\n  default:\n\
         \x20   - {{ name: phones, match: {{called: {{prefix: \"3\"}}}}, egress: [phones] }}\n",
        ports.config()
    )
}

/// Whether linphone has closed its recording `path`: mediastreamer2's file recorder
/// leaves the 44-byte header zeroed while recording and writes it on close, with sizes
/// that count the header as data (44 bytes too many: the harness's
/// [`wav_is_finalized`](gatewayd_support::audio::wav_is_finalized) refuses them, while
/// [`read_wav`] reads up to the end of the file).
fn linphone_recording_closed(path: &Path) -> bool {
    std::fs::read(path).is_ok_and(|b| {
        b.len() > 44
            && &b[0..4] == b"RIFF"
            && &b[36..40] == b"data"
            && u32::from_le_bytes([b[40], b[41], b[42], b[43]]) != 0
            && read_wav(path).is_ok_and(|w| !w.samples.is_empty())
    })
}

/// Waits (bounded) until linphone has closed its recording `path` (at the end of the
/// call's audio stream, which can trail the end of the call).
fn wait_recording_closed(path: &Path) -> Result<(), String> {
    let deadline = Instant::now() + WAIT;
    while !linphone_recording_closed(path) {
        if Instant::now() > deadline {
            return Err(format!("{} not closed within {WAIT:?}", path.display()));
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    Ok(())
}

#[test]
fn linphone_registers_takes_a_routed_call_unregisters_and_fails_with_a_wrong_password() {
    if !peers_available(
        "linphone_registers_takes_a_routed_call_unregisters_and_fails_with_a_wrong_password",
        &["linphonecsh", "baresip", "sox"],
    ) {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    // The caller: baresip on its own 127.0.0.x, sending 440 Hz.
    let a = Baresip::start(
        &dir.path().join("a"),
        BaresipOptions::new("2000")
            .answer(AnswerMode::Manual)
            .codecs("PCMU,PCMA")
            .tone(CALLER_HZ),
    );
    let ports = Ports::free();
    let d = Daemon::start_with(ports, &config(ports, a.sip_addr()));
    let host = format!("127.0.0.1:{}", ports.sip);
    let target = format!("sip:3000@{host}");

    // Right password: challenged once (401), then registered (200).
    let right = dir.path().join("right");
    let phone = Linphone::start(&right, free_port(), true);
    let logs = |phone: &Linphone| {
        format!(
            "\n--- caller log:\n{}\n--- gatewayd log:\n{}\n--- linphone log tail:\n{}",
            a.log(),
            d.log_text(),
            phone.log_tail()
        )
    };
    // The phone plays a 700 Hz file and records what it hears.
    let tone = right.join(format!("tone{PHONE_HZ}.wav"));
    make_tone(&tone, PHONE_HZ, 30.0);
    let heard_by_phone = right.join("rec.wav");
    phone.generic("soundcard use files");
    phone.generic(&format!("play {}", tone.display()));
    phone.generic(&format!("record {}", heard_by_phone.display()));
    let (ok, out) = phone.run(&[
        "register",
        "--host",
        &host,
        "--username",
        "3000",
        "--password",
        "s3cret",
    ]);
    assert!(ok, "{out}");
    phone.wait_status("register", |s| s.starts_with("registered,"));
    let text = d.wait_metrics("one registration", |t| registrations(t) == 1.0);
    assert_eq!(
        auth_failures(&text),
        1.0,
        "the first REGISTER is challenged"
    );
    phone.wait_status("autoanswer", |s| s == "autoanswer=1");

    // A call to 3000 goes to the phone's registered contact; it answers at once.
    a.dial(&target)
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs(&phone)));
    let ev = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&phone)));
    assert_eq!(ev["type"], "CALL_ESTABLISHED", "{ev}{}", logs(&phone));
    let hook = phone.wait_status("hook", |s| s.starts_with("hook=answered"));
    assert!(
        hook.contains("sip:2000@"),
        "the phone sees the caller: {hook}"
    );
    std::thread::sleep(TALK);
    a.hangup()
        .unwrap_or_else(|e| panic!("hangup: {e}{}", logs(&phone)));
    a.wait_event("CALL_CLOSED", WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&phone)));
    // The BYE crosses the gateway: the phone hangs up too.
    phone.wait_status("hook", |s| s == "hook=on-hook");
    let (a_dec, _) = a
        .wait_recordings(WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&phone)));
    wait_recording_closed(&heard_by_phone).unwrap_or_else(|e| panic!("{e}{}", logs(&phone)));
    let a_heard = check_tone(&a_dec, PHONE_HZ, 10.0)
        .unwrap_or_else(|e| panic!("caller: {e}{}", logs(&phone)));
    let phone_heard = check_tone(&heard_by_phone, CALLER_HZ, 10.0)
        .unwrap_or_else(|e| panic!("phone: {e}{}", logs(&phone)));
    eprintln!("caller heard: {a_heard}\nphone heard: {phone_heard}");
    for r in [&a_heard, &phone_heard] {
        assert!(r.active.1 - r.active.0 >= 2.0, "{r}");
    }
    d.wait_metrics("one answered call", |t| calls(t, "answered") == 1.0);
    // RFC 3262: the phone (100rel_support_level=2) sent its 180 reliably and the
    // gateway PRACKed it; RFC 4028: the gateway's INVITE asked for a session timer and
    // the phone's 2xx took one (it may shorten the interval, not below Min-SE 90).
    let lin_log = phone.log_text();
    let starting = |p: &str| lin_log.lines().filter(|l| l.starts_with(p)).count();
    assert!(
        starting("RSeq:") >= 1,
        "no reliable provisional{}",
        logs(&phone)
    );
    assert!(
        starting("PRACK sip:") >= 1,
        "no PRACK reached the phone{}",
        logs(&phone)
    );
    let se: Vec<&str> = lin_log
        .lines()
        .filter_map(|l| l.strip_prefix("Session-Expires:"))
        .map(str::trim)
        .collect();
    assert!(se.contains(&"1800"), "our INVITE asks for 1800 s: {se:?}");
    assert!(
        se.iter().any(|v| v.starts_with("120;refresher=")),
        "the phone's 2xx sets the timer: {se:?}"
    );
    // Loopback only: every SDP linphone sent or received names 127.0.0.1 (PEERS.md: with
    // other rc settings it advertises the host's real addresses).
    let lin_log = phone.log_text();
    let c_lines: Vec<&str> = lin_log
        .lines()
        .filter(|l| l.starts_with("c=") || l.starts_with("o="))
        .collect();
    assert!(!c_lines.is_empty(), "linphone logged its SDP");
    for l in &c_lines {
        assert!(
            l.trim_end().ends_with("IN IP4 127.0.0.1"),
            "non-loopback SDP: {l}"
        );
    }

    // Unregister: Expires 0 removes the binding.
    let (ok, out) = phone.run(&["unregister"]);
    assert!(ok, "{out}");
    d.wait_metrics("no registration", |t| registrations(t) == 0.0);
    drop(phone);

    // Wrong password: 401 again, linphone gives up, nothing is bound.
    let phone = Linphone::start(&dir.path().join("wrong"), free_port(), true);
    let (ok, out) = phone.run(&[
        "register",
        "--host",
        &host,
        "--username",
        "3000",
        "--password",
        "guess",
    ]);
    assert!(ok, "{out}");
    phone.wait_status("register", |s| s.starts_with("registered=-1"));
    let text = d.wait_metrics("refused credentials", |t| auth_failures(t) >= 3.0);
    assert_eq!(registrations(&text), 0.0);

    // ... and gets no call: 3000 has no registration, the caller gets 480 (cause 20).
    a.dial(&target)
        .unwrap_or_else(|e| panic!("dial: {e}{}", logs(&phone)));
    let closed = a
        .wait_any(&["CALL_ESTABLISHED", "CALL_CLOSED"], WAIT)
        .unwrap_or_else(|e| panic!("{e}{}", logs(&phone)));
    assert_eq!(closed["type"], "CALL_CLOSED", "{closed}{}", logs(&phone));
    let reason = event_param(&closed);
    assert!(
        reason.starts_with("480") || reason.starts_with("404"),
        "{closed}{}",
        logs(&phone)
    );
    d.wait_metrics("one failed call", |t| calls(t, "failed") == 1.0);
    assert_eq!(
        phone.wait_status("hook", |s| !s.is_empty()).trim(),
        "hook=on-hook"
    );
    let invites = phone
        .log_text()
        .lines()
        .filter(|l| l.starts_with("INVITE "))
        .count();
    assert_eq!(
        invites,
        0,
        "the refused phone got an INVITE{}",
        logs(&phone)
    );
}
