//! The information-element registry (DESIGN.md practice 7): every typed element is
//! registered once, with its decoder, encoder and pretty-printer; names come from
//! [`IeId`]. Elements without a row (or in codesets other than 0) stay raw.

use core::fmt;

use super::element::InfoElement;
use super::error::IeError;
use super::ie_id::IeId;
use super::ies::*;
use super::typed::IeCodec;

/// A typed decoder of one element kind.
pub type DecodeFn = fn(&InfoElement) -> Result<IeValue, IeError>;

/// A pretty-printer of one element kind.
pub type PrettyFn = fn(&InfoElement, &mut fmt::Formatter<'_>) -> fmt::Result;

/// One registry row.
pub struct IeSpec {
    /// Identifier (codeset 0 key).
    pub id: IeId,
    /// Contents are personal data (numbers, names): logs print only their length.
    pub personal: bool,
    /// Typed decoder, `None` for elements we only name.
    pub decode: Option<DecodeFn>,
    /// Pretty-printer for logs (redacts personal data).
    pub pretty: PrettyFn,
}

impl IeSpec {
    /// The standard's name of the element.
    pub fn name(&self) -> &'static str {
        self.id.name().unwrap_or("unnamed")
    }
}

fn decode_as<T: IeCodec + Into<IeValue>>(ie: &InfoElement) -> Result<IeValue, IeError> {
    T::decode(ie).map(Into::into)
}

fn pretty_as<T: IeCodec + fmt::Debug>(ie: &InfoElement, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match T::decode(ie) {
        Ok(v) => write!(f, "{v:?}"),
        Err(e) => {
            write!(f, "<{:?}> ", e.kind)?;
            pretty_raw(ie, f)
        }
    }
}

fn pretty_raw(ie: &InfoElement, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if ie.is_single_octet() {
        write!(f, "0x{:02x}", ie.octet())
    } else {
        write!(f, "{:02x?}", ie.content())
    }
}

fn pretty_personal(ie: &InfoElement, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if crate::pii::redaction() {
        write!(f, "<{} octets>", ie.content().len())
    } else {
        pretty_raw(ie, f)
    }
}

macro_rules! registry {
    (
        typed { $( $variant:ident($ty:ty) = $personal:expr; )* }
        named { $( $id:ident = $named_personal:expr; )* }
    ) => {
        /// A typed element of any registered kind.
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum IeValue {
            $(
                #[doc = concat!("[`", stringify!($ty), "`]")]
                $variant($ty),
            )*
        }

        impl IeValue {
            /// The element's identifier.
            pub fn id(&self) -> IeId {
                match self {
                    $( IeValue::$variant(_) => <$ty as IeCodec>::ID, )*
                }
            }

            /// Encodes the element.
            pub fn encode(&self) -> InfoElement {
                match self {
                    $( IeValue::$variant(v) => v.encode(), )*
                }
            }
        }

        $(
            impl From<$ty> for IeValue {
                fn from(v: $ty) -> Self {
                    IeValue::$variant(v)
                }
            }
        )*

        /// Every registered element, typed ones first.
        pub static REGISTRY: &[IeSpec] = &[
            $(
                IeSpec {
                    id: <$ty as IeCodec>::ID,
                    personal: $personal,
                    decode: Some(decode_as::<$ty>),
                    pretty: pretty_as::<$ty>,
                },
            )*
            $(
                IeSpec {
                    id: IeId::$id,
                    personal: $named_personal,
                    decode: None,
                    pretty: if $named_personal { pretty_personal } else { pretty_raw },
                },
            )*
        ];
    };
}

registry! {
    typed {
        Shift(Shift) = false;
        MoreData(MoreData) = false;
        SendingComplete(SendingComplete) = false;
        CongestionLevel(CongestionLevel) = false;
        RepeatIndicator(RepeatIndicator) = false;
        BearerCapability(BearerCapability) = false;
        Cause(CauseIe) = false;
        CallState(CallState) = false;
        ChannelId(ChannelId) = false;
        Facility(Facility) = false;
        Progress(ProgressIndicator) = false;
        Notification(NotificationIndicator) = false;
        Display(Display) = true;
        DateTime(DateTime) = false;
        Keypad(KeypadFacility) = true;
        Signal(Signal) = false;
        Connected(ConnectedNumber) = true;
        Calling(CallingPartyNumber) = true;
        Called(CalledPartyNumber) = true;
        Redirecting(RedirectingNumber) = true;
        Restart(RestartIndicator) = false;
        LowLayer(LowLayerCompatibility) = false;
        HighLayer(HighLayerCompatibility) = false;
        UserUser(UserUser) = false;
    }
    named {
        SEGMENTED_MESSAGE = false;
        CALL_IDENTITY = false;
        NETWORK_SPECIFIC_FACILITIES = false;
        CONNECTED_SUBADDRESS = true;
        CALLING_PARTY_SUBADDRESS = true;
        CALLED_PARTY_SUBADDRESS = true;
        REDIRECTION_NUMBER = true;
        TRANSIT_NETWORK_SELECTION = false;
    }
}

/// The registry row of a codeset-0 element.
pub fn lookup(id: IeId) -> Option<&'static IeSpec> {
    REGISTRY.iter().find(|spec| spec.id == id)
}

/// True when the element's contents are personal data (numbers, names, keypad digits).
pub fn is_personal(id: IeId) -> bool {
    lookup(id).is_some_and(|spec| spec.personal)
}

/// Pretty-prints one codeset-0 element through its registry row (raw hex when unknown).
pub fn pretty(ie: &InfoElement, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    match lookup(ie.id()) {
        Some(spec) => (spec.pretty)(ie, f),
        None => pretty_raw(ie, f),
    }
}

/// Pretty-prints an element of another codeset: its contents are unknown to us and may
/// be personal, so only the length is shown while redaction is on.
pub fn pretty_other_codeset(ie: &InfoElement, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if ie.is_single_octet() {
        pretty_raw(ie, f)
    } else {
        pretty_personal(ie, f)
    }
}
