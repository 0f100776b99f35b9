//! baresip 1.0.0 (Debian `baresip-core`) as a scripted SIP user agent for end-to-end call
//! tests: one process per instance, its own directory, `config` + `accounts` generated
//! here, a WAV file as the microphone, `sndfile` recordings of what it sent and received,
//! and live control over `ctrl_tcp` (netstring-framed JSON).
//!
//! Every instance listens for SIP on its own loopback address (127.0.0.2, 127.0.0.3, …) and
//! free ports; its RTP sockets bind to 0.0.0.0 (baresip 1.0 does that whatever the
//! config says), so each instance also gets its own verified-free RTP port range.
//! Every wait is bounded; the process is stopped through its own pid only.

use super::WAIT;
use serde_json::Value;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Interval between two polls.
const POLL: Duration = Duration::from_millis(25);

/// Bound on the SIGTERM → exit wait before SIGKILL.
const STOP_WAIT: Duration = Duration::from_secs(3);

/// Where the loadable modules of the Debian package live.
const MODULE_PATH: &str = "/usr/lib/baresip/modules";

/// Whether `program` can be run (found on `PATH`).
pub fn have_program(program: &str) -> bool {
    Command::new(program)
        .arg("-h")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map(|mut c| {
            let deadline = Instant::now() + WAIT;
            while c.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
            let _ = c.kill();
            let _ = c.wait();
        })
        .is_ok()
}

/// Checks that the peer programs a test needs are installed (e.g. `["baresip", "sox"]`).
///
/// Missing ones fail the test with a clear message, unless `GATEWAY_SKIP_PEERS=1` is set:
/// then a skip line is printed and `false` returned (the test should return early).
pub fn peers_available(test: &str, programs: &[&str]) -> bool {
    let missing: Vec<&str> = programs
        .iter()
        .copied()
        .filter(|p| !have_program(p))
        .collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("GATEWAY_SKIP_PEERS").as_deref() == Ok("1") {
        eprintln!(
            "SKIP {test}: {} not installed (GATEWAY_SKIP_PEERS=1)",
            missing.join(", ")
        );
        return false;
    }
    panic!(
        "{test} needs {} on PATH (Debian packages baresip-core, sox). \
         Set GATEWAY_SKIP_PEERS=1 to skip instead.",
        missing.join(", ")
    );
}

/// How an incoming call is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerMode {
    /// 200 OK at once (`answermode=auto`).
    Auto,
    /// Rings (180) until [`Baresip::answer`] (`answermode=manual`).
    Manual,
}

/// How DTMF is sent. baresip 1.0.0 has no per-account DTMF mode: `sndcode` always sends
/// RFC 4733 telephone-events (PT 101). It *receives* both RFC 4733 and SIP INFO
/// (`application/dtmf-relay`), reported as `CALL_DTMF_START`/`CALL_DTMF_END` events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DtmfMode {
    /// RFC 4733 telephone-event, the only mode baresip 1.0.0 sends.
    #[default]
    Rfc4733,
}

/// What the instance sends as its microphone.
#[derive(Debug, Clone)]
pub enum Source {
    /// A sine tone generated with sox into the instance directory (8 kHz mono s16).
    /// baresip hangs up when the file ends: make `seconds` longer than any call.
    Tone {
        /// Frequency.
        hz: f64,
        /// Length of the file.
        seconds: u32,
    },
    /// An existing 8 kHz mono s16 WAV file (longer than any call).
    Wav(PathBuf),
}

