//! The DAHDI user-space ABI this driver uses: ioctl requests and the structures they
//! carry, from DAHDI's `include/dahdi/user.h` (dahdi-linux 2.11; unchanged in 3.x for
//! every request listed here). The crate's `unsafe` is here, in [`Ioctl::call`], and in
//! the tokio registration of a channel's fd (`AsyncChannel::new`).
//!
//! Each request is typed by its argument: the request number's size field is
//! `size_of::<T>()` of the Rust type it is built with, so a request can only be made
//! with a pointer to a value of the size the kernel copies in or out.

use nix::libc::{self, c_char, c_int};
use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd};

/// `DAHDI_CODE`, the ioctl type of every DAHDI request (`user.h`).
pub const DAHDI_CODE: u8 = 0xDA;

/// `ELAST` as DAHDI defines it (`user.h`): `read()`/`write()` on a channel fail with it
/// while an event waits to be fetched with [`GETEVENT`].
pub const ELAST: i32 = 500;

/// The ioctl number type of this target (C's `unsigned long`, or `int` on musl).
pub type Request = nix::sys::ioctl::ioctl_num_type;

/// One ioctl request whose argument is a `T` (pointed to).
pub struct Ioctl<T> {
    /// The name in `user.h`, for errors.
    pub name: &'static str,
    /// The request number (`_IOR`/`_IOW`/`_IOWR(DAHDI_CODE, nr, T)`).
    pub request: Request,
    arg: PhantomData<fn(&mut T)>,
}

impl<T> Ioctl<T> {
    /// `_IOR(DAHDI_CODE, nr, T)`: the kernel writes a `T`.
    pub const fn read(name: &'static str, nr: u8) -> Ioctl<T> {
        Ioctl {
            name,
            request: nix::request_code_read!(DAHDI_CODE, nr, std::mem::size_of::<T>()),
            arg: PhantomData,
        }
    }

    /// `_IOW(DAHDI_CODE, nr, T)`: the kernel reads a `T`.
    pub const fn write(name: &'static str, nr: u8) -> Ioctl<T> {
        Ioctl {
            name,
            request: nix::request_code_write!(DAHDI_CODE, nr, std::mem::size_of::<T>()),
            arg: PhantomData,
        }
    }

    /// `_IOWR(DAHDI_CODE, nr, T)`: the kernel reads and writes a `T`.
    pub const fn read_write(name: &'static str, nr: u8) -> Ioctl<T> {
        Ioctl {
            name,
            request: nix::request_code_readwrite!(DAHDI_CODE, nr, std::mem::size_of::<T>()),
            arg: PhantomData,
        }
    }

    /// Issues the request on `fd` with `arg`.
    pub fn call(&self, fd: BorrowedFd<'_>, arg: &mut T) -> io::Result<c_int> {
        // SAFETY: `fd` is an open descriptor for the call's duration (borrowed), and
        // `arg` is an exclusive, aligned, initialised `T` that outlives the call. Every
        // request of this module is built by the constructors above from the same `T`,
        // so the kernel copies at most `size_of::<T>()` octets from or to `arg`, which
        // is how DAHDI's handlers size their copy_from_user/copy_to_user; every `T` used
        // is plain data (integers and arrays of them) valid for any bit pattern.
        let r = unsafe { libc::ioctl(fd.as_raw_fd(), self.request, arg as *mut T) };
        if r < 0 {
            Err(io::Error::last_os_error())
        } else {
            Ok(r)
        }
    }
}

