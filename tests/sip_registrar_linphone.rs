//! The registrar against a real SIP user agent: linphonec (Debian's linphone-cli) registers
//! with digest authentication, unregisters, and fails with a wrong password.
//!
//! linphonecsh talks to its daemon over a per-user socket in /tmp, so all linphone
//! scenarios run in this one test, one after the other.

mod gatewayd_support;

use gatewayd_support::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A linphonec daemon with its own HOME and rc file, stopped when dropped.
struct Linphone {
    home: std::path::PathBuf,
}

impl Linphone {
    fn start(dir: &Path, sip_port: u16) -> Linphone {
        let home = dir.join("home");
        std::fs::create_dir_all(home.join(".local/share/linphone")).expect("linphone home");
        // PEERS.md: bind everything to loopback, no IPv6, or it advertises real addresses.
        let rc = write_file(
            dir,
            "linphonerc",
            &format!(
                "[sip]\nbind_address=127.0.0.1\nsip_port={sip_port}\nsip_tcp_port=0\n\
                 sip_tls_port=0\nuse_ipv6=0\ndefault_proxy=-1\nguess_hostname=0\n\
                 contact=sip:3000@127.0.0.1:{sip_port}\n\n[rtp]\nbind_address=127.0.0.1\n\
                 audio_rtp_port=32000-32099\nvideo_rtp_port=33000-33099\n\n[video]\nenabled=0\n"
            ),
        );
        let l = Linphone { home };
        // A daemon left over from an interrupted run would take our commands.
        let _ = l.run(&["exit"]);
        let log = dir.join("linphone.log");
        let (ok, out) = l.run(&[
            "init",
            "-c",
            rc.to_str().expect("utf-8 path"),
            "-d",
            "4",
            "-l",
            log.to_str().expect("utf-8 path"),
        ]);
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
                "linphone status {what} never matched; last: {out}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
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

#[test]
fn linphone_registers_with_digest_unregisters_and_fails_with_a_wrong_password() {
    let dir = tempfile::tempdir().expect("temp dir");
    let ports = Ports::free();
    let config = format!(
        "{}trunks:\n  - name: phones\n    kind: sip\n    realm: gw.test\n    users:\n      \
         - {{ name: \"3000\", password: \"s3cret\" }}\n",
        ports.config()
    );
    let config = write_file(dir.path(), "gateway.yaml", &config);
    let mut d = Daemon::spawn(
        dir.path(),
        ports.metrics,
        &["--config", config.to_str().expect("utf-8 path")],
    );
    d.wait_ready();
    let host = format!("127.0.0.1:{}", ports.sip);

    // Right password: challenged once (401), then registered (200).
    let phone = Linphone::start(&dir.path().join("right"), free_port());
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

    // Unregister: Expires 0 removes the binding.
    let (ok, out) = phone.run(&["unregister"]);
    assert!(ok, "{out}");
    d.wait_metrics("no registration", |t| registrations(t) == 0.0);
    drop(phone);

    // Wrong password: 401 again, linphone gives up, nothing is bound.
    let phone = Linphone::start(&dir.path().join("wrong"), free_port());
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
}
