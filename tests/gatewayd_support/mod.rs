//! Helpers shared by the `gatewayd` end-to-end tests: free ports, a config on them, the
//! spawned daemon (signalled and killed only through its own pid), and tiny SIP, HTTP and
//! TPKT clients. Every wait is bounded.

#![allow(dead_code)] // Each test file uses a different subset.

pub mod audio;
pub mod baresip;
pub mod libpri;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// Bound on every wait in these tests.
pub const WAIT: Duration = Duration::from_secs(10);

/// Interval between two polls.
const POLL: Duration = Duration::from_millis(25);

/// The binary under test.
pub fn gatewayd() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gatewayd"))
}

/// `gatewayd replay --config CONFIG CAPTURE`: its transcript (the run must succeed).
pub fn replay(config: &Path, capture: &Path) -> String {
    let out = gatewayd()
        .args(["replay", "--config"])
        .arg(config)
        .arg(capture)
        .output()
        .expect("gatewayd replay runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "gatewayd replay failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// The figures of a replay transcript's last line, `# N packet(s) fed, M call(s)
/// ended, K message(s) sent by the replay (J in the capture), ...`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplaySummary {
    /// Packets fed into the core.
    pub fed: usize,
    /// Calls that ended.
    pub calls: usize,
    /// Messages the core sent during the replay.
    pub sent_by_replay: usize,
    /// Messages the capture shows the gateway sending.
    pub sent_in_capture: usize,
}

/// Parses a transcript's summary line.
pub fn replay_summary(transcript: &str) -> ReplaySummary {
    let nums: Vec<usize> = transcript
        .lines()
        .last()
        .unwrap_or_default()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect();
    assert!(nums.len() >= 4, "no summary line:\n{transcript}");
    ReplaySummary {
        fed: nums[0],
        calls: nums[1],
        sent_by_replay: nums[2],
        sent_in_capture: nums[3],
    }
}

/// A loopback port that is free for both TCP and UDP right now, and that no other test
/// of this process was given: the kernel hands a released port out again, and two
/// daemons of one test (or of two tests running at once) must not share one.
pub fn free_port() -> u16 {
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    loop {
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
        let port = tcp.local_addr().expect("bound").port();
        if UdpSocket::bind((Ipv4Addr::LOCALHOST, port)).is_err() {
            continue;
        }
        let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
        if !given.contains(&port) {
            given.push(port);
            return port;
        }
    }
}

/// The ports one daemon listens on.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    /// SIP, UDP and TCP.
    pub sip: u16,
    /// H.225.0.
    pub h225: u16,
    /// Metrics HTTP.
    pub metrics: u16,
}

impl Ports {
    /// Three distinct free ports.
    pub fn free() -> Ports {
        loop {
            let p = Ports {
                sip: free_port(),
                h225: free_port(),
                metrics: free_port(),
            };
            if p.sip != p.h225 && p.h225 != p.metrics && p.sip != p.metrics {
                return p;
            }
        }
    }

    /// A configuration on these ports, loopback only.
    pub fn config(&self) -> String {
        format!(
            "general:\n  node_name: e2e\n  drain_timeout_seconds: 5\n\
             listeners:\n  sip:\n    - {{ transport: udp, address: \"127.0.0.1:{s}\" }}\n    \
             - {{ transport: tcp, address: \"127.0.0.1:{s}\" }}\n  \
             h225:\n    - address: \"127.0.0.1:{h}\"\n\
             metrics:\n  listen: \"127.0.0.1:{m}\"\n\
             cdr:\n  directory: \"cdr\"\n  formats: [csv, jsonl]\n",
            s = self.sip,
            h = self.h225,
            m = self.metrics
        )
    }
}

/// Writes `text` to a file in `dir`.
pub fn write_file(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write temp file");
    path
}

/// Runs `child` to completion, bounded by [`WAIT`].
pub fn wait_exit(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + WAIT;
    loop {
        if let Some(status) = child.try_wait().expect("wait on child") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("gatewayd did not exit within {WAIT:?}");
        }
        std::thread::sleep(POLL);
    }
}

/// A running `gatewayd run`, killed (SIGKILL, its pid only) when dropped.
pub struct Daemon {
    child: Child,
    log: PathBuf,
    /// Its metrics port.
    pub metrics_port: u16,
    _dir: Option<tempfile::TempDir>,
}

impl Daemon {
    /// Spawns `gatewayd run` with `args`, logging to a file in `dir`.
    pub fn spawn(dir: &Path, metrics_port: u16, args: &[&str]) -> Daemon {
        Daemon::spawn_env(dir, metrics_port, args, &[])
    }

