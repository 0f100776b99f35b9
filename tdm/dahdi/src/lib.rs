//! The DAHDI span driver: an E1/T1 span on a Linux telephony card through DAHDI's
//! `/dev/dahdi` character devices.
//!
//! DAHDI (the kernel driver and `dahdi_cfg`) owns the card: framing, line code, clock
//! and which channel carries what (`/etc/dahdi/system.conf`: `dchan=`/`hardhdlc=` for
//! a D-channel, `bchan=` for bearers, `cas=` for CAS channels). This crate opens the
//! channels the gateway names and moves their bytes:
//!
//! - a D-channel ([`Channel::open_dchannel`]): one read = one HDLC frame followed by
//!   its 2 FCS octets, one write = one frame followed by 2 placeholder octets
//!   ([`frame_from_read`], [`frame_for_write`]) — the convention of the test span;
//! - a bearer ([`Channel::open_bearer`]): blocks of G.711 in the span's law, one block
//!   per read or write, clocked by the card;
//! - CAS bits ([`Channel::set_tx_bits`], [`Channel::rx_bits`], [`Abcd`]);
//! - events ([`Event`]): a read or write fails with [`sys::ELAST`] while one is
//!   pending; [`AsyncChannel`] fetches it (`DAHDI_GETEVENT`) and hands it over. Span
//!   alarms arrive on every channel as [`Event::ALARM`] / [`Event::NOALARM`];
//!   [`Channel::span_alarms`] (`DAHDI_SPANSTAT`) reads the state at start.
//!
//! Everything but the ioctls and the reads and writes is plain data with unit tests;
//! the `unsafe` is two blocks: [`sys::Ioctl::call`] and the tokio registration in
//! [`AsyncChannel::new`]. Without DAHDI hardware (and
//! kernel module) only those tests and the "no device" error paths have run: see the
//! README's span driver section.

use std::fmt;

mod channel;
pub mod sys;

pub use channel::{AsyncChannel, Channel, Io};

/// Where DAHDI's device files are.
pub const DEV_DIR: &str = "/dev/dahdi";

/// What can go wrong opening or driving a channel.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The device file is missing or cannot be opened.
    #[error(
        "{path}: {source} (is DAHDI loaded? the card's kernel module, then `dahdi_cfg`; a build or host without DAHDI cannot use `driver: dahdi`)"
    )]
    Device {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// DAHDI knows no such channel (`DAHDI_SPECIFY` refused it).
    #[error("DAHDI has no channel {channel} (see `dahdi_scan` / `lsdahdi`): {source}")]
    NoChannel {
        /// Channel number.
        channel: u32,
        /// The refusal.
        source: std::io::Error,
    },
    /// An ioctl failed.
    #[error("DAHDI channel {channel}: {request} failed: {source}")]
    Ioctl {
        /// Channel number (0: no channel).
        channel: u32,
        /// The request's name in `user.h`.
        request: &'static str,
        /// The error.
        source: std::io::Error,
    },
    /// The channel is not configured for what it was opened as.
    #[error("DAHDI channel {channel} is configured as {sig}; {wanted}")]
    Signalling {
        /// Channel number.
        channel: u32,
        /// Its signalling.
        sig: Sig,
        /// What it should be, with the `system.conf` line that makes it so.
        wanted: &'static str,
    },
    /// The channel belongs to another span than the configuration says.
    #[error("DAHDI channel {channel} is on span {actual}, not on span {expected}")]
    WrongSpan {
        /// Channel number.
        channel: u32,
        /// Span the configuration names.
        expected: u32,
        /// Span DAHDI reports.
        actual: u32,
    },
}

/// A DAHDI channel event (`DAHDI_EVENT_*` in `user.h`): an open newtype, so unknown
/// values pass through and print as numbers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Event(pub i32);

