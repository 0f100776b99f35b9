//! LAPD frame codec, ITU-T Q.921 §3: address field (§3.2-3.3), control field in the
//! modulo-128 formats (§3.4-3.5), information field (§3.6).
//!
//! A frame here starts at the address octet and ends before the FCS (HDLC framing and
//! the FCS belong to [`crate::hdlc`] or the span driver). Decoding borrows the
//! information field; encoding appends to a caller's buffer and cannot fail.

use mapping::wire_enum;

wire_enum! {
    /// Service access point identifier (Q.921 §3.3.3, Table 2).
    pub struct Sapi(u8) {
        /// Call control procedures (Q.931).
        CALL_CONTROL = 0 => "call control",
        /// Packet communication conforming to X.25 level 3 procedures.
        PACKET = 16 => "packet",
        /// Layer 2 management procedures (TEI management).
        MANAGEMENT = 63 => "layer 2 management",
    }
}

wire_enum! {
    /// The supervisory function bits S (Q.921 §3.5, Table 5): bits 3-4 of the first
    /// control octet, shifted down.
    pub struct SFunction(u8) {
        /// Receive ready (§3.6).
        RR = 0 => "RR",
        /// Receive not ready (§3.6).
        RNR = 1 => "RNR",
        /// Reject (§3.6).
        REJ = 2 => "REJ",
    }
}

wire_enum! {
    /// An unnumbered frame's control octet with the P/F bit cleared (Q.921 §3.5, Table 5).
    pub struct UFunction(u8) {
        /// Set asynchronous balanced mode extended (command, §3.6).
        SABME = 0x6F => "SABME",
        /// Disconnected mode (response, §3.6).
        DM = 0x0F => "DM",
        /// Unnumbered information (command, §3.6).
        UI = 0x03 => "UI",
        /// Disconnect (command, §3.6).
        DISC = 0x43 => "DISC",
        /// Unnumbered acknowledgement (response, §3.6).
        UA = 0x63 => "UA",
        /// Frame reject (response, §3.6).
        FRMR = 0x87 => "FRMR",
        /// Exchange identification (command or response, §3.6).
        XID = 0xAF => "XID",
    }
}

/// The P/F bit in an unnumbered control octet.
const U_PF: u8 = 0x10;

/// Whether an unnumbered frame is a command, a response or either (Table 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sent as a command only.
    Command,
    /// Sent as a response only.
    Response,
    /// Either.
    Both,
}

/// One row of the unnumbered-frame table (Q.921 §3.5 Table 5, §5.8.5 for what may carry
/// an information field).
#[derive(Debug, Clone, Copy)]
pub struct URow {
    /// The function.
    pub func: UFunction,
    /// Command, response or both.
    pub role: Role,
    /// True when the frame may carry an information field.
    pub info: bool,
}

/// The unnumbered frames LAPD defines.
pub const U_FRAMES: &[URow] = &[
    URow {
        func: UFunction::SABME,
        role: Role::Command,
        info: false,
    },
    URow {
        func: UFunction::DM,
        role: Role::Response,
        info: false,
    },
    URow {
        func: UFunction::UI,
        role: Role::Command,
        info: true,
    },
    URow {
        func: UFunction::DISC,
        role: Role::Command,
        info: false,
    },
    URow {
        func: UFunction::UA,
        role: Role::Response,
        info: false,
    },
    URow {
        func: UFunction::FRMR,
        role: Role::Response,
        info: true,
    },
    URow {
        func: UFunction::XID,
        role: Role::Both,
        info: true,
    },
];

/// The table row of an unnumbered function, if LAPD defines it.
pub fn u_row(func: UFunction) -> Option<&'static URow> {
    U_FRAMES.iter().find(|r| r.func == func)
}

/// The control field (Q.921 §3.4, modulo 128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    /// Information transfer: send and receive sequence numbers, poll bit.
    I {
        /// N(S), 0-127.
        ns: u8,
        /// N(R), 0-127.
        nr: u8,
        /// P bit.
        p: bool,
    },
    /// Supervisory: function, N(R), P/F bit.
    S {
        /// RR, RNR, REJ or an undefined value.
        func: SFunction,
        /// N(R), 0-127.
        nr: u8,
        /// P/F bit.
        pf: bool,
    },
    /// Unnumbered: function and P/F bit.
    U {
        /// The function.
        func: UFunction,
        /// P/F bit.
        pf: bool,
    },
}

impl Control {
    /// The P or F bit.
    pub fn pf(&self) -> bool {
        match *self {
            Control::I { p, .. } => p,
            Control::S { pf, .. } | Control::U { pf, .. } => pf,
        }
    }
}