/// `DAHDI_SET_BLOCKSIZE` (nr 1): octets per read/write on an audio channel, 16-8192.
pub const SET_BLOCKSIZE: Ioctl<c_int> = Ioctl::write("DAHDI_SET_BLOCKSIZE", 1);
/// `DAHDI_FLUSH` (nr 3): empties buffers ([`FLUSH_ALL`] and friends).
pub const FLUSH: Ioctl<c_int> = Ioctl::write("DAHDI_FLUSH", 3);
/// `DAHDI_GET_PARAMS` (nr 5, read-write since 2.x: `chan_alarms` was added).
pub const GET_PARAMS: Ioctl<Params> = Ioctl::read_write("DAHDI_GET_PARAMS", 5);
/// `DAHDI_SET_PARAMS` (nr 5): hook/pulse timings only (not used: the law is
/// [`SETLAW`]'s, the signalling `dahdi_cfg`'s).
pub const SET_PARAMS: Ioctl<Params> = Ioctl::write("DAHDI_SET_PARAMS", 5);
/// `DAHDI_GETEVENT` (nr 8): the next event of the channel, [`crate::Event::NONE`] if none.
pub const GETEVENT: Ioctl<c_int> = Ioctl::read("DAHDI_GETEVENT", 8);
/// `DAHDI_SPANSTAT` (nr 10): a span's state and alarms by span number.
pub const SPANSTAT: Ioctl<SpanInfo> = Ioctl::read_write("DAHDI_SPANSTAT", 10);
/// `DAHDI_GET_BUFINFO` (nr 27).
pub const GET_BUFINFO: Ioctl<BufferInfo> = Ioctl::read("DAHDI_GET_BUFINFO", 27);
/// `DAHDI_SET_BUFINFO` (nr 27): buffer policy, count and size.
pub const SET_BUFINFO: Ioctl<BufferInfo> = Ioctl::write("DAHDI_SET_BUFINFO", 27);
/// `DAHDI_CHANNO` (nr 34): the channel number an fd is bound to.
pub const CHANNO: Ioctl<c_int> = Ioctl::read("DAHDI_CHANNO", 34);
/// `DAHDI_HDLCFCSMODE` (nr 37): on a clear channel, HDLC in software with the FCS
/// computed by DAHDI: whole frames on read (2 FCS octets after each), whole frames on
/// write (2 placeholder octets after each, overwritten by the FCS).
pub const HDLCFCSMODE: Ioctl<c_int> = Ioctl::write("DAHDI_HDLCFCSMODE", 37);
/// `DAHDI_SPECIFY` (nr 38): binds an fd of `/dev/dahdi/channel` to a channel number.
pub const SPECIFY: Ioctl<c_int> = Ioctl::write("DAHDI_SPECIFY", 38);
/// `DAHDI_SETLAW` (nr 39): [`LAW_MULAW`] or [`LAW_ALAW`] (reset on close).
pub const SETLAW: Ioctl<c_int> = Ioctl::write("DAHDI_SETLAW", 39);
/// `DAHDI_GETRXBITS` (nr 43): the received CAS bits (ABCD in the low nibble).
pub const GETRXBITS: Ioctl<c_int> = Ioctl::read("DAHDI_GETRXBITS", 43);
/// `DAHDI_SETTXBITS` (nr 43): the CAS bits to send; CAS channels only.
pub const SETTXBITS: Ioctl<c_int> = Ioctl::write("DAHDI_SETTXBITS", 43);

/// `DAHDI_FLUSH_READ | DAHDI_FLUSH_WRITE | DAHDI_FLUSH_EVENT`.
pub const FLUSH_ALL: c_int = 1 | 2 | 4;
/// `DAHDI_LAW_MULAW`.
pub const LAW_MULAW: c_int = 1;
/// `DAHDI_LAW_ALAW`.
pub const LAW_ALAW: c_int = 2;
/// `DAHDI_POLICY_IMMEDIATE`: start playing/recording at once.
pub const POLICY_IMMEDIATE: c_int = 0;

/// `struct dahdi_params` (136 octets on every Linux target).
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct Params {
    /// Channel number.
    pub channo: c_int,
    /// Span number.
    pub spanno: c_int,
    /// Position in the span (the timeslot on E1/T1).
    pub chanpos: c_int,
    /// Signalling type (`DAHDI_SIG_*`, [`crate::Sig`]).
    pub sigtype: c_int,
    /// Signalling types the channel can do.
    pub sigcap: c_int,
    pub rxisoffhook: c_int,
    /// Received CAS bits.
    pub rxbits: c_int,
    /// Sent CAS bits.
    pub txbits: c_int,
    pub txhooksig: c_int,
    pub rxhooksig: c_int,
    /// [`LAW_MULAW`] or [`LAW_ALAW`].
    pub curlaw: c_int,
    /// CAS bits considered idle.
    pub idlebits: c_int,
    /// The channel's name, NUL-terminated.
    pub name: [c_char; 40],
    pub prewinktime: c_int,
    pub preflashtime: c_int,
    pub winktime: c_int,
    pub flashtime: c_int,
    pub starttime: c_int,
    pub rxwinktime: c_int,
    pub rxflashtime: c_int,
    pub debouncetime: c_int,
    pub pulsebreaktime: c_int,
    pub pulsemaketime: c_int,
    pub pulseaftertime: c_int,
    /// Alarms of the channel's span, as in [`crate::Alarms`].
    pub chan_alarms: u32,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            channo: 0,
            spanno: 0,
            chanpos: 0,
            sigtype: 0,
            sigcap: 0,
            rxisoffhook: 0,
            rxbits: 0,
            txbits: 0,
            txhooksig: 0,
            rxhooksig: 0,
            curlaw: 0,
            idlebits: 0,
            name: [0; 40],
            prewinktime: 0,
            preflashtime: 0,
            winktime: 0,
            flashtime: 0,
            starttime: 0,
            rxwinktime: 0,
            rxflashtime: 0,
            debouncetime: 0,
            pulsebreaktime: 0,
            pulsemaketime: 0,
            pulseaftertime: 0,
            chan_alarms: 0,
        }
    }
}

/// `struct dahdi_bufferinfo` (24 octets).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BufferInfo {
    /// Transmit policy ([`POLICY_IMMEDIATE`]).
    pub txbufpolicy: c_int,
    /// Receive policy.
    pub rxbufpolicy: c_int,
    /// Number of buffers (at most 32).
    pub numbufs: c_int,
    /// Octets per buffer: one read or write (one HDLC frame on a D-channel).
    pub bufsize: c_int,
    /// Full read buffers (read-only).
    pub readbufs: c_int,
    /// Full write buffers (read-only).
    pub writebufs: c_int,
}