/// The named events: (value, `user.h` name without `DAHDI_EVENT_`).
const EVENT_NAMES: [(i32, &str); 31] = [
    (0, "NONE"),
    (1, "ONHOOK"),
    (2, "RINGOFFHOOK"),
    (3, "WINKFLASH"),
    (4, "ALARM"),
    (5, "NOALARM"),
    (6, "ABORT"),
    (7, "OVERRUN"),
    (8, "BADFCS"),
    (9, "DIALCOMPLETE"),
    (10, "RINGERON"),
    (11, "RINGEROFF"),
    (12, "HOOKCOMPLETE"),
    (13, "BITSCHANGED"),
    (14, "PULSE_START"),
    (15, "TIMER_EXPIRED"),
    (16, "TIMER_PING"),
    (17, "POLARITY"),
    (18, "RINGBEGIN"),
    (19, "EC_DISABLED"),
    (20, "REMOVED"),
    (21, "NEONMWI_ACTIVE"),
    (22, "NEONMWI_INACTIVE"),
    (23, "TX_CED_DETECTED"),
    (24, "RX_CED_DETECTED"),
    (25, "TX_CNG_DETECTED"),
    (26, "RX_CNG_DETECTED"),
    (27, "EC_NLP_DISABLED"),
    (28, "EC_NLP_ENABLED"),
    (29, "READ_OVERRUN"),
    (30, "WRITE_UNDERRUN"),
];

impl Event {
    /// No event pending.
    pub const NONE: Event = Event(0);
    /// The span went into alarm (any alarm bit set).
    pub const ALARM: Event = Event(4);
    /// The span left alarm.
    pub const NOALARM: Event = Event(5);
    /// HDLC: a frame was aborted.
    pub const ABORT: Event = Event(6);
    /// HDLC: a received frame overran the buffer.
    pub const OVERRUN: Event = Event(7);
    /// HDLC: a frame with a bad FCS was dropped.
    pub const BADFCS: Event = Event(8);
    /// CAS: the received bits changed ([`Channel::rx_bits`]).
    pub const BITSCHANGED: Event = Event(13);
    /// The card was removed.
    pub const REMOVED: Event = Event(20);
    /// Audio: the read buffers overflowed (we read too slowly).
    pub const READ_OVERRUN: Event = Event(29);
    /// Audio: the write buffers ran dry (we wrote too slowly).
    pub const WRITE_UNDERRUN: Event = Event(30);

    /// Its `user.h` name, without `DAHDI_EVENT_`; `None` for other values (pulse and
    /// DTMF digits are OR'd into the upper bits and have none).
    pub fn name(self) -> Option<&'static str> {
        EVENT_NAMES
            .iter()
            .find(|(v, _)| *v == self.0)
            .map(|(_, n)| *n)
    }

    /// What the span driver makes of it.
    pub fn effect(self) -> Effect {
        match self {
            Event::ALARM | Event::REMOVED => Effect::SpanDown,
            Event::NOALARM => Effect::SpanUp,
            Event::BADFCS => Effect::Hdlc(HdlcError::BadFcs),
            Event::ABORT => Effect::Hdlc(HdlcError::Abort),
            Event::OVERRUN => Effect::Hdlc(HdlcError::Overrun),
            Event::BITSCHANGED => Effect::BitsChanged,
            Event::READ_OVERRUN | Event::WRITE_UNDERRUN => Effect::Slip,
            _ => Effect::Other,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "DAHDI_EVENT_{n}"),
            None => write!(f, "DAHDI event {:#x}", self.0),
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// The kinds of D-channel HDLC error DAHDI reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HdlcError {
    /// `DAHDI_EVENT_BADFCS`.
    BadFcs,
    /// `DAHDI_EVENT_ABORT`.
    Abort,
    /// `DAHDI_EVENT_OVERRUN`.
    Overrun,
}

/// What an [`Event`] means to a span driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    /// The span is in alarm (or gone): the D-channel starts over when it is back.
    SpanDown,
    /// The span is out of alarm.
    SpanUp,
    /// A D-channel frame was lost to an HDLC error (counted; Q.921 recovers).
    Hdlc(HdlcError),
    /// The received CAS bits changed.
    BitsChanged,
    /// A bearer's buffers overran or ran dry (audio slipped).
    Slip,
    /// Nothing for the span driver.
    Other,
}

/// A channel's signalling type (`DAHDI_SIG_*` in `user.h`), an open newtype.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Sig(pub i32);