/// A frame that cannot be taken apart (Q.921 §2.9, §5.8.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer octets than the address and control fields need.
    #[error("frame truncated ({0} octets)")]
    Truncated(usize),
    /// The address field's extension bits are not 0 then 1 (§3.3.1): not a two-octet
    /// address, so not LAPD.
    #[error("bad address extension bits")]
    BadAddress,
    /// A supervisory frame with an undefined function, or an unnumbered control octet
    /// LAPD does not define (§5.8.5 a: undefined control field).
    #[error("undefined control field {0:#04x}")]
    UndefinedControl(u8),
    /// A supervisory or unnumbered frame carrying an information field it may not carry
    /// (§5.8.5 b, c: incorrect length).
    #[error("information field not permitted in {0}")]
    InfoNotPermitted(&'static str),
}

/// A LAPD frame, borrowing its information field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    /// SAPI.
    pub sapi: Sapi,
    /// The C/R bit as it is on the wire (its meaning depends on the sender's side,
    /// §3.3.2).
    pub cr: bool,
    /// TEI (§3.3.4); 0 on point-to-point PRI, 127 the group TEI.
    pub tei: u8,
    /// Control field.
    pub control: Control,
    /// Information field (I, UI, FRMR, XID).
    pub info: &'a [u8],
}

