//! Debian's libpri on the far end of gatewayd's test span: `tests/pri-peer/peer.c`, built
//! once per test binary with gcc, run as a child with its stdout lines collected.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Builds the libpri peer once per test binary (gcc, libpri-dev).
pub fn peer_binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/pri-peer/peer.c");
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pri-peer-gw");
        std::fs::create_dir_all(&dir).expect("peer build dir");
        let tmp = dir.join(format!("peer.{}.tmp", std::process::id()));
        let bin = dir.join("peer");
        let out = Command::new("gcc")
            .args(["-O2", "-Wall", "-Werror", "-o"])
            .arg(&tmp)
            .arg(&src)
            .args(["-lpri", "-lspandsp", "-lm"])
            .output()
            .expect("run gcc (apt-get install build-essential libpri-dev)");
        assert!(
            out.status.success(),
            "building the libpri peer failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::rename(&tmp, &bin).expect("peer into place");
        bin
    })
}

/// The running libpri peer and the lines it printed.
pub struct Peer {
    child: Child,
    lines: Arc<Mutex<Vec<String>>>,
    rx: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Peer {
    pub fn spawn(span: &Path, role: &str, action: &str, pcap: &Path, env: &[(&str, &str)]) -> Peer {
        let mut bearer = span.as_os_str().to_owned();
        bearer.push(".bearer");
        let mut cmd = Command::new(peer_binary());
        cmd.arg("connect").env("PEER_BEARER", &bearer);
        Peer::run(cmd, span, role, action, pcap, env)
    }

    /// The peer listening for the D-channel at `span` (no bearer socket), for a
    /// gatewayd that connects to it.
    pub fn listen(
        span: &Path,
        role: &str,
        action: &str,
        pcap: &Path,
        env: &[(&str, &str)],
    ) -> Peer {
        let mut cmd = Command::new(peer_binary());
        cmd.arg("listen");
        Peer::run(cmd, span, role, action, pcap, env)
    }

    fn run(
        mut cmd: Command,
        span: &Path,
        role: &str,
        action: &str,
        pcap: &Path,
        env: &[(&str, &str)],
    ) -> Peer {
        cmd.arg(span)
            .args([role, action])
            .arg(pcap)
            .env("PEER_SECONDS", "40")
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("start the libpri peer");
        let out = child.stdout.take().expect("peer stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel();
        let keep = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                keep.lock().expect("lines").push(line.clone());
                let _ = tx.send(line);
            }
        });
        Peer {
            child,
            lines,
            rx,
            seen: Vec::new(),
        }
    }

    /// Waits (bounded) for a line starting with `prefix` not returned before.
    pub fn wait_line(&mut self, prefix: &str, limit: Duration) -> Result<String, String> {
        if let Some(i) = self.seen.iter().position(|l| l.starts_with(prefix)) {
            return Ok(self.seen.remove(i));
        }
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(l) if l.starts_with(prefix) => return Ok(l),
                Ok(l) => self.seen.push(l),
                Err(_) => return Err(format!("no `{prefix}` line from libpri in {limit:?}")),
            }
        }
    }

    pub fn text(&self) -> String {
        self.lines.lock().expect("lines").join("\n")
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `key=value` from a peer line.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}
