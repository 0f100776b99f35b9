//! `gatewayd run`: start-up, the signal loop (SIGHUP reload, SIGTERM/SIGINT drain) and
//! shutdown.

use crate::admission::{Admission, DrainOutcome};
use crate::cdr::CdrWriter;
use crate::cli::RunArgs;
use crate::config::{Config, ConfigError};
use crate::listeners::sip::{CoreStart, SipHandle};
use crate::listeners::{BindError, Context, ListenerSet, TlsServers, endpoints};
use crate::metrics::Metrics;
use crate::radius::shell::RadiusHandle;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tracing::{error, info, warn};

/// Why the daemon could not start.
#[derive(Debug, thiserror::Error)]
enum StartError {
    #[error("cannot start the async runtime: {0}")]
    Runtime(std::io::Error),
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    #[error("configuration {file} is invalid ({count} error(s) above)")]
    Config { file: String, count: usize },
    #[error(transparent)]
    Bind(#[from] BindError),
    #[error("cannot write call records: {0}")]
    Cdr(#[from] crate::cdr::CdrError),
    #[error("cannot write the capture {file}: {source}")]
    Capture {
        file: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Radius(#[from] crate::radius::shell::RadiusError),
}

/// Runs the gateway until SIGTERM/SIGINT and the drain that follows; exit code 0 after a
/// clean drain, 1 when it could not start.
pub fn run(args: &RunArgs) -> ExitCode {
    let started = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(StartError::Runtime)
        .and_then(|rt| rt.block_on(Daemon::run(args.clone())));
    match started {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("gatewayd cannot start: {e}");
            ExitCode::from(1)
        }
    }
}

/// The signals the daemon acts on.
struct Signals {
    hangup: Signal,
    terminate: Signal,
    interrupt: Signal,
}

impl Signals {
    fn install() -> std::io::Result<Signals> {
        Ok(Signals {
            hangup: signal(SignalKind::hangup())?,
            terminate: signal(SignalKind::terminate())?,
            interrupt: signal(SignalKind::interrupt())?,
        })
    }

    /// The next SIGTERM or SIGINT, by name.
    async fn stop(&mut self) -> &'static str {
        tokio::select! {
            _ = self.terminate.recv() => "SIGTERM",
            _ = self.interrupt.recv() => "SIGINT",
        }
    }
}

struct Daemon {
    args: RunArgs,
    config: Config,
    ctx: Arc<Context>,
    listeners: ListenerSet,
}

impl Daemon {
    async fn run(args: RunArgs) -> Result<(), StartError> {
        // Installed first, so that a SIGTERM during start-up is a clean stop.
        let mut signals = Signals::install().map_err(StartError::Signals)?;
        let mut config = load(args.config.as_deref()).map_err(|(file, errors)| {
            for e in &errors {
                error!("{e}");
            }
            StartError::Config {
                file,
                count: errors.len(),
            }
        })?;
        config.hosts = crate::resolver::resolve(&config).await;
        let metrics = Metrics::new();
        let admission = Admission::new(metrics.active_calls.clone(), metrics.draining.clone());
        // No call is taken unless its record can be written.
        let (cdr, cdr_sink) = CdrWriter::start_counted(
            &config.cdr,
            &config.general.node_name,
            Some((
                metrics.cdrs_written.clone(),
                metrics.cdr_write_failures.clone(),
            )),
        )?;
        // Accounting starts with a readable spool or not at all.
        let radius = match &config.radius {
            Some(r) => {
                let nas_ip = config.listeners.sip.first().map(|l| l.address.ip());
                let (h, answers) =
                    RadiusHandle::start(r, &config.general.node_name, nas_ip, metrics.clone())
                        .await?;
                Some((h, answers))
            }
            None => None,
        };
        let radius_handle = radius.as_ref().map(|r| r.0.clone());
        let (seed, secret) = crate::listeners::sip::randomness();
        let capture = match args
            .capture
            .as_ref()
            .or(config.general.capture_file.as_ref())
        {
            Some(path) => {
                let comment = crate::capture::seed_comment(seed, &secret);
                let (c, thread) = crate::capture::Capture::start(path, comment).map_err(|e| {
                    StartError::Capture {
                        file: path.display().to_string(),
                        source: e,
                    }
                })?;
                info!(file = %path.display(), "capturing signalling");
                Some((c, thread))
            }
            None => None,
        };
        let (capture, capture_thread) = match capture {
            Some((c, t)) => (Some(c), Some(t)),
            None => (None, None),
        };
        let start = CoreStart {
            seed,
            secret,
            capture,
        };
        let sip = SipHandle::spawn(
            &config,
            metrics.clone(),
            admission.clone(),
            Some(cdr_sink),
            start,
            radius,
        );
        let ctx = Arc::new(Context {
            metrics,
            admission,
            sip,
            tls: TlsServers::default(),
        });
        ctx.tls.load(&config);
        let mut daemon = Daemon {
            listeners: ListenerSet::new(ctx.clone()),
            args,
            config,
            ctx,
        };
        daemon.apply_redaction();
        daemon
            .listeners
            .reconcile(&endpoints(&daemon.config))
            .await?;
        info!(
            node = %daemon.config.general.node_name,
            version = env!("CARGO_PKG_VERSION"),
            config = %config_name(daemon.args.config.as_deref()),
            redact_numbers = mapping::pii::redaction(),
            "gatewayd ready"
        );

        let mut refresh = tokio::time::interval_at(
            tokio::time::Instant::now() + crate::resolver::REFRESH,
            crate::resolver::REFRESH,
        );
        let signal = loop {
            tokio::select! {
                _ = signals.hangup.recv() => daemon.reload().await,
                _ = refresh.tick() => daemon.refresh_hosts().await,
                _ = signals.terminate.recv() => break "SIGTERM",
                _ = signals.interrupt.recv() => break "SIGINT",
            }
        };
        daemon.drain(signal, &mut signals).await;
        daemon.ctx.sip.shutdown().await;
        if let Some(r) = &radius_handle {
            // The Stops of the calls just cleared are spooled before the exit.
            r.shutdown().await;
        }
        daemon.listeners.stop_all().await;
        cdr.shutdown();
        if let Some(t) = capture_thread {
            match t.finish() {
                Ok(n) => info!(packets = n, "capture closed"),
                Err(e) => error!(error = %e, "capture file incomplete"),
            }
        }
        info!("gatewayd stopped");
        Ok(())
    }

    /// Resolves the configuration's host names again; the cores hear of it only when an
    /// address changed.
    async fn refresh_hosts(&mut self) {
        let hosts = crate::resolver::resolve(&self.config).await;
        if hosts != self.config.hosts {
            info!(names = hosts.resolved(), "peer addresses changed; applied");
            self.config.hosts = hosts;
            self.ctx.sip.reconfigure(&self.config).await;
        }
    }

    /// SIGHUP: reloads the same file; a bad file, or listeners that cannot be bound,
    /// leave the running configuration in place.
    async fn reload(&mut self) {
        let path = self.args.config.as_deref();
        let mut new = match load(path) {
            Ok(new) => new,
            Err((file, errors)) => {
                for e in &errors {
                    error!("{e}");
                }
                error!(
                    file,
                    errors = errors.len(),
                    "configuration reload refused; the running configuration stays"
                );
                self.ctx.metrics.reload(false);
                return;
            }
        };
        new.hosts = crate::resolver::resolve(&new).await;
        self.ctx.tls.load(&new);
        match self.listeners.reconcile(&endpoints(&new)).await {
            Ok(changes) => {
                if new.radius != self.config.radius {
                    // The client (servers, secrets, spool) is built once at start; the
                    // call core already follows the new `authenticate` list.
                    warn!(
                        "radius: changes to servers, timers or the spool take effect at the next start"
                    );
                }
                self.ctx.sip.reconfigure(&new).await;
                self.config = new;
                self.apply_redaction();
                self.ctx.metrics.reload(true);
                info!(
                    file = %config_name(path),
                    listeners_added = changes.added.len(),
                    listeners_removed = changes.removed.len(),
                    "configuration reloaded"
                );
            }
            Err(e) => {
                self.ctx.tls.load(&self.config);
                self.ctx.metrics.reload(false);
                error!("configuration reload refused: {e}; the running configuration stays");
            }
        }
    }

    /// Stops admitting calls and waits for live ones, up to the drain timeout; a second
    /// SIGTERM/SIGINT cuts the wait short.
    async fn drain(&self, signal: &str, signals: &mut Signals) {
        let admission = &self.ctx.admission;
        admission.begin_drain();
        self.ctx.sip.set_draining(true).await;
        let timeout = Duration::from_secs(self.config.general.drain_timeout_seconds);
        info!(
            signal,
            active_calls = admission.active(),
            timeout_seconds = timeout.as_secs(),
            "draining: no new calls"
        );
        tokio::select! {
            outcome = admission.drained(timeout) => match outcome {
                DrainOutcome::Idle => info!("drained: no live calls"),
                DrainOutcome::TimedOut { remaining } => {
                    warn!(remaining, "drain timeout reached; clearing the remaining calls");
                }
            },
            second = signals.stop() => {
                warn!(signal = second, active_calls = admission.active(), "stopping without waiting for live calls");
            }
        }
    }

    fn apply_redaction(&self) {
        mapping::pii::set_redaction(self.config.general.redact_numbers && !self.args.no_redact);
    }
}

/// Loads `path`, or the embedded default without one.
fn load(path: Option<&Path>) -> Result<Config, (String, Vec<ConfigError>)> {
    match path {
        Some(p) => Config::load(p).map_err(|e| (p.display().to_string(), e)),
        None => Config::parse("<embedded>", crate::config::EMBEDDED_DEFAULT)
            .map_err(|e| ("<embedded>".to_owned(), e)),
    }
}

fn config_name(path: Option<&Path>) -> String {
    path.map_or_else(|| "<embedded>".to_owned(), |p| p.display().to_string())
}