/// What an instance looks like; build with [`BaresipOptions::new`] and the setters.
#[derive(Debug, Clone)]
pub struct BaresipOptions {
    /// The user part of the AOR (`sip:USER@IP:PORT`).
    pub user: String,
    /// SIP listen address; `None`: the next of 127.0.0.2, 127.0.0.3, … in this process.
    pub ip: Option<Ipv4Addr>,
    /// SIP port (UDP and TCP; baresip also opens TCP port+1); `None`: a free one.
    pub sip_port: Option<u16>,
    /// Answer mode for incoming calls.
    pub answer: AnswerMode,
    /// `audio_codecs` of the account, in preference order, e.g. `"PCMU,PCMA"`.
    pub codecs: String,
    /// The microphone.
    pub source: Source,
    /// RTP/RTCP port range `(min, max)`; `None`: a verified-free 20-port range.
    pub rtp_ports: Option<(u16, u16)>,
    /// Outbound proxy (`;outbound="URI"`), e.g. `"sip:127.0.0.1:5060"`: every request of
    /// the account goes there, whatever the Request-URI host.
    pub outbound: Option<String>,
    /// DTMF sending mode.
    pub dtmf: DtmfMode,
    /// Extra account parameters appended verbatim, each without the leading `;`
    /// (e.g. `"auth_pass=secret"`, `"ptime=30"`). `regint=0` is always set first.
    pub account_params: Vec<String>,
    /// Extra lines of baresip's `config` (e.g. `"sip_certificate\t/path"`).
    pub config_lines: Vec<String>,
    /// Codec modules loaded next to g711 (e.g. `"g722.so"`), before the account is read
    /// so that its `audio_codecs` can name them.
    pub modules: Vec<String>,
    /// Run inside this network namespace (`ip netns exec NAME baresip …`); `ip` must then
    /// be an address of that namespace. Ports are not probed there (the namespace is the
    /// test's own): SIP 5060, ctrl_tcp 4444 and RTP 30000-30019 unless set.
    pub netns: Option<String>,
}

impl BaresipOptions {
    /// Auto-answer, PCMU then PCMA, a 1000 Hz tone of 60 s, everything else automatic.
    pub fn new(user: &str) -> BaresipOptions {
        BaresipOptions {
            user: user.to_owned(),
            ip: None,
            sip_port: None,
            answer: AnswerMode::Auto,
            codecs: "PCMU,PCMA".to_owned(),
            source: Source::Tone {
                hz: 1000.0,
                seconds: 60,
            },
            rtp_ports: None,
            outbound: None,
            dtmf: DtmfMode::Rfc4733,
            account_params: Vec::new(),
            config_lines: Vec::new(),
            modules: Vec::new(),
            netns: None,
        }
    }

    /// Runs the instance inside network namespace `name`, listening on `ip` there.
    pub fn netns(mut self, name: &str, ip: Ipv4Addr) -> Self {
        self.netns = Some(name.to_owned());
        self.ip = Some(ip);
        self
    }

    /// Sets the answer mode.
    pub fn answer(mut self, mode: AnswerMode) -> Self {
        self.answer = mode;
        self
    }

    /// Sets the codec list (`"PCMU"`, `"PCMA,PCMU"`, …).
    pub fn codecs(mut self, codecs: &str) -> Self {
        self.codecs = codecs.to_owned();
        self
    }

    /// Sends a sine tone of `hz` (60 s file).
    pub fn tone(mut self, hz: f64) -> Self {
        self.source = Source::Tone { hz, seconds: 60 };
        self
    }

    /// Sends an existing WAV file.
    pub fn wav(mut self, path: &Path) -> Self {
        self.source = Source::Wav(path.to_owned());
        self
    }

    /// Listens on `ip` instead of the next 127.0.0.x.
    pub fn ip(mut self, ip: Ipv4Addr) -> Self {
        self.ip = Some(ip);
        self
    }

    /// Listens on SIP port `port` instead of a free one.
    pub fn sip_port(mut self, port: u16) -> Self {
        self.sip_port = Some(port);
        self
    }

    /// Uses this RTP port range instead of a free one.
    pub fn rtp_ports(mut self, min: u16, max: u16) -> Self {
        self.rtp_ports = Some((min, max));
        self
    }

    /// Sends every request through `uri` (e.g. `"sip:127.0.0.1:5060"`).
    pub fn outbound(mut self, uri: &str) -> Self {
        self.outbound = Some(uri.to_owned());
        self
    }

    /// Appends a line to baresip's `config`.
    pub fn config_line(mut self, line: &str) -> Self {
        self.config_lines.push(line.to_owned());
        self
    }

    /// Loads codec module `module` (`"g722.so"`, `"opus.so"`) next to g711.
    pub fn module(mut self, module: &str) -> Self {
        self.modules.push(module.to_owned());
        self
    }

    /// Appends `param` (`"name=value"`) to the account line.
    pub fn account_param(mut self, param: &str) -> Self {
        self.account_params.push(param.to_owned());
        self
    }
}

/// Loopback addresses handed out in this process: 127.0.0.2, 127.0.0.3, …
static NEXT_IP: AtomicU32 = AtomicU32::new(0);

