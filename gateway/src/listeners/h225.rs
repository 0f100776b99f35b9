//! H.225.0 call signalling over TCP (H.225.0 §7.1, TPKT per RFC 1006): until the H.323
//! leg lands, frames are read and counted; a stream that is not TPKT is closed.

use super::tpkt::TpktDeframer;
use super::{Context, accept_loop};
use crate::metrics::H225_TYPES;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::AsyncReadExt;
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
                Ok(Some(_payload)) => ctx.metrics.message("h225", H225_TYPES[0], "in"),
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