    /// [`Daemon::spawn`] with environment variables `env` added.
    pub fn spawn_env(dir: &Path, metrics_port: u16, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let log = dir.join("gatewayd.log");
        let stderr = std::fs::File::create(&log).expect("create log file");
        // Relative paths of the config (the CDR directory) land in the test's own dir.
        let child = gatewayd()
            .current_dir(dir)
            .arg("run")
            .args(args)
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawn gatewayd");
        Daemon {
            child,
            log,
            metrics_port,
            _dir: None,
        }
    }

    /// Spawns `gatewayd run --config FILE` on fresh ports, with `extra` arguments.
    pub fn start(extra: &[&str]) -> (Daemon, Ports, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let ports = Ports::free();
        let config = write_file(dir.path(), "gateway.yaml", &ports.config());
        let mut args = vec!["--config", config.to_str().expect("utf-8 temp path")];
        args.extend_from_slice(extra);
        let mut d = Daemon::spawn(dir.path(), ports.metrics, &args);
        d._dir = Some(dir);
        d.wait_ready();
        (d, ports, config)
    }

    /// Spawns `gatewayd run --config FILE` with `config` (which must use `ports`).
    pub fn start_with(ports: Ports, config: &str) -> Daemon {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = write_file(dir.path(), "gateway.yaml", config);
        let args = ["--config", path.to_str().expect("utf-8 temp path")];
        let mut d = Daemon::spawn(dir.path(), ports.metrics, &args);
        d._dir = Some(dir);
        d.wait_ready();
        d
    }

    /// Spawns `gatewayd run --config DIR/gateway.yaml EXTRA…` in `dir` (which the caller
    /// keeps, e.g. to read a capture afterwards).
    pub fn start_in(dir: &Path, ports: Ports, config: &str, extra: &[&str]) -> Daemon {
        let path = write_file(dir, "gateway.yaml", config);
        let mut args = vec!["--config", path.to_str().expect("utf-8 temp path")];
        args.extend_from_slice(extra);
        let mut d = Daemon::spawn(dir, ports.metrics, &args);
        d.wait_ready();
        d
    }

    /// [`Daemon::start_in`] with environment variables `env` added.
    pub fn start_in_env(dir: &Path, ports: Ports, config: &str, env: &[(&str, &str)]) -> Daemon {
        let path = write_file(dir, "gateway.yaml", config);
        let args = ["--config", path.to_str().expect("utf-8 temp path")];
        let mut d = Daemon::spawn_env(dir, ports.metrics, &args, env);
        d.wait_ready();
        d
    }

    /// Polls `/healthz` until it answers 200, bounded by [`WAIT`].
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait on child") {
                panic!("gatewayd exited early ({status}):\n{}", self.log_text());
            }
            if let Ok((200, _)) = http_get(self.metrics_port, "/healthz") {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "gatewayd not ready within {WAIT:?}:\n{}",
                self.log_text()
            );
            std::thread::sleep(POLL);
        }
    }

    /// Sends `sig` to this daemon's process.
    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = nix::unistd::Pid::from_raw(i32::try_from(self.child.id()).expect("pid fits"));
        nix::sys::signal::kill(pid, sig).expect("signal the child");
    }

    /// Waits for the exit, bounded by [`WAIT`].
    pub fn wait_exit(&mut self) -> ExitStatus {
        wait_exit(&mut self.child)
    }

    /// The metrics text.
    pub fn metrics(&self) -> String {
        let (status, body) = http_get(self.metrics_port, "/metrics").expect("GET /metrics");
        assert_eq!(status, 200);
        body
    }

    /// Polls `/metrics` until `pred` holds on it, bounded by [`WAIT`]; returns the text.
    pub fn wait_metrics(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let text = self.metrics();
            if pred(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "metrics never showed {what}:\n{text}\nlog:\n{}",
                self.log_text()
            );
            std::thread::sleep(POLL);
        }
    }

    /// The CDR lines written so far in `format` (`csv` or `jsonl`), over every file,
    /// CSV headers left out.
    pub fn cdr_lines(&self, format: &str) -> Vec<String> {
        let dir = self.log.parent().expect("log in a dir").join("cdr");
        let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        names.sort();
        names
            .iter()
            .filter(|p| {
                let n = p.to_string_lossy();
                n.ends_with(&format!(".{format}")) || n.ends_with(&format!(".{format}.part"))
            })
            .flat_map(|p| {
                std::fs::read_to_string(p)
                    .unwrap_or_default()
                    .lines()
                    .skip(usize::from(format == "csv"))
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Polls until `n` JSON CDR lines exist, bounded by [`WAIT`]; returns them parsed.
    pub fn wait_cdrs(&self, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + WAIT;
        loop {
            let lines = self.cdr_lines("jsonl");
            if lines.len() >= n {
                return lines
                    .iter()
                    .map(|l| serde_json::from_str(l).expect("a CDR line is JSON"))
                    .collect();
            }
            assert!(
                Instant::now() < deadline,
                "{} CDR line(s), expected {n}:\n{}",
                lines.len(),
                self.log_text()
            );
            std::thread::sleep(POLL);
        }
    }

    /// What the daemon logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
        if std::thread::panicking() {
            eprintln!("gatewayd log:\n{}", self.log_text());
        }
    }
}

/// The value of the sample `name{labels}` (labels in any order) in a metrics text.
pub fn metric(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let mut want: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    want.sort();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (n, mut got) = match series.split_once('{') {
                Some((n, rest)) => (
                    n,
                    rest.trim_end_matches('}')
                        .split(',')
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                        .collect::<Vec<_>>(),
                ),
                None => (series, Vec::new()),
            };
            got.sort();
            (n == name && got == want).then(|| value.parse().ok())?
        })
}

