//! Message framing, Q.931 §4.1-4.5: protocol discriminator, call reference, message type,
//! then information elements in the order received.

use super::call_ref::CallReference;
use super::codeset::CodesetTracker;
use super::dialect::Dialect;
use super::element::InfoElement;
use super::error::{DecodeError, IeError, IeTooLong};
use super::ie_id::IeId;
use super::msg_type::MessageType;
use super::typed::IeCodec;

/// A Q.931 (or H.225.0) message.
///
/// Elements are kept as received, in order, unknown ones and other codesets included;
/// typed views are decoded on demand ([`Message::get`]), so [`Message::encode`] gives back
/// the received bytes exactly unless an element was changed. Encoding cannot fail: every
/// way of adding an element checks that its length fits the dialect's length field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Protocol discriminator (§4.2), 0x08 for Q.931 and H.225.0.
    pub protocol: u8,
    /// Call reference (§4.3).
    pub call_ref: CallReference,
    /// Message type (§4.4).
    pub msg_type: MessageType,
    dialect: Dialect,
    ies: Vec<InfoElement>,
}

impl Message {
    /// An empty message of the dialect's first protocol discriminator.
    pub fn new(dialect: Dialect, call_ref: CallReference, msg_type: MessageType) -> Self {
        Message {
            protocol: dialect.protocols.first().copied().unwrap_or(0x08),
            call_ref,
            msg_type,
            dialect,
            ies: Vec::new(),
        }
    }

    /// The dialect the message was decoded or built in.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Decodes one message that fills `bytes` (§4.1).
    pub fn decode(bytes: &[u8], dialect: Dialect) -> Result<Self, DecodeError> {
        let protocol = *bytes.first().ok_or(DecodeError::Truncated {
            what: "protocol discriminator",
            offset: 0,
        })?;
        if !dialect.protocols.contains(&protocol) {
            return Err(DecodeError::BadProtocolDiscriminator(protocol));
        }
        let crl = *bytes.get(1).ok_or(DecodeError::Truncated {
            what: "call reference length",
            offset: 1,
        })?;
        if crl & 0xF0 != 0 {
            return Err(DecodeError::BadCallReferenceLength(crl));
        }
        let cr_end = 2 + usize::from(crl);
        let cr = bytes.get(2..cr_end).ok_or(DecodeError::Truncated {
            what: "call reference",
            offset: 2,
        })?;
        let call_ref = CallReference::from_octets(cr);
        let msg_type = MessageType(*bytes.get(cr_end).ok_or(DecodeError::Truncated {
            what: "message type",
            offset: cr_end,
        })?);
        let mut ies = Vec::new();
        let mut tracker = CodesetTracker::new();
        let mut pos = cr_end + 1;
        while let Some(&octet) = bytes.get(pos) {
            let codeset = tracker.next(octet);
            if octet & 0x80 != 0 {
                ies.push(InfoElement::single(octet));
                pos += 1;
                continue;
            }
            let width = dialect.length_octets(codeset, octet);
            let len_at = pos + 1;
            let len_octets = bytes
                .get(len_at..len_at + width)
                .ok_or(DecodeError::Truncated {
                    what: "information element length",
                    offset: len_at,
                })?;
            let length = len_octets
                .iter()
                .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
            let start = len_at + width;
            let content = bytes
                .get(start..start + length)
                .ok_or(DecodeError::BadIeLength {
                    id: octet,
                    offset: pos,
                    length,
                    available: bytes.len() - start,
                })?;
            ies.push(InfoElement::variable(octet, content.to_vec()));
            pos = start + length;
        }
        Ok(Message {
            protocol,
            call_ref,
            msg_type,
            dialect,
            ies,
        })
    }