/// The next per-instance loopback address (127.0.0.2 … 127.0.0.251, then wraps).
pub fn next_loopback_ip() -> Ipv4Addr {
    let n = NEXT_IP.fetch_add(1, Ordering::Relaxed) % 250;
    Ipv4Addr::new(127, 0, 0, 2 + u8::try_from(n).expect("below 250"))
}

/// A port that is free on `ip` for TCP and UDP, with TCP port+1 free too (baresip 1.0 opens
/// a second TCP listener there).
fn free_sip_port(ip: Ipv4Addr) -> u16 {
    loop {
        let tcp = TcpListener::bind((ip, 0)).expect("bind a loopback address");
        let port = tcp.local_addr().expect("bound").port();
        if port < u16::MAX
            && UdpSocket::bind((ip, port)).is_ok()
            && TcpListener::bind((ip, port + 1)).is_ok()
        {
            return port;
        }
    }
}

/// A TCP port free on `ip`.
fn free_tcp_port(ip: Ipv4Addr) -> u16 {
    TcpListener::bind((ip, 0))
        .expect("bind a loopback address")
        .local_addr()
        .expect("bound")
        .port()
}

/// RTP range bases handed out in this process (never twice).
static RTP_BASES: Mutex<Vec<u16>> = Mutex::new(Vec::new());

/// Width of an automatic RTP range (10 RTP/RTCP pairs).
const RTP_WIDTH: u16 = 20;

/// A pseudo-random number (no rand crate in the tests).
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    static SALT: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(SALT.fetch_add(1, Ordering::Relaxed));
    h.write_u32(std::process::id());
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.finish()
}

/// A 20-port RTP range in 20000–31999 (above the gateway's default 10000–20000 media
/// range, below the kernel's ephemeral ports) whose every UDP port is free on 0.0.0.0 right
/// now and which no other instance of this process got. baresip picks random even ports
/// inside the range and retries on a bind failure, so a later clash inside it is harmless.
fn free_rtp_range() -> (u16, u16) {
    for _ in 0..1000 {
        let slots = (32000 - 20000) / RTP_WIDTH;
        let base =
            20000 + u16::try_from(random_u64() % u64::from(slots)).expect("fits") * RTP_WIDTH;
        let mut taken = RTP_BASES.lock().expect("rtp bases");
        if taken.contains(&base) {
            continue;
        }
        let all_free =
            (base..base + RTP_WIDTH).all(|p| UdpSocket::bind((Ipv4Addr::UNSPECIFIED, p)).is_ok());
        if all_free {
            taken.push(base);
            return (base, base + RTP_WIDTH - 1);
        }
    }
    panic!("no free RTP port range in 20000-31999");
}

/// What the ctrl_tcp reader thread collected.
#[derive(Default)]
struct Inbox {
    /// Every event so far, with whether a `wait_event` already returned it.
    events: Vec<(Value, bool)>,
    /// Command responses by token.
    responses: HashMap<String, Value>,
    /// Frames that were not JSON or neither event nor response.
    junk: Vec<String>,
    /// The control connection is closed (baresip exited or was stopped).
    closed: bool,
}

struct Shared {
    inbox: Mutex<Inbox>,
    changed: Condvar,
}

/// Reads netstrings (`<len>:<bytes>,`) from `stream` until it closes.
fn reader_loop(mut stream: TcpStream, shared: &Shared) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // Parse every complete frame in the buffer.
        while let Some(colon) = buf.iter().position(|&b| b == b':') {
            let len: Option<usize> = std::str::from_utf8(&buf[..colon])
                .ok()
                .and_then(|s| s.trim().parse().ok());
            let Some(len) = len else {
                // Not a netstring: resynchronise on the next frame.
                let bad = String::from_utf8_lossy(&buf[..=colon]).into_owned();
                buf.drain(..=colon);
                shared.inbox.lock().expect("inbox").junk.push(bad);
                continue;
            };
            if buf.len() < colon + 1 + len + 1 {
                break;
            }
            let payload = buf[colon + 1..colon + 1 + len].to_vec();
            buf.drain(..colon + 1 + len + 1); // payload and the trailing ','
            let mut inbox = shared.inbox.lock().expect("inbox");
            match serde_json::from_slice::<Value>(&payload) {
                Ok(v) if v.get("event").and_then(Value::as_bool) == Some(true) => {
                    inbox.events.push((v, false));
                }
                Ok(v) if v.get("response").and_then(Value::as_bool) == Some(true) => {
                    let token = v
                        .get("token")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned();
                    inbox.responses.insert(token, v);
                }
                _ => inbox
                    .junk
                    .push(String::from_utf8_lossy(&payload).into_owned()),
            }
            shared.changed.notify_all();
        }
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
    shared.inbox.lock().expect("inbox").closed = true;
    shared.changed.notify_all();
}

