//! The tokio shell of the RADIUS client: one UDP socket, the spool directory, the
//! client's clock. The call core talks to it through a [`RadiusHandle`]; answers to
//! Access-Requests come back on the receiver [`RadiusHandle::start`] returns.
//!
//! Spool writes run on the blocking pool and are awaited before the next output is
//! carried out, so a request is on disk (file fsynced, renamed, directory fsynced)
//! before it is first sent; removals are fsynced too, so an acknowledged record is not
//! sent again after a crash.

use super::attrs::{AuthQuery, Nas};
use super::client::{AuthAnswer, CallPoint, Client, ClientConfig, ClientOutput, Notice, Server};
use super::spool::SpoolRecord;
use crate::config::Radius;
use crate::metrics::Metrics;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

/// Why RADIUS could not start.
#[derive(Debug, thiserror::Error)]
pub enum RadiusError {
    /// The spool directory cannot be made or read.
    #[error("RADIUS spool {path}: {error}")]
    Spool {
        /// The directory.
        path: PathBuf,
        /// What failed.
        error: std::io::Error,
    },
    /// No socket.
    #[error("RADIUS socket: {0}")]
    Socket(std::io::Error),
    /// A server's host name does not resolve.
    #[error("RADIUS server {0} does not resolve")]
    Resolve(String),
}

enum Cmd {
    Authorize(AuthQuery),
    Point(CallPoint),
    Shutdown(oneshot::Sender<()>),
}

/// A handle on the RADIUS task.
#[derive(Clone)]
pub struct RadiusHandle {
    tx: mpsc::UnboundedSender<Cmd>,
}

/// The answers to Access-Requests: (call, answer).
pub type AuthAnswers = mpsc::UnboundedReceiver<(u64, AuthAnswer)>;

impl RadiusHandle {
    /// Resolves the servers, opens the socket, reads the spool and starts the task.
    pub async fn start(
        cfg: &Radius,
        node_name: &str,
        nas_ip: Option<IpAddr>,
        metrics: Metrics,
    ) -> Result<(RadiusHandle, AuthAnswers), RadiusError> {
        let mut servers = Vec::new();
        for s in &cfg.servers {
            let host = &s.address.0;
            let resolve = |port: Option<u16>| async move {
                match port {
                    None => Ok(None),
                    Some(p) => tokio::net::lookup_host((host.as_str(), p))
                        .await
                        .ok()
                        .and_then(|mut a| a.next())
                        .map(Some)
                        .ok_or_else(|| RadiusError::Resolve(host.clone())),
                }
            };
            servers.push(Server {
                name: host.clone(),
                auth: resolve(s.auth_port).await?,
                acct: resolve(s.acct_port).await?,
                secret: s.secret.expose().as_bytes().to_vec(),
            });
        }
        let v6 = servers
            .iter()
            .flat_map(|s| [s.auth, s.acct])
            .flatten()
            .any(|a| a.is_ipv6());
        let bind: SocketAddr = if v6 {
            (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
        } else {
            (Ipv4Addr::UNSPECIFIED, 0).into()
        };
        let socket = UdpSocket::bind(bind).await.map_err(RadiusError::Socket)?;
        let dir = cfg.spool_directory.clone();
        let spool_err = |error| RadiusError::Spool {
            path: dir.clone(),
            error,
        };
        let records = {
            let dir = dir.clone();
            tokio::task::spawn_blocking(move || read_spool(&dir))
                .await
                .map_err(|e| spool_err(std::io::Error::other(e)))?
                .map_err(spool_err)?
        };
        let mut seed = [0u8; 20];
        fill_random(&mut seed);
        let mut rng = [0u8; 16];
        rng.copy_from_slice(&seed[..16]);
        let boot = u32::from_be_bytes([seed[16], seed[17], seed[18], seed[19]]);
        let client_cfg = ClientConfig {
            servers,
            timeout: Duration::from_secs(cfg.timeout_seconds),
            retries: cfg.retries,
            retry_interval: Duration::from_secs(cfg.retry_interval_seconds),
            interim: cfg.interim_seconds.map(Duration::from_secs),
            start_at_attempt: cfg.start_at_attempt,
            password: cfg.password.as_ref().map(|p| p.expose().to_owned()),
            require_message_authenticator: cfg.require_message_authenticator,
            nas: Nas {
                identifier: cfg
                    .nas_identifier
                    .clone()
                    .unwrap_or_else(|| node_name.to_owned()),
                ip: match nas_ip {
                    Some(IpAddr::V4(v4)) if !v4.is_unspecified() => Some(v4),
                    _ => None,
                },
                boot,
            },
        };
        // Series exist at 0 from start-up, as every other metric's.
        for s in &client_cfg.servers {
            for (kind, port) in [("auth", s.auth), ("acct", s.acct)] {
                if port.is_some() {
                    metrics
                        .radius_requests
                        .with_label_values(&[s.name.as_str(), kind, "no"]);
                    metrics
                        .radius_timeouts
                        .with_label_values(&[s.name.as_str(), kind]);
                }
            }
            if s.auth.is_some() {
                metrics.radius_rejects.with_label_values(&[s.name.as_str()]);
            }
        }
        let mut client = Client::new(client_cfg, rng);
        if !records.is_empty() {
            info!(
                records = records.len(),
                "RADIUS spool: sending what is left"
            );
        }
        client.restore(Instant::now(), SystemTime::now(), records);
        let (tx, rx) = mpsc::unbounded_channel();
        let (answers_tx, answers_rx) = mpsc::unbounded_channel();
        tokio::spawn(run(client, socket, dir, rx, answers_tx, metrics));
        Ok((RadiusHandle { tx }, answers_rx))
    }

    /// Asks whether a call may go on.
    pub fn authorize(&self, q: AuthQuery) {
        if self.tx.send(Cmd::Authorize(q)).is_err() {
            error!("RADIUS task stopped; authorisation not asked");
        }
    }

    /// An accounting point of a call.
    pub fn point(&self, p: CallPoint) {
        if self.tx.send(Cmd::Point(p)).is_err() {
            error!("RADIUS task stopped; accounting lost for this call");
        }
    }

    /// Waits until everything sent before is spooled and the requests in flight are
    /// answered (or `timeout_seconds` x 2 passed), so a server that logged a request
    /// also had its answer taken; what is not acknowledged stays in the spool for the
    /// next start.
    pub async fn shutdown(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(Cmd::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
    }
}

fn fill_random(buf: &mut [u8]) {
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, buf))
        .is_ok();
    if !ok {
        let t = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (t >> ((i % 16) * 8)) as u8 ^ (std::process::id() as u8).wrapping_add(i as u8);
        }
        warn!("no /dev/urandom: RADIUS authenticators are not unpredictable");
    }
}