/// `struct dahdi_spaninfo`, packed as in `user.h` (314 octets).
#[repr(C, packed)]
#[derive(Clone, Copy)]
pub struct SpanInfo {
    /// Span number (in: which span; 0 = the fd's channel's span).
    pub spanno: c_int,
    pub name: [c_char; 20],
    pub desc: [c_char; 40],
    /// Alarm bits ([`crate::Alarms`]).
    pub alarms: c_int,
    pub txlevel: c_int,
    pub rxlevel: c_int,
    pub bpvcount: c_int,
    pub crc4count: c_int,
    pub ebitcount: c_int,
    pub fascount: c_int,
    pub fecount: u32,
    pub cvcount: u32,
    pub becount: u32,
    pub prbs: u32,
    pub errsec: u32,
    pub irqmisses: c_int,
    pub syncsrc: c_int,
    pub numchans: c_int,
    pub totalchans: c_int,
    pub totalspans: c_int,
    pub lbo: c_int,
    pub lineconfig: c_int,
    pub lboname: [c_char; 40],
    pub location: [c_char; 40],
    pub manufacturer: [c_char; 40],
    pub devicetype: [c_char; 40],
    pub irq: c_int,
    pub linecompat: c_int,
    pub spantype: [c_char; 6],
}

impl SpanInfo {
    /// A request for span `spanno`, every other field zero.
    pub fn request(spanno: c_int) -> SpanInfo {
        SpanInfo {
            spanno,
            name: [0; 20],
            desc: [0; 40],
            alarms: 0,
            txlevel: 0,
            rxlevel: 0,
            bpvcount: 0,
            crc4count: 0,
            ebitcount: 0,
            fascount: 0,
            fecount: 0,
            cvcount: 0,
            becount: 0,
            prbs: 0,
            errsec: 0,
            irqmisses: 0,
            syncsrc: 0,
            numchans: 0,
            totalchans: 0,
            totalspans: 0,
            lbo: 0,
            lineconfig: 0,
            lboname: [0; 40],
            location: [0; 40],
            manufacturer: [0; 40],
            devicetype: [0; 40],
            irq: 0,
            linecompat: 0,
            spantype: [0; 6],
        }
    }
}

/// A NUL-terminated C string field as text (lossy).
pub fn c_text(field: &[c_char]) -> String {
    let bytes: Vec<u8> = field
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structure_sizes_match_user_h() {
        assert_eq!(std::mem::size_of::<Params>(), 136);
        assert_eq!(std::mem::size_of::<BufferInfo>(), 24);
        assert_eq!(std::mem::size_of::<SpanInfo>(), 314);
    }

    /// The numbers as x86_64 Linux sees them: those DAHDI's own tools use (and that
    /// `shared/PEERS.md` lists for the libopenr2 peer's emulation).
    #[cfg(all(
        target_os = "linux",
        any(target_arch = "x86_64", target_arch = "aarch64")
    ))]
    #[test]
    fn request_numbers_on_x86_64_and_aarch64() {
        let table: [(&str, Request, u32); 14] = [
            (SET_BLOCKSIZE.name, SET_BLOCKSIZE.request, 0x4004_DA01),
            (FLUSH.name, FLUSH.request, 0x4004_DA03),
            (GET_PARAMS.name, GET_PARAMS.request, 0xC088_DA05),
            (SET_PARAMS.name, SET_PARAMS.request, 0x4088_DA05),
            (GETEVENT.name, GETEVENT.request, 0x8004_DA08),
            (SPANSTAT.name, SPANSTAT.request, 0xC13A_DA0A),
            (GET_BUFINFO.name, GET_BUFINFO.request, 0x8018_DA1B),
            (SET_BUFINFO.name, SET_BUFINFO.request, 0x4018_DA1B),
            (CHANNO.name, CHANNO.request, 0x8004_DA22),
            (HDLCFCSMODE.name, HDLCFCSMODE.request, 0x4004_DA25),
            (SPECIFY.name, SPECIFY.request, 0x4004_DA26),
            (SETLAW.name, SETLAW.request, 0x4004_DA27),
            (GETRXBITS.name, GETRXBITS.request, 0x8004_DA2B),
            (SETTXBITS.name, SETTXBITS.request, 0x4004_DA2B),
        ];
        for (name, got, want) in table {
            #[allow(clippy::unnecessary_cast)] // c_ulong here, c_int on musl
            let got = got as u64;
            assert_eq!(got, u64::from(want), "{name}: {got:#x} != {want:#x}");
        }
    }

    #[test]
    fn c_text_stops_at_nul() {
        let mut f = [0 as c_char; 8];
        for (d, s) in f.iter_mut().zip(b"TE4/0/1") {
            *d = *s as c_char;
        }
        assert_eq!(c_text(&f), "TE4/0/1");
        assert_eq!(c_text(&[0; 4]), "");
    }
}
