//! H.225.0 call signalling over TCP (H.225.0 §7.1, TPKT per RFC 1006): the socket side
//! of the H.323 legs. Each connection — accepted here, or opened toward a peer for an
//! outgoing call — has a reader task that deframes TPKT and hands every payload to the
//! signalling core (which owns the sans-IO [`H323Calls`](crate::h323::call_leg::H323Calls)),
//! and a writer task that sends what the core outputs. A stream that is not TPKT is
//! closed.

use super::tpkt::TpktDeframer;
use super::{Context, accept_loop};
use crate::capture::{Capture, Dir};
use crate::h323::call_leg::{ConnId, H323LegId};
use crate::h323::uuie;
use crate::listeners::sip::SipHandle;
use crate::metrics::Metrics;
use mapping::q931::{Dialect, Message};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::OwnedReadHalf;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tracing::debug;

/// How long an outgoing H.225.0 TCP connect may take before the call fails over.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Serves one H.225.0 listener: a task per connection.
pub async fn serve(listener: TcpListener, ctx: Arc<Context>) {
    accept_loop(listener, "h225", move |stream, peer| {
        let ctx = ctx.clone();
        async move {
            let core = ctx.sip.clone();
            let conn = core.next_connection_id();
            let local = stream.local_addr().ok();
            let (reader, writer) = start(stream, conn, peer, core.capture().cloned(), false);
            if core.h225_up(conn, peer, local, writer, None).await {
                read(reader, conn, peer, core, ctx.metrics.clone()).await;
            }
        }
    })
    .await
}

/// Opens a connection for an outgoing leg (asked for by the core); tells the core the
/// outcome.
pub fn connect(core: SipHandle, metrics: Metrics, leg: H323LegId, addr: SocketAddr) {
    tokio::spawn(async move {
        let stream = match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                debug!(%addr, error = %e, "H.225.0 connect failed");
                core.h225_connect_failed(leg).await;
                return;
            }
            Err(_) => {
                debug!(%addr, "H.225.0 connect timed out");
                core.h225_connect_failed(leg).await;
                return;
            }
        };
        let _ = stream.set_nodelay(true);
        let conn = core.next_connection_id();
        let local = stream.local_addr().ok();
        let (reader, writer) = start(stream, conn, addr, core.capture().cloned(), true);
        if core.h225_up(conn, addr, local, writer, Some(leg)).await {
            read(reader, conn, addr, core, metrics).await;
        }
    });
}

/// Splits the stream and starts its writer task; the returned sender is the core's way
/// to write (dropping it closes the connection). Also used for H.245 connections. The
/// connection goes into the capture (`outgoing`: we opened it).
pub(super) fn start(
    stream: TcpStream,
    conn: ConnId,
    peer: SocketAddr,
    capture: Option<Capture>,
    outgoing: bool,
) -> (OwnedReadHalf, mpsc::Sender<Vec<u8>>) {
    let _ = stream.set_nodelay(true);
    if let Some(c) = &capture {
        c.open(conn, stream.local_addr().unwrap_or(peer), peer, outgoing);
    }
    let (reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(64);
    tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if let Some(c) = &capture {
                c.data(conn, Dir::Out, &bytes);
            }
            if writer.write_all(&bytes).await.is_err() {
                debug!(conn, %peer, "H.225.0 write failed");
                break;
            }
        }
        // The core dropped its sender (the call ended): close our side (H.225.0 §7.1).
        let _ = writer.shutdown().await;
    });
    (reader, tx)
}

/// The UUIE body name of a message, for metrics (`other` when it does not decode).
fn label(payload: &[u8]) -> &'static str {
    Message::decode(payload, Dialect::H225)
        .ok()
        .and_then(|m| uuie::decode(&m).ok())
        .map_or("other", |i| {
            uuie::body_name(&i.h323_uu_pdu.h323_message_body)
        })
}

async fn read(
    mut reader: OwnedReadHalf,
    conn: ConnId,
    peer: SocketAddr,
    core: SipHandle,
    metrics: Metrics,
) {
    let mut deframer = TpktDeframer::new();
    let mut buf = vec![0u8; 16 * 1024];
    'read: loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(c) = core.capture() {
            c.data(conn, Dir::In, &buf[..n]);
        }
        deframer.push(&buf[..n]);
        loop {
            match deframer.next_frame() {
                Ok(Some(payload)) => {
                    metrics.message("h225", label(&payload), "in");
                    if !core.h225_frame(conn, payload).await {
                        break 'read;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    metrics.decode_error("h225");
                    debug!(%peer, error = %e, "H.225.0 stream is not TPKT; closing");
                    break 'read;
                }
            }
        }
    }
    core.h225_down(conn).await;
    if let Some(c) = core.capture() {
        c.close(conn);
    }
}