/// The type of an event (`"CALL_ESTABLISHED"`, …).
pub fn event_type(event: &Value) -> &str {
    event.get("type").and_then(Value::as_str).unwrap_or("")
}

/// The `param` of an event (the reason of `CALL_CLOSED`, the digit of `CALL_DTMF_START`,
/// the peer URI of `CALL_INCOMING`/`CALL_ESTABLISHED`, …), `""` when absent.
pub fn event_param(event: &Value) -> &str {
    event.get("param").and_then(Value::as_str).unwrap_or("")
}

/// A running baresip, stopped (SIGTERM, then SIGKILL; its pid only) when dropped.
pub struct Baresip {
    child: Child,
    dir: PathBuf,
    log_path: PathBuf,
    user: String,
    /// Its SIP listen address.
    pub ip: Ipv4Addr,
    /// Its SIP port (UDP; TCP too).
    pub sip_port: u16,
    /// Its ctrl_tcp port (on [`Baresip::ip`]).
    pub ctrl_port: u16,
    /// Its RTP port range (RTP on even ports, RTCP on the next odd one; bound on 0.0.0.0).
    pub rtp_ports: (u16, u16),
    ctrl: TcpStream,
    shared: Arc<Shared>,
    reader: Option<JoinHandle<()>>,
    next_token: AtomicU64,
}

impl Baresip {
    /// Writes `config` + `accounts` into `dir` (created if missing), starts `baresip -f
    /// dir`, and waits (bounded) until ctrl_tcp answers a command. With automatic ports, a
    /// start that fails (a port taken meanwhile) is retried on fresh ports. Panics with
    /// the log on failure.
    pub fn start(dir: &Path, opts: BaresipOptions) -> Baresip {
        std::fs::create_dir_all(dir).expect("create baresip dir");
        let source = match &opts.source {
            Source::Wav(p) => p.clone(),
            Source::Tone { hz, seconds } => {
                let p = dir.join(format!("tone_{hz}hz_{seconds}s.wav"));
                super::audio::make_tone(&p, *hz, f64::from(*seconds));
                p
            }
        };
        let ip = opts.ip.unwrap_or_else(next_loopback_ip);
        let mut failures = Vec::new();
        for attempt in 1..=3 {
            match Baresip::try_start(dir, &opts, ip, &source, attempt) {
                Ok(b) => return b,
                Err(e) => {
                    let retriable =
                        opts.sip_port.is_none() && opts.rtp_ports.is_none() && opts.netns.is_none();
                    failures.push(format!("attempt {attempt}: {e}"));
                    if !retriable {
                        break;
                    }
                }
            }
        }
        panic!(
            "baresip did not start in {}:\n{}",
            dir.display(),
            failures.join("\n")
        );
    }