/// Creates the directory if needed; removes temporaries (never sent); reads records.
fn read_spool(dir: &Path) -> std::io::Result<Vec<SpoolRecord>> {
    std::fs::create_dir_all(dir)?;
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            std::fs::remove_file(e.path())?;
            continue;
        }
        let Some(key) = SpoolRecord::key_of(&name) else {
            continue;
        };
        match SpoolRecord::decode(key, &std::fs::read(e.path())?) {
            Some(r) => out.push(r),
            None => {
                let bad = e.path().with_extension("bad");
                error!(file = %e.path().display(), "unreadable RADIUS spool record set aside");
                std::fs::rename(e.path(), bad)?;
            }
        }
    }
    out.sort_by_key(|r| r.key);
    Ok(out)
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

fn write_record(dir: &Path, r: &SpoolRecord) -> std::io::Result<()> {
    use std::io::Write;
    let name = SpoolRecord::file_name(r.key);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut f = std::fs::File::create(&tmp)?;
    f.write_all(&r.encode())?;
    f.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    sync_dir(dir)
}

fn remove_record(dir: &Path, key: u64) -> std::io::Result<()> {
    match std::fs::remove_file(dir.join(SpoolRecord::file_name(key))) {
        Ok(()) => sync_dir(dir),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t.into()).await,
        None => std::future::pending().await,
    }
}