/// `GET path` on the metrics port: (status, body).
pub fn http_get(port: u16, path: &str) -> std::io::Result<(u16, String)> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut s = TcpStream::connect_timeout(&addr, WAIT)?;
    s.set_read_timeout(Some(WAIT))?;
    s.set_write_timeout(Some(WAIT))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut text = String::new();
    s.read_to_string(&mut text)?;
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad HTTP response {text:?}")))?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_owned();
    Ok((status, body))
}

/// A SIP OPTIONS request.
pub fn options(transport: &str, call_id: &str, cseq: u32) -> String {
    format!(
        "OPTIONS sip:gw@127.0.0.1 SIP/2.0\r\n\
         Via: SIP/2.0/{transport} 127.0.0.1:5999;branch=z9hG4bK{call_id};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:probe@127.0.0.1>;tag=e2e\r\n\
         To: <sip:gw@127.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

/// Sends `msg` over UDP to `port` and returns the answer.
pub fn sip_udp(port: u16, msg: &[u8]) -> String {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
    s.set_read_timeout(Some(WAIT)).expect("timeout");
    s.send_to(msg, (Ipv4Addr::LOCALHOST, port)).expect("send");
    let mut buf = vec![0u8; 65_536];
    let n = s.recv(&mut buf).expect("SIP/UDP answer within the wait");
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

/// Sends `msg` over UDP to `port`, expecting no answer.
pub fn udp_send(port: u16, msg: &[u8]) {
    let s = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind loopback");
    s.send_to(msg, (Ipv4Addr::LOCALHOST, port)).expect("send");
}

/// Sends `msg` over a new TCP connection to `port` and returns the first answer (a head
/// with `Content-Length: 0`).
pub fn sip_tcp(port: u16, msg: &[u8]) -> std::io::Result<String> {
    let mut s = connect(port)?;
    s.write_all(msg)?;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
    }
    Ok(String::from_utf8_lossy(&got).into_owned())
}

/// A TCP connection to a loopback port, with bounded reads and writes.
pub fn connect(port: u16) -> std::io::Result<TcpStream> {
    let s = TcpStream::connect_timeout(&SocketAddr::from((Ipv4Addr::LOCALHOST, port)), WAIT)?;
    s.set_read_timeout(Some(WAIT))?;
    s.set_write_timeout(Some(WAIT))?;
    Ok(s)
}

/// The value of header `name` in a SIP message.
pub fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    msg.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Runs `gatewayd ARGS` to completion (bounded by [`WAIT`]): (status, stdout, stderr).
pub fn run_bounded(args: &[&str]) -> (ExitStatus, String, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let (out, err) = (dir.path().join("stdout"), dir.path().join("stderr"));
    let mut child = gatewayd()
        .current_dir(dir.path())
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out).expect("create stdout file"))
        .stderr(std::fs::File::create(&err).expect("create stderr file"))
        .spawn()
        .expect("spawn gatewayd");
    let status = wait_exit(&mut child);
    let read = |p: &Path| std::fs::read_to_string(p).expect("read output");
    (status, read(&out), read(&err))
}