    fn try_start(
        dir: &Path,
        opts: &BaresipOptions,
        ip: Ipv4Addr,
        source: &Path,
        attempt: u32,
    ) -> Result<Baresip, String> {
        let in_netns = opts.netns.is_some();
        let sip_port = match opts.sip_port {
            Some(p) => p,
            None if in_netns => 5060,
            None => free_sip_port(ip),
        };
        let ctrl_port = loop {
            if in_netns {
                break 4444;
            }
            let p = free_tcp_port(ip);
            if p != sip_port && p != sip_port + 1 {
                break p;
            }
        };
        let rtp_ports = match opts.rtp_ports {
            Some(r) => r,
            None if in_netns => (30000, 30019),
            None => free_rtp_range(),
        };
        let snd_path = dir.join("rec");
        std::fs::create_dir_all(&snd_path).expect("create recordings dir");
        let utf8 = |p: &Path| p.to_str().expect("utf-8 path").to_owned();
        let config = format!(
            "poll_method\t\tepoll\n\
             sip_listen\t\t{ip}:{sip_port}\n\
             net_interface\t\t{ip}\n\
             dns_fallback\t\t127.0.0.1:53\n\
             call_local_timeout\t120\n\
             call_max_calls\t\t4\n\
             audio_source\t\taufile,{source}\n\
             audio_player\t\taubridge,nowhere\n\
             audio_alert\t\taubridge,nowhere\n\
             audio_level\t\tno\n\
             ausrc_format\t\ts16\n\
             auplay_format\t\ts16\n\
             auenc_format\t\ts16\n\
             audec_format\t\ts16\n\
             audio_buffer\t\t20-160\n\
             rtp_ports\t\t{rmin}-{rmax}\n\
             rtcp_mux\t\tno\n\
             rtp_stats\t\tyes\n\
             jitter_buffer_delay\t5-10\n\
             module_path\t\t{MODULE_PATH}\n\
             module\t\t\tg711.so\n\
             {modules}\
             module\t\t\taufile.so\n\
             module\t\t\tsndfile.so\n\
             module\t\t\taubridge.so\n\
             snd_path\t\t{snd}\n\
             module_app\t\taccount.so\n\
             module_app\t\tmenu.so\n\
             module_app\t\tctrl_tcp.so\n\
             ctrl_tcp_listen\t\t{ip}:{ctrl_port}\n",
            source = utf8(source),
            rmin = rtp_ports.0,
            rmax = rtp_ports.1,
            snd = utf8(&snd_path),
            modules = opts
                .modules
                .iter()
                .map(|m| format!("module\t\t\t{m}\n"))
                .collect::<String>(),
        );
        let mut config = config;
        for line in &opts.config_lines {
            config.push_str(line);
            config.push('\n');
        }
        super::write_file(dir, "config", &config);
        let mut account = format!(
            "<sip:{user}@{ip}:{sip_port}>;regint=0;answermode={mode};audio_codecs={codecs}",
            user = opts.user,
            mode = match opts.answer {
                AnswerMode::Auto => "auto",
                AnswerMode::Manual => "manual",
            },
            codecs = opts.codecs,
        );
        if let Some(ob) = &opts.outbound {
            account.push_str(&format!(";outbound=\"{ob}\""));
        }
        for p in &opts.account_params {
            account.push(';');
            account.push_str(p.trim_start_matches(';'));
        }
        account.push('\n');
        super::write_file(dir, "accounts", &account);

        let log_path = dir.join(format!("baresip-{attempt}.log"));
        let log = std::fs::File::create(&log_path).expect("create baresip log");
        let mut command = match &opts.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                // `ip netns exec` execs baresip: the child's pid is baresip's.
                c.args(["netns", "exec", ns, "baresip"]);
                c
            }
            None => Command::new("baresip"),
        };
        let child = command
            .arg("-f")
            .arg(dir)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log file"))
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run baresip: {e}"))?;
        let mut starting = Starting { child: Some(child) };

        // Ready = ctrl_tcp accepts and answers a command. ctrl_tcp keeps one connection
        // (a new one replaces it), so the connection that answered is the one we keep.
        let deadline = Instant::now() + WAIT;
        let addr = SocketAddr::V4(SocketAddrV4::new(ip, ctrl_port));
        let read_log = || clean_log(&std::fs::read_to_string(&log_path).unwrap_or_default());
        let ctrl = loop {
            if let Some(status) = starting.child_mut().try_wait().expect("wait on baresip") {
                return Err(format!("baresip exited early ({status}):\n{}", read_log()));
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "ctrl_tcp {addr} not accepting within {WAIT:?}:\n{}",
                    read_log()
                ));
            }
            match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
                Ok(s) => break s,
                Err(_) => std::thread::sleep(POLL),
            }
        };
        ctrl.set_write_timeout(Some(WAIT)).expect("write timeout");
        let shared = Arc::new(Shared {
            inbox: Mutex::new(Inbox::default()),
            changed: Condvar::new(),
        });
        let reader = {
            let stream = ctrl.try_clone().expect("clone ctrl stream");
            let shared = Arc::clone(&shared);
            std::thread::spawn(move || reader_loop(stream, &shared))
        };
        let b = Baresip {
            child: starting.child.take().expect("child"),
            dir: dir.to_owned(),
            log_path,
            user: opts.user.clone(),
            ip,
            sip_port,
            ctrl_port,
            rtp_ports,
            ctrl,
            shared,
            reader: Some(reader),
            next_token: AtomicU64::new(1),
        };
        // Ping: a command every state accepts.
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_secs(1));
        b.command_within("listcalls", None, left)
            .map_err(|e| format!("ctrl_tcp does not answer: {e}"))?;
        Ok(b)
    }

    /// `sip:USER@IP:PORT`: where to send calls for this instance.
    pub fn sip_uri(&self) -> String {
        format!("sip:{}@{}:{}", self.user, self.ip, self.sip_port)
    }

    /// The SIP/TLS listen address (baresip 1.0 puts TLS on the SIP port + 1; it
    /// listens there only with a `sip_certificate`).
    pub fn sip_tls_addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.ip, self.sip_port + 1))
    }

    /// The SIP UDP/TCP address.
    pub fn sip_addr(&self) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(self.ip, self.sip_port))
    }

    /// The instance directory (config, accounts, tone, `rec/`, log).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a ctrl_tcp command and waits (bounded by [`WAIT`]) for its response: the
    /// response `data` when `ok`, else an error with the data.
    pub fn command(&self, command: &str, params: Option<&str>) -> Result<String, String> {
        self.command_within(command, params, WAIT)
    }

    fn command_within(
        &self,
        command: &str,
        params: Option<&str>,
        within: Duration,
    ) -> Result<String, String> {
        let token = format!("t{}", self.next_token.fetch_add(1, Ordering::Relaxed));
        let mut req = serde_json::json!({ "command": command, "token": token });
        if let Some(p) = params {
            req["params"] = Value::from(p);
        }
        let body = req.to_string();
        let frame = format!("{}:{body},", body.len());
        (&self.ctrl)
            .write_all(frame.as_bytes())
            .map_err(|e| format!("ctrl_tcp write of {body}: {e}"))?;
        let deadline = Instant::now() + within;
        let mut inbox = self.shared.inbox.lock().expect("inbox");
        loop {
            if let Some(resp) = inbox.responses.remove(&token) {
                let data = resp
                    .get("data")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                return if resp.get("ok").and_then(Value::as_bool) == Some(true) {
                    Ok(data)
                } else {
                    Err(format!("baresip refused {body}: {}", data.trim_end()))
                };
            }
            if inbox.closed {
                return Err(format!("ctrl_tcp closed before answering {body}"));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!("no answer to {body} within {within:?}"));
            }
            inbox = self
                .shared
                .changed
                .wait_timeout(inbox, deadline - now)
                .expect("inbox")
                .0;
        }
    }

    /// Places a call (`dial`). `Ok` means baresip accepted the command; follow the call
    /// with [`Baresip::wait_event`].
    pub fn dial(&self, uri: &str) -> Result<(), String> {
        self.command("dial", Some(uri)).map(drop)
    }

    /// Answers the ringing incoming call (`accept`; manual answer mode).
    pub fn answer(&self) -> Result<(), String> {
        self.command("accept", None).map(drop)
    }

    /// Hangs up the current call (`hangup`: CANCEL before the answer, BYE after,
    /// 486 to a ringing incoming call).
    pub fn hangup(&self) -> Result<(), String> {
        self.command("hangup", None).map(drop)
    }

    /// Sends one DTMF digit (`0-9 * # A-D`) on the current call (`sndcode`, RFC 4733).
    pub fn send_dtmf(&self, digit: char) -> Result<(), String> {
        self.command("sndcode", Some(&digit.to_string())).map(drop)
    }

    /// Waits (bounded by `timeout`) for the first event of type `ty` (e.g.
    /// `"CALL_ESTABLISHED"`) that no earlier `wait_event` returned, and marks it returned.
    /// Events that arrived before the call are found too.
    pub fn wait_event(&self, ty: &str, timeout: Duration) -> Result<Value, String> {
        self.wait_event_where(ty, timeout, |_| true)
    }

    /// Like [`Baresip::wait_event`], for the first such event for which `pred` holds.
    pub fn wait_event_where(
        &self,
        ty: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        self.wait_matching(ty, timeout, |ev| event_type(ev) == ty && pred(ev))
    }

    /// Waits (bounded) for the first not yet returned event whose type is one of `types`,
    /// e.g. `&["CALL_ESTABLISHED", "CALL_CLOSED"]` to stop waiting as soon as a call fails.
    pub fn wait_any(&self, types: &[&str], timeout: Duration) -> Result<Value, String> {
        self.wait_matching(&types.join(" or "), timeout, |ev| {
            types.contains(&event_type(ev))
        })
    }

    fn wait_matching(
        &self,
        ty: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        let mut inbox = self.shared.inbox.lock().expect("inbox");
        loop {
            if let Some((ev, used)) = inbox
                .events
                .iter_mut()
                .find(|(ev, used)| !*used && pred(ev))
            {
                *used = true;
                return Ok(ev.clone());
            }
            let seen = || {
                inbox
                    .events
                    .iter()
                    .map(|(e, _)| format!("{}({})", event_type(e), event_param(e)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            if inbox.closed {
                return Err(format!(
                    "{} ({}): ctrl_tcp closed (baresip exited?) before {ty}; events: [{}]",
                    self.user,
                    self.sip_addr(),
                    seen()
                ));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(format!(
                    "{} ({}): no {ty} within {timeout:?}; events: [{}]",
                    self.user,
                    self.sip_addr(),
                    seen()
                ));
            }
            inbox = self
                .shared
                .changed
                .wait_timeout(inbox, deadline - now)
                .expect("inbox")
                .0;
        }
    }

    /// Every event received so far, in order (returned by `wait_event` or not).
    pub fn events(&self) -> Vec<Value> {
        let inbox = self.shared.inbox.lock().expect("inbox");
        inbox.events.iter().map(|(e, _)| e.clone()).collect()
    }

    /// The types of every event received so far, in order.
    pub fn event_types(&self) -> Vec<String> {
        self.events()
            .iter()
            .map(|e| event_type(e).to_owned())
            .collect()
    }

    /// The newest sndfile recordings in `rec/`: (`dump-*-dec.wav` = what it received,
    /// `dump-*-enc.wav` = what it sent). Names carry a one-second timestamp, so two calls
    /// of one instance within the same second share a file.
    pub fn recordings(&self) -> (Option<PathBuf>, Option<PathBuf>) {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.join("rec"))
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.sort();
        let newest = |suffix: &str| {
            files
                .iter()
                .rev()
                .find(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with("dump-") && n.ends_with(suffix))
                })
                .cloned()
        };
        (newest("-dec.wav"), newest("-enc.wav"))
    }

    /// Waits (bounded by `timeout`) until both recordings of the last call exist and are
    /// finalised (libsndfile writes the RIFF sizes when the call's audio stream is freed,
    /// which can trail `CALL_CLOSED`): (dec, enc).
    pub fn wait_recordings(&self, timeout: Duration) -> Result<(PathBuf, PathBuf), String> {
        let deadline = Instant::now() + timeout;
        loop {
            let (dec, enc) = self.recordings();
            if let (Some(d), Some(e)) = (&dec, &enc) {
                if super::audio::wav_is_finalized(d) && super::audio::wav_is_finalized(e) {
                    return Ok((d.clone(), e.clone()));
                }
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{}: recordings not complete within {timeout:?}: dec {dec:?}, enc {enc:?}",
                    self.user
                ));
            }
            std::thread::sleep(POLL);
        }
    }

    /// The log so far (stdout + stderr), without the call-status ticker lines.
    pub fn log(&self) -> String {
        clean_log(&std::fs::read_to_string(&self.log_path).unwrap_or_default())
    }

    /// Stops the process: SIGTERM (baresip hangs up its calls and exits), SIGKILL after
    /// a bounded wait; reaps it. Idempotent; also done on drop.
    pub fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            if let Ok(raw) = i32::try_from(self.child.id()) {
                let pid = nix::unistd::Pid::from_raw(raw);
                let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
            }
            let deadline = Instant::now() + STOP_WAIT;
            while self.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(POLL);
            }
            if self.child.try_wait().ok().flatten().is_none() {
                let _ = self.child.kill();
            }
        }
        let _ = self.child.wait();
        let _ = self.ctrl.shutdown(Shutdown::Both);
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            eprintln!(
                "baresip {} ({}) log:\n{}",
                self.user,
                self.sip_addr(),
                self.log()
            );
        }
    }
}

/// A child being started: killed and reaped if the start fails.
struct Starting {
    child: Option<Child>,
}

impl Starting {
    fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("child")
    }
}

impl Drop for Starting {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Drops the `\r`-separated call-status ticker (`[0:00:01] audio=… (bit/s)`) from a log.
fn clean_log(text: &str) -> String {
    text.split('\r')
        .filter(|piece| {
            let p = piece.trim();
            !(p.starts_with('[') && p.ends_with("(bit/s)"))
        })
        .collect::<Vec<_>>()
        .join("")
}
