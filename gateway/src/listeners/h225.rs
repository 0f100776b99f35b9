//! H.225.0 call signalling over TCP (H.225.0 §7.1, TPKT per RFC 1006). Until the call
//! core routes calls, each message is decoded, counted and answered by
//! [`without_calls`](crate::h323::without_calls); a stream that is not TPKT is closed.

use super::tpkt::TpktDeframer;
use super::{Context, accept_loop};
use crate::h323::without_calls;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tracing::debug;

/// Serves one H.225.0 listener: a task per connection.
pub async fn serve(listener: TcpListener, ctx: Arc<Context>) {
    accept_loop(listener, "h225", move |stream, peer| {
        connection(stream, peer, ctx.clone())
    })
    .await
}

async fn connection(mut stream: TcpStream, peer: SocketAddr, ctx: Arc<Context>) {
    let mut deframer = TpktDeframer::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        deframer.push(&buf[..n]);
        loop {
            match deframer.next_frame() {
                Ok(Some(payload)) => {
                    let handled = without_calls::handle(&payload);
                    ctx.metrics.message("h225", handled.label, "in");
                    if handled.decode_error {
                        ctx.metrics.decode_error("h225");
                        debug!(%peer, "undecodable H.225.0 message");
                    }
                    if let Some(reply) = handled.reply {
                        ctx.metrics.message("h225", "releaseComplete", "out");
                        if stream.write_all(&reply).await.is_err() {
                            return;
                        }
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    ctx.metrics.decode_error("h225");
                    debug!(%peer, error = %e, "H.225.0 stream is not TPKT; closing");
                    return;
                }
            }
        }
    }
}
