//! One open DAHDI channel: set-up ioctls, then reads and writes on a non-blocking fd
//! registered with tokio.

use crate::sys::{self, BufferInfo, Ioctl, Params, SpanInfo};
use crate::{Abcd, Alarms, DchannelSetup, Error, Event, Law, Sig};
use nix::libc::{O_NONBLOCK, c_int};
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// Buffers of a D-channel: 16 of 1024 octets (a frame is at most 266).
const DCHANNEL_BUFS: BufferInfo = BufferInfo {
    txbufpolicy: sys::POLICY_IMMEDIATE,
    rxbufpolicy: sys::POLICY_IMMEDIATE,
    numbufs: 16,
    bufsize: 1024,
    readbufs: 0,
    writebufs: 0,
};

/// Buffers of a bearer, in blocks: 4 (80 ms of 20 ms blocks) absorb a late task
/// without growing the delay much.
const BEARER_BUFS: c_int = 4;

/// An open channel (`/dev/dahdi/channel` bound to a channel number), non-blocking.
#[derive(Debug)]
pub struct Channel {
    file: File,
    number: u32,
}

impl Channel {
    /// Opens channel `number` through `dir/channel` (`dir` is normally
    /// [`crate::DEV_DIR`]) and binds it with `DAHDI_SPECIFY`.
    pub fn open(dir: &Path, number: u32) -> Result<Channel, Error> {
        let path = dir.join("channel");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(O_NONBLOCK)
            .open(&path)
            .map_err(|source| Error::Device {
                path: path.display().to_string(),
                source,
            })?;
        let mut n = c_int::try_from(number).unwrap_or(c_int::MAX);
        sys::SPECIFY
            .call(file.as_fd(), &mut n)
            .map_err(|source| Error::NoChannel {
                channel: number,
                source,
            })?;
        Ok(Channel { file, number })
    }

    /// Opens channel `number` as the D-channel of span `span`: checks its span and
    /// signalling, switches DAHDI's HDLC with FCS on if it is a clear channel, and
    /// sizes its buffers for frames.
    pub fn open_dchannel(dir: &Path, number: u32, span: u32) -> Result<Channel, Error> {
        let ch = Channel::open(dir, number)?;
        let p = ch.params()?;
        ch.check_span(&p, span)?;
        let sig = Sig(p.sigtype);
        match crate::dchannel_setup(sig) {
            Ok(DchannelSetup::Ready) => {}
            Ok(DchannelSetup::EnableFcs) => {
                ch.ioctl(&sys::HDLCFCSMODE, &mut 1)?;
            }
            Err(wanted) => {
                return Err(Error::Signalling {
                    channel: number,
                    sig,
                    wanted,
                });
            }
        }
        ch.ioctl(&sys::SET_BUFINFO, &mut { DCHANNEL_BUFS })?;
        ch.ioctl(&sys::FLUSH, &mut { sys::FLUSH_ALL })?;
        Ok(ch)
    }

    /// Opens channel `number` as a bearer of span `span`: `block` octets per read and
    /// write (160 = 20 ms), law `law`.
    pub fn open_bearer(
        dir: &Path,
        number: u32,
        span: u32,
        block: usize,
        law: Law,
    ) -> Result<Channel, Error> {
        let ch = Channel::open(dir, number)?;
        let p = ch.params()?;
        ch.check_span(&p, span)?;
        let sig = Sig(p.sigtype);
        if let Err(wanted) = crate::bearer_ok(sig) {
            return Err(Error::Signalling {
                channel: number,
                sig,
                wanted,
            });
        }
        let mut size = c_int::try_from(block).unwrap_or(c_int::MAX);
        ch.ioctl(&sys::SET_BLOCKSIZE, &mut size)?;
        let mut bufs = BufferInfo {
            txbufpolicy: sys::POLICY_IMMEDIATE,
            rxbufpolicy: sys::POLICY_IMMEDIATE,
            numbufs: BEARER_BUFS,
            bufsize: size,
            ..BufferInfo::default()
        };
        ch.ioctl(&sys::SET_BUFINFO, &mut bufs)?;
        ch.ioctl(&sys::SETLAW, &mut law.dahdi())?;
        ch.ioctl(&sys::FLUSH, &mut { sys::FLUSH_ALL })?;
        Ok(ch)
    }

    /// The channel number.
    pub fn number(&self) -> u32 {
        self.number
    }

    fn ioctl<T>(&self, req: &Ioctl<T>, arg: &mut T) -> Result<c_int, Error> {
        req.call(self.file.as_fd(), arg)
            .map_err(|source| Error::Ioctl {
                channel: self.number,
                request: req.name,
                source,
            })
    }

    fn check_span(&self, p: &Params, span: u32) -> Result<(), Error> {
        let actual = u32::try_from(p.spanno).unwrap_or(0);
        if actual != span {
            return Err(Error::WrongSpan {
                channel: self.number,
                expected: span,
                actual,
            });
        }
        Ok(())
    }

    /// `DAHDI_GET_PARAMS`.
    pub fn params(&self) -> Result<Params, Error> {
        let mut p = Params {
            channo: c_int::try_from(self.number).unwrap_or(0),
            ..Params::default()
        };
        self.ioctl(&sys::GET_PARAMS, &mut p)?;
        Ok(p)
    }

