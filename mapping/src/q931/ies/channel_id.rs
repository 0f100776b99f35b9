//! Channel identification, Q.931 §4.5.13 (Figure 4-18, Table 4-15).

use crate::q931::element::InfoElement;
use crate::q931::error::IeError;
use crate::q931::ie_id::IeId;
use crate::q931::typed::{
    CodingStandard, IeCodec, Octets, content_of, ext_group_values, push_ext_group,
};

crate::wire_enum! {
    /// Channel type / map element type, octet 3.2 bits 4-1.
    pub struct ChannelType(u8) {
        /// B-channel units.
        B_CHANNEL = 0x3 => "b-channel",
        /// H0-channel units.
        H0 = 0x6 => "h0-channel",
        /// H11-channel units.
        H11 = 0x8 => "h11-channel",
        /// H12-channel units.
        H12 = 0x9 => "h12-channel",
    }
}

/// Octets 3.2 and 3.3 (primary rate only): which channel(s).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelSpec {
    /// Octet 3.2 bits 7-6.
    pub coding_standard: CodingStandard,
    /// Octet 3.2 bit 5: false = channel numbers follow, true = a slot map follows.
    pub map: bool,
    /// Octet 3.2 bits 4-1.
    pub channel_type: ChannelType,
    /// Channel numbers (7-bit, one per octet 3.3) or slot-map octets (8 bits each).
    pub channels: Vec<u8>,
}

/// Channel identification element.
///
/// For an exact round trip `interface_id` is non-empty when present, `channel` is only
/// present on primary-rate interfaces and, when it lists numbers, lists at least one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ChannelId {
    /// Octet 3.1 interface identifier (7-bit values), when bit 7 of octet 3 says so.
    pub interface_id: Option<Vec<u8>>,
    /// Octet 3 bit 6: false = basic interface, true = other (primary rate) interface.
    pub primary: bool,
    /// Octet 3 bit 4: false = preferred, true = exclusive.
    pub exclusive: bool,
    /// Octet 3 bit 3: the D-channel is indicated.
    pub d_channel: bool,
    /// Octet 3 bits 2-1 information channel selection (BRI: 1 = B1, 2 = B2, 3 = any;
    /// PRI: 0 = no channel, 1 = as indicated in octets 3.2/3.3, 3 = any).
    pub selection: u8,
    /// Octets 3.2/3.3.
    pub channel: Option<ChannelSpec>,
}

impl ChannelId {
    /// A PRI B-channel by number (1-31), preferred or exclusive.
    pub fn pri_b_channel(number: u8, exclusive: bool) -> Self {
        ChannelId {
            interface_id: None,
            primary: true,
            exclusive,
            d_channel: false,
            selection: 1,
            channel: Some(ChannelSpec {
                coding_standard: CodingStandard::ITU_T,
                map: false,
                channel_type: ChannelType::B_CHANNEL,
                channels: vec![number & 0x7F],
            }),
        }
    }

    /// The B-channel numbers named (PRI numbers, or BRI selection 1/2), empty for "any".
    pub fn b_channels(&self) -> Vec<u8> {
        match (&self.channel, self.primary) {
            (Some(spec), true) if !spec.map => spec.channels.clone(),
            (None, false) if matches!(self.selection, 1 | 2) => vec![self.selection],
            _ => Vec::new(),
        }
    }
}

impl IeCodec for ChannelId {
    const ID: IeId = IeId::CHANNEL_IDENTIFICATION;

    fn decode(ie: &InfoElement) -> Result<Self, IeError> {
        let mut o = Octets::new(Self::ID, content_of(ie, Self::ID)?);
        let o3 = o.next()?;
        if o3 & 0x80 == 0 {
            return Err(o.invalid("octet 3 extension"));
        }
        let interface_id = if o3 & 0x40 != 0 {
            Some(ext_group_values(o.ext_group()?))
        } else {
            None
        };
        let primary = o3 & 0x20 != 0;
        let channel = match o.peek() {
            Some(_) if primary => {
                let o32 = o.next()?;
                if o32 & 0x80 == 0 {
                    return Err(o.invalid("octet 3.2 extension"));
                }
                let map = o32 & 0x10 != 0;
                let channels = if map {
                    o.take_rest().to_vec()
                } else {
                    ext_group_values(o.ext_group()?)
                };
                Some(ChannelSpec {
                    coding_standard: CodingStandard((o32 >> 5) & 0x03),
                    map,
                    channel_type: ChannelType(o32 & 0x0F),
                    channels,
                })
            }
            _ => None,
        };
        o.end()?;
        Ok(ChannelId {
            interface_id,
            primary,
            exclusive: o3 & 0x08 != 0,
            d_channel: o3 & 0x04 != 0,
            selection: o3 & 0x03,
            channel,
        })
    }

    fn encode(&self) -> InfoElement {
        let mut c = vec![
            0x80 | u8::from(self.interface_id.is_some()) << 6
                | u8::from(self.primary) << 5
                | u8::from(self.exclusive) << 3
                | u8::from(self.d_channel) << 2
                | (self.selection & 0x03),
        ];
        if let Some(iid) = &self.interface_id {
            push_ext_group(&mut c, iid);
        }
        if let Some(spec) = &self.channel {
            c.push(
                0x80 | (spec.coding_standard.0 & 0x03) << 5
                    | u8::from(spec.map) << 4
                    | (spec.channel_type.0 & 0x0F),
            );
            if spec.map {
                c.extend_from_slice(&spec.channels);
            } else {
                push_ext_group(&mut c, &spec.channels);
            }
        }
        InfoElement::variable(Self::ID.0, c)
    }
}