impl Sig {
    /// Not configured.
    pub const NONE: Sig = Sig(0);
    /// Clear channel (`bchan=`): audio, or HDLC once [`sys::HDLCFCSMODE`] is on.
    pub const CLEAR: Sig = Sig(1 << 7);
    /// Raw HDLC, no FCS.
    pub const HDLCRAW: Sig = Sig((1 << 8) | (1 << 7));
    /// HDLC in software with FCS (`dchan=`).
    pub const HDLCFCS: Sig = Sig((1 << 9) | (1 << 8) | (1 << 7));
    /// HDLC network device.
    pub const HDLCNET: Sig = Sig((1 << 10) | (1 << 9) | (1 << 8) | (1 << 7));
    /// CAS bits only (`cas=`).
    pub const CAS: Sig = Sig(1 << 15);
    /// HDLC in the card's controller (`hardhdlc=`).
    pub const HARDHDLC: Sig = Sig((1 << 19) | (1 << 7));
    /// MTP2 in DAHDI.
    pub const MTP2: Sig = Sig((1 << 20) | (1 << 9) | (1 << 8) | (1 << 7));

    fn name(self) -> Option<&'static str> {
        Some(match self {
            Sig::NONE => "unconfigured",
            Sig::CLEAR => "clear (bchan)",
            Sig::HDLCRAW => "raw HDLC",
            Sig::HDLCFCS => "HDLC with FCS (dchan)",
            Sig::HDLCNET => "HDLC network",
            Sig::CAS => "CAS",
            Sig::HARDHDLC => "hardware HDLC (hardhdlc)",
            Sig::MTP2 => "MTP2",
            _ => return None,
        })
    }
}

impl fmt::Display for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "signalling {:#x}", self.0),
        }
    }
}

impl fmt::Debug for Sig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// How a channel becomes a D-channel with whole frames and an FCS slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DchannelSetup {
    /// Already framed by DAHDI or the card (`dchan=`, `hardhdlc=`).
    Ready,
    /// A clear channel: switch DAHDI's software HDLC on ([`sys::HDLCFCSMODE`]).
    EnableFcs,
}

/// The D-channel set-up for a channel of signalling `sig`, or why it cannot be one.
pub fn dchannel_setup(sig: Sig) -> Result<DchannelSetup, &'static str> {
    match sig {
        Sig::HDLCFCS | Sig::HARDHDLC => Ok(DchannelSetup::Ready),
        Sig::CLEAR => Ok(DchannelSetup::EnableFcs),
        _ => Err("a D-channel needs `dchan=`, `hardhdlc=` or `bchan=` in system.conf"),
    }
}

/// Whether a channel of signalling `sig` can carry bearer audio.
pub fn bearer_ok(sig: Sig) -> Result<(), &'static str> {
    match sig {
        // A CAS channel carries its audio too (R2: the MF tones are in-band).
        Sig::CLEAR | Sig::CAS => Ok(()),
        _ => Err("a bearer needs `bchan=` (or `cas=`) in system.conf"),
    }
}

/// A span's alarm bits (`DAHDI_ALARM_*` in `user.h`).
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Alarms(pub u32);

/// The named alarm bits.
const ALARM_NAMES: [(u32, &str); 9] = [
    (1 << 0, "recovering"),
    (1 << 1, "loopback"),
    (1 << 2, "yellow"),
    (1 << 3, "red"),
    (1 << 4, "blue"),
    (1 << 5, "not open"),
    (1 << 8, "loss of signal"),
    (1 << 9, "loss of frame alignment"),
    (1 << 10, "loss of multiframe alignment"),
];

impl Alarms {
    /// Whether the span is down. DAHDI's own rule (`dahdi_alarm_notify`): any alarm bit
    /// set is an alarm, and every channel gets [`Event::ALARM`].
    pub fn down(self) -> bool {
        self.0 != 0
    }
}

