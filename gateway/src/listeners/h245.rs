//! Separate H.245 connections (H.225.0 §7.2, H.245 over TCP framed in TPKT): the socket
//! side of what the H.323 legs ask for with `H323Output::H245Listen` and
//! `H323Output::H245Connect`. A listener accepts one connection and stops; every
//! connection gets a writer task (the core's sender; dropping it closes the connection)
//! and a reader that deframes TPKT and hands each H.245 message to the core.

use super::h225::start;
use super::tpkt::TpktDeframer;
use crate::h323::call_leg::{ConnId, H323LegId, h245_label};
use crate::listeners::sip::SipHandle;
use crate::metrics::Metrics;
use crate::switch::H245Input;
use std::net::{IpAddr, SocketAddr};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;
use tracing::debug;

/// Listens on `ip` (a port the system picks) for `leg`'s H.245 connection; the core
/// aborts the task when it no longer wants the connection.
pub fn listen(core: SipHandle, metrics: Metrics, leg: H323LegId, ip: IpAddr) -> AbortHandle {
    tokio::spawn(async move {
        let listener = match TcpListener::bind((ip, 0)).await {
            Ok(l) => l,
            Err(e) => {
                debug!(%ip, error = %e, "H.245 listener not bound");
                core.h245(H245Input::Failed { leg }).await;
                return;
            }
        };
        let addr = match listener.local_addr() {
            Ok(a) => a,
            Err(_) => {
                core.h245(H245Input::Failed { leg }).await;
                return;
            }
        };
        if !core.h245(H245Input::Listening { leg, addr }).await {
            return;
        }
        match listener.accept().await {
            Ok((stream, peer)) => {
                // Its own task: aborting the listener must not cut the connection.
                tokio::spawn(run(stream, peer, leg, core, metrics, false));
            }
            Err(e) => {
                debug!(error = %e, "H.245 accept failed");
                core.h245(H245Input::Failed { leg }).await;
            }
        }
    })
    .abort_handle()
}

/// Connects to the peer's `h245Address` for `leg`.
pub fn connect(core: SipHandle, metrics: Metrics, leg: H323LegId, addr: SocketAddr) {
    tokio::spawn(async move {
        let connect = TcpStream::connect(addr);
        match tokio::time::timeout(super::h225::CONNECT_TIMEOUT, connect).await {
            Ok(Ok(stream)) => run(stream, addr, leg, core, metrics, true).await,
            Ok(Err(e)) => {
                debug!(%addr, error = %e, "H.245 connect failed");
                core.h245(H245Input::Failed { leg }).await;
            }
            Err(_) => {
                debug!(%addr, "H.245 connect timed out");
                core.h245(H245Input::Failed { leg }).await;
            }
        }
    });
}

/// Runs one H.245 connection until either side closes it (`outgoing`: we connected).
async fn run(
    stream: TcpStream,
    peer: SocketAddr,
    leg: H323LegId,
    core: SipHandle,
    m: Metrics,
    outgoing: bool,
) {
    let conn: ConnId = core.next_connection_id();
    let (mut reader, writer) = start(stream, conn, peer, core.capture().cloned(), outgoing);
    if !core.h245_up(leg, conn, writer).await {
        return;
    }
    let mut deframer = TpktDeframer::new();
    let mut buf = vec![0u8; 16 * 1024];
    'read: loop {
        let n = match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if let Some(c) = core.capture() {
            c.data(conn, crate::capture::Dir::In, &buf[..n]);
        }
        deframer.push(&buf[..n]);
        loop {
            match deframer.next_frame() {
                Ok(Some(payload)) => {
                    m.message("h245", h245_label(&payload), "in");
                    if !core.h245(H245Input::Frame { conn, payload }).await {
                        break 'read;
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    m.decode_error("h245");
                    debug!(%peer, error = %e, "H.245 stream is not TPKT; closing");
                    break 'read;
                }
            }
        }
    }
    core.h245(H245Input::Down { conn }).await;
    if let Some(c) = core.capture() {
        c.close(conn);
    }
}