impl<'a> Frame<'a> {
    /// Decodes a frame from the address octet up to (not including) the FCS.
    pub fn decode(bytes: &'a [u8]) -> Result<Self, FrameError> {
        let (&a0, &a1, &c0) = match bytes {
            [a0, a1, c0, ..] => (a0, a1, c0),
            _ => return Err(FrameError::Truncated(bytes.len())),
        };
        if a0 & 1 != 0 || a1 & 1 != 1 {
            return Err(FrameError::BadAddress);
        }
        let sapi = Sapi(a0 >> 2);
        let cr = a0 & 2 != 0;
        let tei = a1 >> 1;
        let two = |bytes: &'a [u8]| -> Result<(u8, &'a [u8]), FrameError> {
            match bytes.get(3) {
                Some(&c1) => Ok((c1, &bytes[4..])),
                None => Err(FrameError::Truncated(bytes.len())),
            }
        };
        let (control, info) = if c0 & 1 == 0 {
            let (c1, info) = two(bytes)?;
            (
                Control::I {
                    ns: c0 >> 1,
                    nr: c1 >> 1,
                    p: c1 & 1 != 0,
                },
                info,
            )
        } else if c0 & 3 == 1 {
            let (c1, info) = two(bytes)?;
            let func = SFunction((c0 >> 2) & 3);
            if c0 & 0xF0 != 0 || !func.is_known() {
                return Err(FrameError::UndefinedControl(c0));
            }
            if !info.is_empty() {
                return Err(FrameError::InfoNotPermitted(func.name().unwrap_or("S")));
            }
            (
                Control::S {
                    func,
                    nr: c1 >> 1,
                    pf: c1 & 1 != 0,
                },
                info,
            )
        } else {
            let func = UFunction(c0 & !U_PF);
            let row = u_row(func).ok_or(FrameError::UndefinedControl(c0))?;
            let info = &bytes[3..];
            if !row.info && !info.is_empty() {
                return Err(FrameError::InfoNotPermitted(func.name().unwrap_or("U")));
            }
            (
                Control::U {
                    func,
                    pf: c0 & U_PF != 0,
                },
                info,
            )
        };
        Ok(Frame {
            sapi,
            cr,
            tei,
            control,
            info,
        })
    }

    /// Appends the frame's octets to `out`. Sequence numbers are taken modulo 128 and the
    /// SAPI modulo 64, TEI modulo 128.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push((self.sapi.0 & 0x3F) << 2 | u8::from(self.cr) << 1);
        out.push((self.tei & 0x7F) << 1 | 1);
        match self.control {
            Control::I { ns, nr, p } => {
                out.push((ns & 0x7F) << 1);
                out.push((nr & 0x7F) << 1 | u8::from(p));
            }
            Control::S { func, nr, pf } => {
                out.push((func.0 & 3) << 2 | 1);
                out.push((nr & 0x7F) << 1 | u8::from(pf));
            }
            Control::U { func, pf } => out.push(func.0 & !U_PF | 3 | if pf { U_PF } else { 0 }),
        }
        out.extend_from_slice(self.info);
    }

    /// Short name of the frame type for logs ("I", "RR", "SABME", ...).
    pub fn kind(&self) -> &'static str {
        match self.control {
            Control::I { .. } => "I",
            Control::S { func, .. } => func.name().unwrap_or("S?"),
            Control::U { func, .. } => func.name().unwrap_or("U?"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_octets() {
        // SABME P=1 from the network side (command, C/R=1), SAPI 0, TEI 0.
        let f = Frame::decode(&[0x02, 0x01, 0x7F]).unwrap();
        assert_eq!(f.sapi, Sapi::CALL_CONTROL);
        assert!(f.cr);
        assert_eq!(f.tei, 0);
        assert_eq!(
            f.control,
            Control::U {
                func: UFunction::SABME,
                pf: true
            }
        );
        // UA F=1.
        let f = Frame::decode(&[0x00, 0x01, 0x73]).unwrap();
        assert_eq!(
            f.control,
            Control::U {
                func: UFunction::UA,
                pf: true
            }
        );
        // I frame N(S)=5 N(R)=3 P=0 with two octets of information.
        let f = Frame::decode(&[0x00, 0x01, 0x0A, 0x06, 0x08, 0x02]).unwrap();
        assert_eq!(
            f.control,
            Control::I {
                ns: 5,
                nr: 3,
                p: false
            }
        );
        assert_eq!(f.info, &[0x08, 0x02]);
        // RNR N(R)=127 F=1, REJ N(R)=0.
        let f = Frame::decode(&[0x02, 0x01, 0x05, 0xFF]).unwrap();
        assert_eq!(
            f.control,
            Control::S {
                func: SFunction::RNR,
                nr: 127,
                pf: true
            }
        );
        assert_eq!(f.kind(), "RNR");
        let f = Frame::decode(&[0x02, 0x01, 0x09, 0x00]).unwrap();
        assert_eq!(f.kind(), "REJ");
        // Group TEI 127, management SAPI 63, UI.
        let f = Frame::decode(&[0xFC, 0xFF, 0x03, 0x0F]).unwrap();
        assert_eq!((f.sapi, f.tei), (Sapi::MANAGEMENT, 127));
        assert_eq!(f.info, &[0x0F]);
    }

    #[test]
    fn errors() {
        assert_eq!(Frame::decode(&[0x00, 0x01]), Err(FrameError::Truncated(2)));
        assert_eq!(
            Frame::decode(&[0x00, 0x01, 0x00]),
            Err(FrameError::Truncated(3))
        );
        assert_eq!(
            Frame::decode(&[0x01, 0x01, 0x7F]),
            Err(FrameError::BadAddress)
        );
        assert_eq!(
            Frame::decode(&[0x00, 0x00, 0x7F]),
            Err(FrameError::BadAddress)
        );
        assert_eq!(
            Frame::decode(&[0x00, 0x01, 0x0D, 0x00]),
            Err(FrameError::UndefinedControl(0x0D))
        );
        assert_eq!(
            Frame::decode(&[0x00, 0x01, 0x01, 0x00, 0x55]),
            Err(FrameError::InfoNotPermitted("RR"))
        );
        assert_eq!(
            Frame::decode(&[0x00, 0x01, 0x7F, 0x55]),
            Err(FrameError::InfoNotPermitted("SABME"))
        );
        assert_eq!(
            Frame::decode(&[0x00, 0x01, 0x1B]),
            Err(FrameError::UndefinedControl(0x1B))
        );
    }

    fn control() -> impl Strategy<Value = Control> {
        prop_oneof![
            (0u8..128, 0u8..128, any::<bool>()).prop_map(|(ns, nr, p)| Control::I { ns, nr, p }),
            (0u8..3, 0u8..128, any::<bool>()).prop_map(|(f, nr, pf)| Control::S {
                func: SFunction(f),
                nr,
                pf
            }),
            (0usize..U_FRAMES.len(), any::<bool>()).prop_map(|(i, pf)| Control::U {
                func: U_FRAMES[i].func,
                pf
            }),
        ]
    }

    proptest! {
        #[test]
        fn round_trip(sapi in 0u8..64, cr in any::<bool>(), tei in 0u8..128, control in control(),
                      info in proptest::collection::vec(any::<u8>(), 0..300)) {
            let carries = match control {
                Control::I { .. } => true,
                Control::S { .. } => false,
                Control::U { func, .. } => u_row(func).is_some_and(|r| r.info),
            };
            let info = if carries { &info[..] } else { &[][..] };
            let f = Frame { sapi: Sapi(sapi), cr, tei, control, info };
            let mut out = Vec::new();
            f.encode(&mut out);
            prop_assert_eq!(Frame::decode(&out), Ok(f));
        }

        #[test]
        fn decode_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(f) = Frame::decode(&bytes) {
                let mut out = Vec::new();
                f.encode(&mut out);
                prop_assert_eq!(out, bytes);
            }
        }
    }
}