impl fmt::Display for Alarms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("none");
        }
        let mut rest = self.0;
        let mut first = true;
        for (bit, name) in ALARM_NAMES {
            if rest & bit != 0 {
                rest &= !bit;
                if !first {
                    f.write_str(", ")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str(", ")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for Alarms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// CAS signalling bits A, B, C, D (ITU-T G.704 §5.1.3.2; DAHDI keeps A in bit 3 down
/// to D in bit 0: `DAHDI_ABIT` 8, `DAHDI_BBIT` 4, `DAHDI_CBIT` 2, `DAHDI_DBIT` 1).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Abcd(u8);

impl Abcd {
    /// From DAHDI's integer (bits above D are ignored).
    pub fn from_bits(bits: i32) -> Abcd {
        Abcd((bits & 0xF) as u8)
    }

    /// From the four bits.
    pub fn new(a: bool, b: bool, c: bool, d: bool) -> Abcd {
        Abcd(u8::from(a) << 3 | u8::from(b) << 2 | u8::from(c) << 1 | u8::from(d))
    }

    /// DAHDI's integer.
    pub fn bits(self) -> i32 {
        i32::from(self.0)
    }

    /// Bit A.
    pub fn a(self) -> bool {
        self.0 & 8 != 0
    }

    /// Bit B.
    pub fn b(self) -> bool {
        self.0 & 4 != 0
    }

    /// Bit C.
    pub fn c(self) -> bool {
        self.0 & 2 != 0
    }

    /// Bit D.
    pub fn d(self) -> bool {
        self.0 & 1 != 0
    }

    /// From four characters `0`/`1`, A first (`"1001"`: idle in ITU R2).
    pub fn parse(text: &str) -> Option<Abcd> {
        if text.len() != 4 {
            return None;
        }
        let mut v = 0u8;
        for c in text.bytes() {
            v = v << 1
                | match c {
                    b'0' => 0,
                    b'1' => 1,
                    _ => return None,
                };
        }
        Some(Abcd(v))
    }
}

impl fmt::Display for Abcd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for bit in [8u8, 4, 2, 1] {
            f.write_str(if self.0 & bit != 0 { "1" } else { "0" })?;
        }
        Ok(())
    }
}

impl fmt::Debug for Abcd {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Abcd({self})")
    }
}

/// G.711 companding law of a bearer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Law {
    /// A-law (`DAHDI_LAW_ALAW`).
    Alaw,
    /// u-law (`DAHDI_LAW_MULAW`).
    Ulaw,
}

impl Law {
    /// DAHDI's number for it.
    pub fn dahdi(self) -> i32 {
        match self {
            Law::Alaw => sys::LAW_ALAW,
            Law::Ulaw => sys::LAW_MULAW,
        }
    }

    /// The law's silence octet (G.711: A-law 0xD5, u-law 0xFF).
    pub fn silence(self) -> u8 {
        match self {
            Law::Alaw => 0xD5,
            Law::Ulaw => 0xFF,
        }
    }
}

/// Octets after each frame read from or written to a DAHDI HDLC channel: the FCS on
/// read, placeholders DAHDI overwrites on write.
pub const FCS_SLOT: usize = 2;

/// The longest D-channel read: N201 (260) + address and control (4) + [`FCS_SLOT`].
pub const MAX_FRAME: usize = 264 + FCS_SLOT;

/// The frame in one D-channel read: without its 2 FCS octets (DAHDI checked them and
/// reports a bad one as [`Event::BADFCS`] instead of a frame). `None` when fewer than
/// the 3 octets of address and control remain.
pub fn frame_from_read(read: &[u8]) -> Option<&[u8]> {
    let n = read.len().checked_sub(FCS_SLOT)?;
    (n >= 3).then(|| &read[..n])
}