    /// `DAHDI_SPANSTAT` of span `span`: its alarms.
    pub fn span_alarms(&self, span: u32) -> Result<Alarms, Error> {
        let mut info = SpanInfo::request(c_int::try_from(span).unwrap_or(0));
        self.ioctl(&sys::SPANSTAT, &mut info)?;
        let alarms = info.alarms;
        Ok(Alarms(alarms as u32))
    }

    /// `DAHDI_GETEVENT`: the next event, [`Event::NONE`] when none is pending.
    pub fn event(&self) -> Result<Event, Error> {
        let mut e: c_int = 0;
        self.ioctl(&sys::GETEVENT, &mut e)?;
        Ok(Event(e))
    }

    /// `DAHDI_SETTXBITS`: CAS bits to send (CAS channels only).
    pub fn set_tx_bits(&self, bits: Abcd) -> Result<(), Error> {
        self.ioctl(&sys::SETTXBITS, &mut bits.bits()).map(drop)
    }

    /// `DAHDI_GETRXBITS`: the CAS bits received.
    pub fn rx_bits(&self) -> Result<Abcd, Error> {
        let mut b: c_int = 0;
        self.ioctl(&sys::GETRXBITS, &mut b)?;
        Ok(Abcd::from_bits(b))
    }
}

impl AsRawFd for Channel {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// A read or write that went through, or the event that stopped it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Io {
    /// Octets read or written.
    Done(usize),
    /// An event was pending (`ELAST`) and has been fetched; nothing was moved.
    Event(Event),
}

/// A [`Channel`] registered with tokio: readable, writable, and priority (DAHDI's
/// poll reports a pending event as `POLLPRI`).
pub struct AsyncChannel {
    fd: AsyncFd<Channel>,
}

impl AsyncChannel {
    /// Registers `channel` with the current tokio runtime.
    pub fn new(channel: Channel) -> io::Result<AsyncChannel> {
        let interest = Interest::READABLE
            .add(Interest::WRITABLE)
            .add(Interest::PRIORITY);
        // SAFETY: tokio's condition for the registration: the fd stays open and the
        // same for the AsyncFd's lifetime. `Channel` owns its `File` (never replaced
        // or closed before the `Channel` drops) and `as_raw_fd` always returns it.
        let fd = unsafe { AsyncFd::register_with_interest(channel, interest) }?;
        Ok(AsyncChannel { fd })
    }

    /// The channel, for its ioctls.
    pub fn channel(&self) -> &Channel {
        self.fd.get_ref()
    }

    /// One read (a D-channel frame with its FCS slot, or a bearer block) into `buf`,
    /// or the pending event.
    pub async fn read(&self, buf: &mut [u8]) -> Result<Io, Error> {
        loop {
            let mut ready = self
                .fd
                .ready(Interest::READABLE.add(Interest::PRIORITY))
                .await
                .map_err(|e| self.io_error("poll", e))?;
            match (&self.fd.get_ref().file).read(buf) {
                Ok(n) => return Ok(Io::Done(n)),
                Err(e) if e.raw_os_error() == Some(sys::ELAST) => {
                    return Ok(Io::Event(self.channel().event()?));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready.clear_ready(),
                Err(e) => return Err(self.io_error("read", e)),
            }
        }
    }

    /// One write of `buf` (a D-channel frame with its FCS slot, or a bearer block), or
    /// the pending event (write again after handling it).
    pub async fn write(&self, buf: &[u8]) -> Result<Io, Error> {
        loop {
            let mut ready = self
                .fd
                .ready(Interest::WRITABLE.add(Interest::PRIORITY))
                .await
                .map_err(|e| self.io_error("poll", e))?;
            match (&self.fd.get_ref().file).write(buf) {
                Ok(n) => return Ok(Io::Done(n)),
                Err(e) if e.raw_os_error() == Some(sys::ELAST) => {
                    return Ok(Io::Event(self.channel().event()?));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => ready.clear_ready(),
                Err(e) => return Err(self.io_error("write", e)),
            }
        }
    }

    fn io_error(&self, request: &'static str, source: io::Error) -> Error {
        Error::Ioctl {
            channel: self.channel().number,
            request,
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_dahdi_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = Channel::open_dchannel(dir.path(), 16, 1).expect_err("no device there");
        let text = err.to_string();
        assert!(matches!(err, Error::Device { .. }), "{err:?}");
        assert!(text.contains("/channel: "), "{text}");
        assert!(text.contains("is DAHDI loaded?"), "{text}");
        let err = Channel::open_bearer(dir.path(), 1, 1, 160, Law::Alaw).expect_err("none");
        assert!(matches!(err, Error::Device { .. }), "{err:?}");
    }

    #[test]
    fn a_device_that_is_not_dahdi_refuses_specify() {
        // A file that opens but answers no DAHDI ioctl (ENOTTY), as a wrong
        // /dev/dahdi/channel would: a clear error, not a panic.
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("channel"), b"").expect("file");
        let err = Channel::open(dir.path(), 16).expect_err("not a DAHDI device");
        assert!(
            matches!(err, Error::NoChannel { channel: 16, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().starts_with("DAHDI has no channel 16"),
            "{err}"
        );
    }

    #[test]
    fn the_real_dev_dahdi_gives_an_error_or_a_channel_never_a_panic() {
        // On a host without DAHDI (this project's CI) the device is missing.
        match Channel::open(Path::new(crate::DEV_DIR), 1) {
            Ok(ch) => assert_eq!(ch.number(), 1),
            Err(e) => assert!(!e.to_string().is_empty()),
        }
    }
}