    /// Encodes the message.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(
            8 + self
                .ies
                .iter()
                .map(|ie| 3 + ie.content().len())
                .sum::<usize>(),
        );
        self.encode_into(&mut out);
        out
    }

    /// Appends the encoded message to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.push(self.protocol);
        self.call_ref.encode(out);
        out.push(self.msg_type.0);
        let mut tracker = CodesetTracker::new();
        for ie in &self.ies {
            let codeset = tracker.next(ie.octet());
            out.push(ie.octet());
            if ie.is_single_octet() {
                continue;
            }
            let len = ie.content().len();
            // Lengths were checked against the field width when the element was added or
            // decoded, so these casts keep every bit.
            match self.dialect.length_octets(codeset, ie.octet()) {
                2 => out.extend_from_slice(&(len as u16).to_be_bytes()),
                _ => out.push(len as u8),
            }
            out.extend_from_slice(ie.content());
        }
    }

    /// All elements in wire order.
    pub fn ies(&self) -> &[InfoElement] {
        &self.ies
    }

    /// All elements with the codeset each is in (§4.5.2).
    pub fn ies_with_codeset(&self) -> impl Iterator<Item = (u8, &InfoElement)> {
        let mut tracker = CodesetTracker::new();
        self.ies
            .iter()
            .map(move |ie| (tracker.next(ie.octet()), ie))
    }

    /// Codeset-0 elements with key `id`, in order.
    pub fn find_all(&self, id: IeId) -> impl Iterator<Item = &InfoElement> {
        self.ies_with_codeset()
            .filter(move |(cs, ie)| *cs == 0 && ie.id() == id)
            .map(|(_, ie)| ie)
    }

    /// The first codeset-0 element with key `id`.
    pub fn find(&self, id: IeId) -> Option<&InfoElement> {
        self.find_all(id).next()
    }

    /// True when a codeset-0 element with key `id` is present.
    pub fn has(&self, id: IeId) -> bool {
        self.find(id).is_some()
    }

    /// Typed view of the first codeset-0 element of type `T`: `None` when absent.
    pub fn get<T: IeCodec>(&self) -> Option<Result<T, IeError>> {
        self.find(T::ID).map(T::decode)
    }

    /// Typed views of every codeset-0 element of type `T`, in order.
    pub fn get_all<T: IeCodec>(&self) -> impl Iterator<Item = Result<T, IeError>> {
        self.find_all(T::ID).map(T::decode)
    }

    /// Appends an element after all others (in whatever codeset is active there).
    pub fn push(&mut self, ie: InfoElement) -> Result<&mut Self, IeTooLong> {
        let codeset = self.tracker_at(self.ies.len()).current();
        self.check_fits(codeset, &ie)?;
        self.ies.push(ie);
        Ok(self)
    }

    /// Sets the codeset-0 element of type `T`: replaces the first one present, or
    /// inserts it in ascending identifier order before any shift (§4.5.1).
    pub fn set<T: IeCodec>(&mut self, value: &T) -> Result<&mut Self, IeTooLong> {
        let ie = value.encode();
        self.check_fits(0, &ie)?;
        let existing = self
            .ies_with_codeset()
            .position(|(cs, e)| cs == 0 && e.id() == T::ID);
        match existing {
            Some(i) => self.ies[i] = ie,
            None => {
                let at = self.insert_position(&ie);
                self.ies.insert(at, ie);
            }
        }
        Ok(self)
    }

    /// Adds one more codeset-0 element of type `T` (e.g. a second Progress indicator),
    /// after those with the same or a lower identifier.
    pub fn add<T: IeCodec>(&mut self, value: &T) -> Result<&mut Self, IeTooLong> {
        let ie = value.encode();
        self.check_fits(0, &ie)?;
        let at = self.insert_position(&ie);
        self.ies.insert(at, ie);
        Ok(self)
    }

    /// Removes every codeset-0 element with key `id` (and a non-locking shift that pointed
    /// at it); returns how many elements were removed.
    pub fn remove(&mut self, id: IeId) -> usize {
        let before = self.ies.len();
        let mut tracker = CodesetTracker::new();
        let mut keep = vec![true; self.ies.len()];
        for (i, ie) in self.ies.iter().enumerate() {
            let pending_once = i > 0 && matches!(self.ies[i - 1].shift(), Some((false, _)));
            let cs = tracker.next(ie.octet());
            if cs == 0 && ie.shift().is_none() && ie.id() == id {
                keep[i] = false;
                if pending_once {
                    keep[i - 1] = false;
                }
            }
        }
        let mut flags = keep.into_iter();
        // One flag per element: the iterator has exactly `before` items.
        self.ies.retain(|_| flags.next().unwrap_or(true));
        before - self.ies.len()
    }

    fn tracker_at(&self, index: usize) -> CodesetTracker {
        let mut tracker = CodesetTracker::new();
        for ie in &self.ies[..index] {
            tracker.next(ie.octet());
        }
        tracker
    }

    fn check_fits(&self, codeset: u8, ie: &InfoElement) -> Result<(), IeTooLong> {
        if ie.is_single_octet() {
            return Ok(());
        }
        let max = self.dialect.max_content(codeset, ie.octet());
        if ie.content().len() > max {
            return Err(IeTooLong {
                ie: ie.id(),
                length: ie.content().len(),
                max,
            });
        }
        Ok(())
    }

    /// Where a new codeset-0 element goes: before the first shift, and for variable-length
    /// elements before the first variable-length element with a higher identifier.
    fn insert_position(&self, ie: &InfoElement) -> usize {
        self.ies
            .iter()
            .position(|e| {
                e.shift().is_some()
                    || (!ie.is_single_octet() && !e.is_single_octet() && e.octet() > ie.octet())
            })
            .unwrap_or(self.ies.len())
    }
}
