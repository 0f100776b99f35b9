//! The metrics and health HTTP listener: `GET /metrics` (Prometheus text), `GET /healthz`
//! (`200 ok`, `503 draining` while draining), 404 elsewhere.
//!
//! A deliberately small HTTP/1.1 server (RFC 9112): one request per connection, answered
//! with `Connection: close` (§9.6), GET and HEAD only (RFC 9110 §9.3.1-2), request head
//! capped at 8 KiB and 10 s. Three fixed read-only resources scraped by Prometheus do
//! not justify a general HTTP stack in the appliance's dependency tree.

use crate::listeners::{Context, accept_loop};
use crate::metrics::CONTENT_TYPE;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Largest request head read.
const MAX_HEAD: usize = 8 * 1024;

/// Time a client has to send its request and read the answer.
const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves the metrics listener: a task per connection.
pub async fn serve(listener: TcpListener, ctx: Arc<Context>) {
    accept_loop(listener, "metrics", move |stream, _peer| {
        let ctx = ctx.clone();
        async move {
            let _ = tokio::time::timeout(EXCHANGE_TIMEOUT, exchange(stream, &ctx)).await;
        }
    })
    .await
}

async fn exchange(mut stream: TcpStream, ctx: &Context) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let response = loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break respond(&buf[..end], ctx);
        }
        if buf.len() > MAX_HEAD {
            break Response::text(431, "Request Header Fields Too Large", "head too large\n");
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    stream.write_all(&response.encode()).await?;
    stream.shutdown().await
}

/// A response to encode.
#[derive(Debug)]
struct Response {
    status: u16,
    reason: &'static str,
    content_type: &'static str,
    body: String,
    head_only: bool,
    allow: bool,
}

impl Response {
    fn text(status: u16, reason: &'static str, body: &str) -> Response {
        Response {
            status,
            reason,
            content_type: "text/plain; charset=utf-8",
            body: body.to_owned(),
            head_only: false,
            allow: false,
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut out = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n",
            self.status,
            self.reason,
            self.content_type,
            self.body.len()
        );
        if self.allow {
            out.push_str("Allow: GET, HEAD\r\n");
        }
        out.push_str("\r\n");
        let mut out = out.into_bytes();
        if !self.head_only {
            out.extend_from_slice(self.body.as_bytes());
        }
        out
    }
}

/// Routes one request head (without its final empty line).
fn respond(head: &[u8], ctx: &Context) -> Response {
    let Ok(head) = std::str::from_utf8(head) else {
        return Response::text(400, "Bad Request", "bad request\n");
    };
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or("");
    let mut parts = request_line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Response::text(400, "Bad Request", "bad request line\n");
    };
    if !matches!(version, "HTTP/1.1" | "HTTP/1.0") {
        return Response::text(505, "HTTP Version Not Supported", "HTTP/1.x only\n");
    }
    // RFC 9112 §3.2: an HTTP/1.1 request without Host is answered 400.
    let has_host = lines.any(|l| {
        l.split_once(':')
            .is_some_and(|(name, _)| name.eq_ignore_ascii_case("host"))
    });
    if version == "HTTP/1.1" && !has_host {
        return Response::text(400, "Bad Request", "missing Host\n");
    }
    let head_only = match method {
        "GET" => false,
        "HEAD" => true,
        _ => {
            let mut r = Response::text(405, "Method Not Allowed", "GET or HEAD\n");
            r.allow = true;
            return r;
        }
    };
    let path = target.split_once('?').map_or(target, |(p, _)| p);
    let mut response = match path {
        "/metrics" => Response {
            content_type: CONTENT_TYPE,
            body: ctx.metrics.encode(),
            ..Response::text(200, "OK", "")
        },
        "/healthz" if ctx.admission.is_draining() => {
            Response::text(503, "Service Unavailable", "draining\n")
        }
        "/healthz" => Response::text(200, "OK", "ok\n"),
        _ => Response::text(404, "Not Found", "not found\n"),
    };
    response.head_only = head_only;
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admission::Admission;
    use crate::metrics::Metrics;

    fn ctx() -> Context {
        let metrics = Metrics::new();
        let admission = Admission::new(metrics.active_calls.clone(), metrics.draining.clone());
        Context {
            metrics,
            admission,
            sip: crate::listeners::sip::SipHandle::detached(),
            tls: crate::listeners::TlsServers::default(),
        }
    }

    fn get(ctx: &Context, head: &str) -> String {
        String::from_utf8(respond(head.as_bytes(), ctx).encode()).expect("utf-8")
    }

    #[test]
    fn routes() {
        let ctx = ctx();
        let r = get(&ctx, "GET /healthz HTTP/1.1\r\nHost: x");
        assert!(r.starts_with("HTTP/1.1 200 OK\r\n"), "{r}");
        assert!(
            r.ends_with("Content-Length: 3\r\nConnection: close\r\n\r\nok\n"),
            "{r}"
        );

        let r = get(&ctx, "GET /metrics?x=1 HTTP/1.1\r\nhost: x\r\nAccept: */*");
        assert!(r.contains("Content-Type: text/plain; version=0.0.4"), "{r}");
        assert!(r.contains("gateway_draining 0"));

        let r = get(&ctx, "HEAD /metrics HTTP/1.0");
        assert!(
            r.starts_with("HTTP/1.1 200 OK\r\n") && r.ends_with("\r\n\r\n"),
            "{r}"
        );

        assert!(get(&ctx, "GET /nope HTTP/1.1\r\nHost: x").starts_with("HTTP/1.1 404 "));
        assert!(get(&ctx, "GET /healthz HTTP/1.1").starts_with("HTTP/1.1 400 "));
        assert!(get(&ctx, "POST /metrics HTTP/1.1\r\nHost: x").contains("Allow: GET, HEAD\r\n"));
        assert!(get(&ctx, "GET /metrics HTTP/2.0\r\nHost: x").starts_with("HTTP/1.1 505 "));
        assert!(get(&ctx, "garbage").starts_with("HTTP/1.1 400 "));

        ctx.admission.begin_drain();
        let r = get(&ctx, "GET /healthz HTTP/1.1\r\nHost: x");
        assert!(r.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{r}");
    }
}
