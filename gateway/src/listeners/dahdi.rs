//! The DAHDI span driver (`spans[].driver: {kind: dahdi, span: N, dchannel: C, ..}`,
//! cargo feature `dahdi`): a PRI trunk's span on a Linux telephony card, through the
//! `tdm-dahdi` crate (which holds the ioctls and their `unsafe`).
//!
//! - the D-channel (DAHDI channel `dchannel`) is one task: each read is a LAPD frame
//!   and its FCS slot (DAHDI's HDLC, on the card or in software), which goes to the
//!   core; frames from the core are written with 2 placeholder octets for the FCS —
//!   the test span's convention, so the core sees no difference;
//! - each B-channel (its timeslot's DAHDI channel) is one task: every 20 ms block read
//!   goes to the bearer bridge of [`super::span`] as one RTP packet toward the relay,
//!   and one block from the bridge (the relay's audio, or the law's silence) is
//!   written back, so what we send is clocked by the card like what we receive;
//! - the span is up while DAHDI reports no alarm: `DAHDI_SPANSTAT` at start, then
//!   `DAHDI_EVENT_ALARM` / `NOALARM` on the D-channel; the core restarts the D-channel
//!   on each change, as on a test span's connect. Bad FCS, aborted and overrun frames
//!   are counted (`gateway_span_hdlc_errors_total`); Q.921 recovers them.
//!
//! None of this has run against a DAHDI card here: see the README's span drivers.

use super::sip::SipHandle;
use super::span::{Bearer, SpanPorts};
use crate::config::{DahdiDriver, Span};
use crate::metrics::SpanMetrics;
use std::io;
use std::path::Path;
use std::sync::Arc;
use tdm_dahdi::{AsyncChannel, Channel, Effect, Event, HdlcError, Io, Law};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// Octets per bearer read and write: 20 ms of G.711.
const BLOCK: usize = 160;
/// Blocks of silence written before the first block read, so the card never runs dry
/// between our read and our write (40 ms of delay).
const PRIME_BLOCKS: usize = 2;

/// Opens PRI trunk `trunk`'s DAHDI channels (D-channel and `channels`, B-channel
/// numbers = timeslots of `span`) and starts their tasks.
pub(super) async fn start_span(
    trunk: &str,
    span: &Span,
    driver: &DahdiDriver,
    ulaw: bool,
    channels: &[u8],
    core: SipHandle,
    metrics: SpanMetrics,
) -> io::Result<SpanPorts> {
    let dir = Path::new(tdm_dahdi::DEV_DIR);
    let dnum = driver
        .channel_of(span, span.signalling_timeslot())
        .ok_or_else(|| io::Error::other("the span has no `dchannel` (config check missed it)"))?;
    let law = if ulaw { Law::Ulaw } else { Law::Alaw };
    let dch =
        Channel::open_dchannel(dir, u32::from(dnum), driver.span).map_err(io::Error::other)?;
    let mut bearers = Vec::with_capacity(channels.len());
    for &b in channels {
        let num = driver
            .channel_of(span, u16::from(b))
            .ok_or_else(|| io::Error::other(format!("B-channel {b} has no DAHDI channel")))?;
        let ch = Channel::open_bearer(dir, u32::from(num), driver.span, BLOCK, law)
            .map_err(io::Error::other)?;
        bearers.push((b, AsyncChannel::new(ch)?));
    }
    let dch = AsyncChannel::new(dch)?;
    let bearer = Bearer::with_timeslots(ulaw, channels, metrics.bchannels_in_use.clone()).await?;
    for (b, ch) in bearers {
        tokio::spawn(bearer_task(
            trunk.to_owned(),
            b,
            ch,
            bearer.clone(),
            law.silence(),
        ));
    }
    let (tx, rx) = mpsc::channel::<Vec<u8>>(256);
    let link = Link {
        trunk: trunk.to_owned(),
        up: false,
        core,
        metrics,
    };
    tokio::spawn(dchannel_task(link, driver.span, dch, rx));
    Ok(SpanPorts {
        dchannel: tx,
        bearer,
    })
}

/// The D-channel task's view of the span.
struct Link {
    trunk: String,
    up: bool,
    core: SipHandle,
    metrics: SpanMetrics,
}

impl Link {
    /// Tells the core the span is `up` (when it changed); false when the core is gone.
    async fn set_up(&mut self, up: bool) -> bool {
        if self.up == up {
            return true;
        }
        self.up = up;
        self.metrics.up.set(i64::from(up));
        info!(trunk = %self.trunk, up, "DAHDI span state");
        self.core.span_state(&self.trunk, up).await
    }