/// One D-channel write for `frame` (from its address octet) into `out`: the frame and
/// 2 placeholder octets for the FCS DAHDI computes.
pub fn frame_for_write(frame: &[u8], out: &mut Vec<u8>) {
    out.clear();
    out.extend_from_slice(frame);
    out.extend_from_slice(&[0; FCS_SLOT]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_have_names_and_effects() {
        let table = [
            (4, "DAHDI_EVENT_ALARM", Effect::SpanDown),
            (5, "DAHDI_EVENT_NOALARM", Effect::SpanUp),
            (6, "DAHDI_EVENT_ABORT", Effect::Hdlc(HdlcError::Abort)),
            (7, "DAHDI_EVENT_OVERRUN", Effect::Hdlc(HdlcError::Overrun)),
            (8, "DAHDI_EVENT_BADFCS", Effect::Hdlc(HdlcError::BadFcs)),
            (13, "DAHDI_EVENT_BITSCHANGED", Effect::BitsChanged),
            (20, "DAHDI_EVENT_REMOVED", Effect::SpanDown),
            (29, "DAHDI_EVENT_READ_OVERRUN", Effect::Slip),
            (30, "DAHDI_EVENT_WRITE_UNDERRUN", Effect::Slip),
            (1, "DAHDI_EVENT_ONHOOK", Effect::Other),
        ];
        for (v, name, effect) in table {
            assert_eq!(Event(v).to_string(), name);
            assert_eq!(Event(v).effect(), effect, "{name}");
        }
        // A DTMF digit event (DAHDI_EVENT_DTMFDOWN | '5') has no name.
        assert_eq!(Event((1 << 17) | 0x35).to_string(), "DAHDI event 0x20035");
        assert_eq!(Event((1 << 17) | 0x35).effect(), Effect::Other);
        for (i, (v, _)) in EVENT_NAMES.iter().enumerate() {
            assert_eq!(*v, i as i32, "the table is in order, one per value");
        }
    }

    #[test]
    fn dchannel_and_bearer_signalling() {
        assert_eq!(dchannel_setup(Sig::HDLCFCS), Ok(DchannelSetup::Ready));
        assert_eq!(dchannel_setup(Sig::HARDHDLC), Ok(DchannelSetup::Ready));
        assert_eq!(dchannel_setup(Sig::CLEAR), Ok(DchannelSetup::EnableFcs));
        assert!(dchannel_setup(Sig::CAS).is_err());
        assert!(dchannel_setup(Sig::NONE).is_err());
        assert!(dchannel_setup(Sig::HDLCRAW).is_err(), "no FCS check");
        assert_eq!(bearer_ok(Sig::CLEAR), Ok(()));
        assert_eq!(bearer_ok(Sig::CAS), Ok(()));
        assert!(bearer_ok(Sig::HDLCFCS).is_err());
        assert_eq!(Sig(0x0008_0080).to_string(), "hardware HDLC (hardhdlc)");
        assert_eq!(Sig(0x40).to_string(), "signalling 0x40");
    }

    #[test]
    fn alarms_decode() {
        assert!(!Alarms(0).down());
        assert_eq!(Alarms(0).to_string(), "none");
        assert!(Alarms(1 << 3).down());
        assert_eq!(
            Alarms((1 << 3) | (1 << 8) | (1 << 9)).to_string(),
            "red, loss of signal, loss of frame alignment"
        );
        assert_eq!(Alarms((1 << 2) | (1 << 20)).to_string(), "yellow, 0x100000");
        assert!(Alarms(1).down(), "recovering is still an alarm to DAHDI");
    }

    #[test]
    fn cas_bits_encode_as_dahdi_does() {
        let idle = Abcd::parse("1001").expect("four bits");
        assert_eq!(idle.bits(), 0b1001);
        assert_eq!(idle, Abcd::new(true, false, false, true));
        assert!(idle.a() && !idle.b() && !idle.c() && idle.d());
        assert_eq!(idle.to_string(), "1001");
        // DAHDI_ABIT 8 .. DAHDI_DBIT 1.
        assert_eq!(Abcd::new(true, false, false, false).bits(), 8);
        assert_eq!(Abcd::new(false, false, false, true).bits(), 1);
        assert_eq!(
            Abcd::from_bits(0x1D).to_string(),
            "1101",
            "upper bits ignored"
        );
        for v in 0..16 {
            let b = Abcd::from_bits(v);
            assert_eq!(Abcd::parse(&b.to_string()), Some(b));
        }
        assert_eq!(Abcd::parse("10011"), None);
        assert_eq!(Abcd::parse("10x1"), None);
    }

    #[test]
    fn dchannel_buffers_carry_the_fcs_slot() {
        let mut out = Vec::new();
        frame_for_write(&[0x02, 0x01, 0x7F], &mut out);
        assert_eq!(out, [0x02, 0x01, 0x7F, 0, 0]);
        assert_eq!(frame_from_read(&out), Some(&[0x02, 0x01, 0x7F][..]));
        assert_eq!(frame_from_read(&[0x02, 0x01, 0x7F, 0xAB]), None);
        assert_eq!(frame_from_read(&[0x02]), None);
        assert_eq!(frame_from_read(&[]), None);
    }

    #[test]
    fn law_numbers_and_silence() {
        assert_eq!(Law::Alaw.dahdi(), 2);
        assert_eq!(Law::Ulaw.dahdi(), 1);
        assert_eq!(Law::Alaw.silence(), 0xD5);
        assert_eq!(Law::Ulaw.silence(), 0xFF);
    }
}
