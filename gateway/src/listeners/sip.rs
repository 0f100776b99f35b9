//! SIP over UDP and TCP (RFC 3261 §18): moves bytes between the sockets and the
//! sans-IO [`SipStub`](super::sip_stub::SipStub), and counts what passes.

use super::sip_framing::{Frame, FramingError, StreamDeframer};
use super::sip_stub::Outcome;
use super::{Context, accept_loop};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tracing::debug;

/// Largest SIP message accepted, head and body: a UDP datagram's worth (RFC 3261 §18.1.1
/// leaves the limit to the implementation; larger messages belong on TCP anyway).
pub const MAX_MESSAGE: usize = 65_535;

/// Serves one SIP/UDP socket: each datagram is one message (RFC 3261 §18.3). Answers go
/// back to the source address and port, as with `rport` (RFC 3581), which is where a
/// NATed client listens.
pub async fn serve_udp(socket: UdpSocket, ctx: Arc<Context>) {
    // One more byte than the limit shows an oversize datagram.
    let mut buf = vec![0u8; MAX_MESSAGE + 1];
    loop {
        let (n, peer) = match socket.recv_from(&mut buf).await {
            Ok(received) => received,
            Err(e) => {
                debug!(error = %e, "SIP/UDP receive failed");
                continue;
            }
        };
        if n > MAX_MESSAGE {
            ctx.metrics.decode_error("sip");
            debug!(%peer, "SIP/UDP datagram over {MAX_MESSAGE} bytes dropped");
            continue;
        }
        let outcome = ctx.sip.handle(&buf[..n]);
        if let Some(reply) = record(&ctx, outcome, peer, "udp") {
            if let Err(e) = socket.send_to(&reply, peer).await {
                debug!(%peer, error = %e, "SIP/UDP send failed");
            }
        }
    }
}

/// Serves one SIP/TCP listener: a task per connection.
pub async fn serve_tcp(listener: TcpListener, ctx: Arc<Context>) {
    accept_loop(listener, "sip/tcp", move |stream, peer| {
        connection(stream, peer, ctx.clone())
    })
    .await
}

/// One SIP/TCP connection: messages framed by Content-Length (RFC 3261 §18.3). A stream
/// that cannot be framed is closed, after a `400` when the head was a request.
async fn connection(mut stream: TcpStream, peer: SocketAddr, ctx: Arc<Context>) {
    let mut deframer = StreamDeframer::new(MAX_MESSAGE);
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        deframer.push(&buf[..n]);
        loop {
            let reply = match deframer.next_frame() {
                Ok(None) => break,
                // RFC 5626 §4.4.1: a CRLF CRLF ping is answered with a CRLF pong.
                Ok(Some(Frame::Ping)) => Some(b"\r\n".to_vec()),
                Ok(Some(Frame::Message(msg))) => record(&ctx, ctx.sip.handle(&msg), peer, "tcp"),
                Err(e) => {
                    ctx.metrics.decode_error("sip");
                    debug!(%peer, error = %e, "SIP/TCP stream cannot be framed; closing");
                    if let FramingError::ContentLength { head } = e {
                        if let Some(reply) = ctx.sip.bad_request(&head) {
                            ctx.metrics.message("sip", reply.kind, "out");
                            let _ = stream.write_all(&reply.bytes).await;
                        }
                    }
                    return;
                }
            };
            if let Some(bytes) = reply {
                if stream.write_all(&bytes).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Counts a handled message and its answer; returns the bytes to send.
fn record(ctx: &Context, outcome: Outcome, peer: SocketAddr, transport: &str) -> Option<Vec<u8>> {
    if let Some(kind) = outcome.received {
        ctx.metrics.message("sip", kind, "in");
    }
    if let Some(why) = outcome.decode_error {
        ctx.metrics.decode_error("sip");
        debug!(%peer, transport, error = %why, "undecodable SIP message");
    }
    let reply = outcome.reply?;
    ctx.metrics.message("sip", reply.kind, "out");
    Some(reply.bytes)
}
