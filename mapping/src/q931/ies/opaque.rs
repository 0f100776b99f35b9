//! Elements typed by name only, their contents kept as octets: High layer compatibility
//! (§4.5.17), Low layer compatibility (§4.5.19), the subaddresses (§4.5.9, §4.5.11).

use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{IeCodec, content_of};

macro_rules! opaque_ie {
    ($(#[$meta:meta])* $name:ident = $id:expr) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name(pub Vec<u8>);

        impl IeCodec for $name {
            const ID: IeId = $id;

            fn decode(ie: &InfoElement) -> Result<Self, IeError> {
                Ok($name(content_of(ie, Self::ID)?.to_vec()))
            }

            fn encode(&self) -> InfoElement {
                InfoElement::variable(Self::ID.0, self.0.clone())
            }
        }
    };
}

opaque_ie! {
    /// High layer compatibility (§4.5.17), contents raw.
    HighLayerCompatibility = IeId::HIGH_LAYER_COMPATIBILITY
}

opaque_ie! {
    /// Low layer compatibility (§4.5.19), contents raw.
    LowLayerCompatibility = IeId::LOW_LAYER_COMPATIBILITY
}
