//! `trunks:` the configured peers and lines. Each has a unique `name` and a `kind`
//! (`sip`, `h323`, `pri`, `ss7`, `r2`, `local`) whose own fields sit next to it:
//!
//! ```yaml
//! trunks:
//!   - name: carrier
//!     kind: sip
//!     remote: "sip.carrier.example:5060"
//! ```

mod h323;
mod local;
mod pri;
mod r2;
mod sip;
mod ss7;

pub use h323::{Gatekeeper, H323Dtmf, H323Trunk};
pub use local::{LocalAnswer, LocalTrunk};
pub use pri::{Law, PriSide, PriSwitch, PriTrunk};
pub use r2::{R2Category, R2Trunk, R2Variant};
pub use sip::{SipAuth, SipDtmf, SipRegister, SipTrunk, SipUser};
pub use ss7::{NetworkIndicator, Ss7Circuits, Ss7Link, Ss7Trunk, Ss7Variant};

use super::collect::collect;
use super::error::Problem;
use super::path::FieldPath;
use super::report::Report;
use super::tagged::{split_off, take_tag};
use serde::Deserialize;
use serde_yaml::Value;

/// The route table used by trunks that name none.
pub const DEFAULT_ROUTE_TABLE: &str = "default";

/// One trunk.
#[derive(Debug, Clone, PartialEq)]
pub struct Trunk {
    /// Unique name, used by routes (`egress`, `ingress`), CDRs and metrics.
    pub name: String,
    /// Route table for calls coming in on this trunk (`routes.<table>`); absent: the
    /// table `default`. A trunk whose table does not exist takes no incoming calls.
    pub route_table: Option<String>,
    /// Most simultaneous calls on this trunk (both directions); absent: no limit.
    pub max_calls: Option<u32>,
    /// The kind and its fields.
    pub params: TrunkParams,
}

impl Trunk {
    /// The route table for calls coming in on this trunk.
    pub fn route_table(&self) -> &str {
        self.route_table.as_deref().unwrap_or(DEFAULT_ROUTE_TABLE)
    }

    /// The span names this trunk uses (PRI, SS7, R2).
    pub fn spans(&self) -> Vec<&str> {
        match &self.params {
            TrunkParams::Pri(p) => vec![p.span.as_str()],
            TrunkParams::R2(r) => vec![r.span.as_str()],
            TrunkParams::Ss7(s) => {
                let mut v: Vec<&str> = s.links.iter().map(|l| l.span.as_str()).collect();
                v.extend(s.circuits.iter().map(|c| c.span.as_str()));
                v.sort_unstable();
                v.dedup();
                v
            }
            TrunkParams::Sip(_) | TrunkParams::H323(_) | TrunkParams::Local(_) => Vec::new(),
        }
    }
}

/// The kind of a trunk, with its own fields (`kind:` in YAML).
#[derive(Debug, Clone, PartialEq)]
pub enum TrunkParams {
    /// `kind: sip`.
    Sip(SipTrunk),
    /// `kind: h323`.
    H323(H323Trunk),
    /// `kind: pri`.
    Pri(PriTrunk),
    /// `kind: ss7`.
    Ss7(Ss7Trunk),
    /// `kind: r2`.
    R2(R2Trunk),
    /// `kind: local`: the built-in endpoint.
    Local(LocalTrunk),
}

impl TrunkParams {
    /// The `kind:` name.
    pub fn kind(&self) -> &'static str {
        match self {
            TrunkParams::Sip(_) => "sip",
            TrunkParams::H323(_) => "h323",
            TrunkParams::Pri(_) => "pri",
            TrunkParams::Ss7(_) => "ss7",
            TrunkParams::R2(_) => "r2",
            TrunkParams::Local(_) => "local",
        }
    }
}

/// The fields every kind has.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Common {
    name: String,
    #[serde(default)]
    route_table: Option<String>,
    #[serde(default)]
    max_calls: Option<u32>,
}

const COMMON_FIELDS: &[&str] = &["name", "route_table", "max_calls"];
const KINDS: &[&str] = &["sip", "h323", "pri", "ss7", "r2", "local"];

/// Reads the trunk at `path`, reporting every error.
pub(crate) fn load(mut value: Value, path: &FieldPath, report: &mut Report) -> Option<Trunk> {
    if !value.is_mapping() {
        report.problems.push(Problem::value(
            path.clone(),
            "expected a mapping with `name`, `kind` and the kind's fields",
        ));
        return None;
    }
    let kind = take_tag(&mut value, "kind", KINDS, path, report);
    let common = collect::<Common>(split_off(&mut value, COMMON_FIELDS), path, report);
    let params = match kind? {
        "sip" => collect(value, path, report).map(TrunkParams::Sip),
        "h323" => collect(value, path, report).map(TrunkParams::H323),
        "pri" => collect(value, path, report).map(TrunkParams::Pri),
        "ss7" => collect(value, path, report).map(TrunkParams::Ss7),
        "r2" => collect(value, path, report).map(TrunkParams::R2),
        "local" => collect(value, path, report).map(TrunkParams::Local),
        // take_tag returns one of KINDS.
        _ => None,
    }?;
    let common = common?;
    Some(Trunk {
        name: common.name,
        route_table: common.route_table,
        max_calls: common.max_calls,
        params,
    })
}