async fn run(
    mut client: Client,
    socket: UdpSocket,
    dir: PathBuf,
    mut rx: mpsc::UnboundedReceiver<Cmd>,
    answers: mpsc::UnboundedSender<(u64, AuthAnswer)>,
    metrics: Metrics,
) {
    let mut buf = vec![0u8; 4096];
    let mut shutdown: Option<(oneshot::Sender<()>, Instant)> = None;
    let grace = client.config().timeout * 2;
    loop {
        tokio::select! {
            cmd = rx.recv() => {
                let (now, wall) = (Instant::now(), SystemTime::now());
                match cmd {
                    Some(Cmd::Authorize(q)) => client.authorize(now, q),
                    Some(Cmd::Point(p)) => client.call_point(now, wall, p),
                    Some(Cmd::Shutdown(reply)) => shutdown = Some((reply, now + grace)),
                    None => return,
                }
            }
            got = socket.recv_from(&mut buf) => match got {
                Ok((n, from)) => client.handle_datagram(Instant::now(), SystemTime::now(), from, &buf[..n]),
                Err(e) => debug!(%e, "RADIUS socket receive error"),
            },
            () = sleep_until(
                [client.poll_timeout(), shutdown.as_ref().map(|s| s.1)].into_iter().flatten().min()
            ) => {
                client.handle_timeout(Instant::now(), SystemTime::now());
            }
        }
        while let Some(o) = client.poll_output() {
            match o {
                ClientOutput::Transmit { to, bytes } => {
                    if let Err(e) = socket.send_to(&bytes, to).await {
                        debug!(%to, %e, "RADIUS send failed");
                    }
                }
                ClientOutput::SpoolWrite(r) => {
                    let d = dir.clone();
                    let key = r.key;
                    let done = tokio::task::spawn_blocking(move || write_record(&d, &r)).await;
                    if !matches!(done, Ok(Ok(()))) {
                        error!(key, dir = %dir.display(), "RADIUS spool write failed; the record is only in memory");
                    }
                }
                ClientOutput::SpoolRemove(key) => {
                    let d = dir.clone();
                    let done = tokio::task::spawn_blocking(move || remove_record(&d, key)).await;
                    if !matches!(done, Ok(Ok(()))) {
                        error!(key, dir = %dir.display(), "RADIUS spool record could not be removed; it may be sent again");
                    }
                }
                ClientOutput::Auth { call, answer } => {
                    let _ = answers.send((call, answer));
                }
                ClientOutput::Notice(n) => notice(&metrics, n),
            }
        }
        metrics
            .radius_spool_depth
            .set(i64::try_from(client.spool_depth()).unwrap_or(i64::MAX));
        if let Some((reply, until)) = shutdown.take() {
            if client.acct_in_flight() == 0 || Instant::now() >= until {
                let _ = reply.send(());
            } else {
                shutdown = Some((reply, until));
            }
        }
    }
}

fn notice(metrics: &Metrics, n: Notice) {
    match n {
        Notice::Sent {
            server,
            kind,
            retransmission,
        } => metrics
            .radius_requests
            .with_label_values(&[
                server.as_str(),
                kind.label(),
                if retransmission { "yes" } else { "no" },
            ])
            .inc(),
        Notice::Timeout { server, kind } => {
            warn!(%server, kind = kind.label(), "RADIUS server did not answer");
            metrics
                .radius_timeouts
                .with_label_values(&[server.as_str(), kind.label()])
                .inc();
        }
        Notice::Rejected { server } => metrics
            .radius_rejects
            .with_label_values(&[server.as_str()])
            .inc(),
        Notice::Dropped { reason } => debug!(reason, "RADIUS datagram dropped"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::dict::AttrType;
    use crate::radius::packet::Attr;

    fn rec(key: u64) -> SpoolRecord {
        SpoolRecord {
            key,
            event_secs: 1_790_000_000,
            attrs: vec![Attr::text(AttrType::ACCT_SESSION_ID, &format!("s{key}"))],
        }
    }

    #[test]
    fn the_spool_directory_keeps_records_drops_temporaries_and_sets_aside_junk() {
        let dir = tempfile::tempdir().expect("temp dir");
        let spool = dir.path().join("spool");
        assert_eq!(read_spool(&spool).expect("created"), vec![]);
        write_record(&spool, &rec(2)).expect("write");
        write_record(&spool, &rec(1)).expect("write");
        // A write cut short before its rename was never sent: dropped.
        std::fs::write(spool.join("0000000000000003.acct.tmp"), b"GWRAD").expect("write");
        std::fs::write(spool.join("0000000000000004.acct"), b"junk").expect("write");
        let got = read_spool(&spool).expect("read");
        assert_eq!(got, vec![rec(1), rec(2)]);
        assert!(!spool.join("0000000000000003.acct.tmp").exists());
        assert!(spool.join("0000000000000004.bad").exists());
        remove_record(&spool, 1).expect("remove");
        remove_record(&spool, 1).expect("removing twice is fine");
        assert_eq!(read_spool(&spool).expect("read"), vec![rec(2)]);
    }
}