    /// Acts on a D-channel event; false when the core is gone.
    async fn event(&mut self, e: Event) -> bool {
        match e.effect() {
            Effect::SpanDown => return self.set_up(false).await,
            Effect::SpanUp => return self.set_up(true).await,
            Effect::Hdlc(HdlcError::BadFcs) => self.metrics.bad_fcs.inc(),
            Effect::Hdlc(HdlcError::Abort) => self.metrics.aborts.inc(),
            Effect::Hdlc(HdlcError::Overrun) => self.metrics.overruns.inc(),
            Effect::BitsChanged | Effect::Slip | Effect::Other => {
                debug!(trunk = %self.trunk, event = %e, "D-channel event ignored")
            }
        }
        true
    }
}

async fn dchannel_task(
    mut link: Link,
    span: u32,
    ch: AsyncChannel,
    mut from_core: mpsc::Receiver<Vec<u8>>,
) {
    match ch.channel().span_alarms(span) {
        Ok(alarms) if alarms.down() => {
            warn!(trunk = %link.trunk, span, %alarms, "DAHDI span in alarm");
            link.metrics.up.set(0);
        }
        Ok(_) => {
            if !link.set_up(true).await {
                return;
            }
        }
        Err(e) => warn!(trunk = %link.trunk, error = %e, "DAHDI span state unknown"),
    }
    let mut buf = vec![0u8; tdm_dahdi::MAX_FRAME + 16];
    let mut out = Vec::with_capacity(tdm_dahdi::MAX_FRAME);
    loop {
        tokio::select! {
            r = ch.read(&mut buf) => {
                let alive = match r {
                    Ok(Io::Done(n)) => match tdm_dahdi::frame_from_read(&buf[..n]) {
                        Some(frame) => {
                            link.metrics.frames_in.inc();
                            link.core.span_frame(&link.trunk, frame.to_vec()).await
                        }
                        None => {
                            debug!(trunk = %link.trunk, octets = n, "D-channel read too short for a frame");
                            true
                        }
                    },
                    Ok(Io::Event(e)) => link.event(e).await,
                    Err(e) => {
                        warn!(trunk = %link.trunk, error = %e, "DAHDI D-channel failed: span down");
                        let _ = link.set_up(false).await;
                        return;
                    }
                };
                if !alive {
                    return;
                }
            }
            frame = from_core.recv() => {
                let Some(frame) = frame else { return };
                // In alarm nothing reaches the far end; the core restarts the link
                // when the span is back.
                if !link.up {
                    continue;
                }
                tdm_dahdi::frame_for_write(&frame, &mut out);
                loop {
                    match ch.write(&out).await {
                        Ok(Io::Done(_)) => {
                            link.metrics.frames_out.inc();
                            break;
                        }
                        Ok(Io::Event(e)) => {
                            if !link.event(e).await {
                                return;
                            }
                        }
                        Err(e) => {
                            debug!(trunk = %link.trunk, error = %e, "D-channel write failed");
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// One B-channel: each block read goes to the relay, one block from the relay goes
/// back.
async fn bearer_task(trunk: String, b: u8, ch: AsyncChannel, bearer: Arc<Bearer>, silence: u8) {
    let mut rx = [0u8; BLOCK];
    let mut tx = [silence; BLOCK];
    let mut packet = [0u8; 12 + BLOCK];
    for _ in 0..PRIME_BLOCKS {
        if !write_block(&trunk, b, &ch, &tx).await {
            return;
        }
    }
    loop {
        let n = match ch.read(&mut rx).await {
            Ok(Io::Done(0)) => {
                warn!(%trunk, channel = b, "DAHDI bearer read nothing: channel closed");
                return;
            }
            Ok(Io::Done(n)) => n.min(BLOCK),
            Ok(Io::Event(e)) => {
                debug!(%trunk, channel = b, event = %e, "bearer event");
                continue;
            }
            Err(e) => {
                warn!(%trunk, channel = b, error = %e, "DAHDI bearer failed");
                return;
            }
        };
        bearer.send_audio(b, &rx[..n], &mut packet);
        bearer.take_block(b, silence, &mut tx[..n]);
        if !write_block(&trunk, b, &ch, &tx[..n]).await {
            return;
        }
    }
}

/// Writes one block, fetching the events in its way; false when the channel failed.
async fn write_block(trunk: &str, b: u8, ch: &AsyncChannel, block: &[u8]) -> bool {
    loop {
        match ch.write(block).await {
            Ok(Io::Done(_)) => return true,
            Ok(Io::Event(e)) => debug!(%trunk, channel = b, event = %e, "bearer event"),
            Err(e) => {
                warn!(%trunk, channel = b, error = %e, "DAHDI bearer failed");
                return false;
            }
        }
    }
}
