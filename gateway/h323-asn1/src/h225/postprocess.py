#!/usr/bin/env python3
"""Post-processes rasn-compiler output for H.225.0 into src/h225/generated.rs.

The whole generation, run from gateway/h323-asn1/src/h225/ (the generator is a throwaway
program outside the repo: a `main` that feeds the .asn files given on its command line to
`rasn_compiler::prelude::Compiler::<RasnBackend, _>::new_with_config(RasnConfig {
generate_from_impls: true, ..Default::default() })` and writes the output path given first,
with `rasn-compiler = "=0.16.0"`):

    h225gen /tmp/h225_gen.rs h235.asn h245-imports.asn h323-messages.asn
    rustfmt --edition 2024 /tmp/h225_gen.rs
    python3 postprocess.py /tmp/h225_gen.rs generated.rs
    rustfmt --edition 2024 generated.rs

The generator, whole (`src/main.rs` of a throwaway crate depending on
`rasn-compiler = "=0.16.0"`):

    use rasn_compiler::prelude::*;
    use std::path::PathBuf;
    fn main() {
        let args: Vec<String> = std::env::args().collect();
        let inputs: Vec<PathBuf> = args[2..].iter().map(PathBuf::from).collect();
        let cfg = RasnConfig { generate_from_impls: true, ..Default::default() };
        match Compiler::<RasnBackend, _>::new_with_config(cfg)
            .add_asn_sources_by_path(inputs.iter())
            .set_output_path(PathBuf::from(&args[1]))
            .compile()
        {
            Ok(warnings) => warnings.iter().for_each(|w| eprintln!("warning: {w}")),
            Err(e) => { eprintln!("error: {e}"); std::process::exit(1) }
        }
    }

What this script changes (and nothing else):
1. rasn 0.30 encodes an extension addition, and any field or alternative with
   constraints of its own, with the constraints written on the field only: a constrained
   delegate type used there (RCF `timeToLive`, `endpointIdentifier`, the permitted
   alphabet of `TBCD-STRING (SIZE (3..16))` in ANSI-41-UIM, ...) would lose the
   delegate's constraints. Every field or alternative of a constrained delegate type gets
   the delegate's constraints it does not already carry (PEERS.md section 8).
2. Extension additions the ASN.1 declares mandatory (Setup `mediaWaitForConnect`,
   H323-UU-PDU `h245Tunnelling`, RRQ `keepAlive`, ...) become `Option`: a peer of an
   older version (v2 RRQ, v4 Setup) sends a shorter extension bitmap without them, which
   rasn 0.30 would reject as "required extension not present". Encoders built on these
   types should always set them.
3. Each type gets a doc comment naming the ASN.1 type it stands for.
4. The first line records the command above.
(`#[non_exhaustive]` stays: it is how rasn marks a type extensible `...`; build such
structs with their generated `new` or the helpers.)
"""
import re
import sys

src, dst = sys.argv[1], sys.argv[2]
raw = open(src, encoding="utf-8").read().split("\n")
# Join attributes rustfmt split over several lines.
lines = []
for line in raw:
    if lines and lines[-1].lstrip().startswith("#[") and not lines[-1].rstrip().endswith("]"):
        lines[-1] = lines[-1].rstrip() + " " + line.strip()
        lines[-1] = lines[-1].replace("( ", "(").replace(", )", ")").replace(",)", ")")
    else:
        lines.append(line)

MODULES = {
    "h235_security_messages": "H235-SECURITY-MESSAGES",
    "multimedia_system_control": "MULTIMEDIA-SYSTEM-CONTROL",
    "h323_messages": "H323-MESSAGES",
}

# Pass 1: delegate constraints and type headers.
delegate_constraint = {}  # (module, name) -> constraint text like 'value("1..=4294967295")'
type_re = re.compile(r"^\s*pub (struct|enum) (\w+)")
mod_re = re.compile(r"^pub mod (\w+)")
module = None
for i, line in enumerate(lines):
    m = mod_re.match(line)
    if m:
        module = m.group(1)
    m = type_re.match(line)
    if m and i > 0:
        attr = lines[i - 1].strip()
        if attr.startswith("#[rasn(delegate"):
            inner = attr[len("#[rasn(") : -2]
            parts = [p.strip() for p in re.split(r",\s*(?![^()]*\))", inner)]
            cons = [p for p in parts if p.startswith(("value(", "size(", "from("))]
            if cons:
                delegate_constraint[(module, m.group(2))] = ", ".join(cons)

# Pass 2: container of each inner type, for doc comments.
bodies = {}  # (module, name) -> list of (asn field identifier, type text)
module = None
current = None
pending_ident = None
for line in lines:
    m = mod_re.match(line)
    if m:
        module = m.group(1)
        continue
    m = type_re.match(line)
    if m:
        current = (module, m.group(2))
        bodies[current] = []
        pending_ident = None
        continue
    s = line.strip()
    if current is None:
        continue
    if s.startswith("#[rasn(") and "identifier" in s:
        im = re.search(r'identifier = "([^"]+)"', s)
        pending_ident = im.group(1) if im else None
        continue
    fm = re.match(r"pub (\w+): (.+),$", s) or re.match(r"(\w+)\((.+)\),$", s)
    if fm:
        bodies[current].append((pending_ident or fm.group(1), fm.group(2)))
        pending_ident = None
    if s == "}":
        current = None


def asn_name(module, name, attrs):
    for a in attrs:
        im = re.search(r'identifier = "([^"]+)"', a)
        if im and "delegate" not in a or (im and im.group(1) not in ("IA5String", "BMPString")):
            if im:
                return im.group(1)
    return name


# Pass 3: rewrite.
out = []
module = None
i = 0
asn_names = {}
# Collect attrs per type first to know ASN.1 names of containers.
for idx, line in enumerate(lines):
    m = mod_re.match(line)
    if m:
        module = m.group(1)
    m = type_re.match(line)
    if m:
        attrs = []
        j = idx - 1
        while j >= 0 and lines[j].strip().startswith("#["):
            attrs.append(lines[j].strip())
            j -= 1
        asn_names[(module, m.group(2))] = asn_name(module, m.group(2), attrs)


def container_of(module, name):
    for (mod2, parent), fields in bodies.items():
        if mod2 != module or parent == name:
            continue
        for ident, ty in fields:
            if re.search(r"\b%s\b" % re.escape(name), ty):
                return parent, ident
    return None


def doc_for(module, name, attrs):
    modname = MODULES.get(module, module)
    inner = any("Inner type" in a or "Anonymous SEQUENCE OF member" in a for a in attrs)
    if inner:
        c = container_of(module, name)
        if c:
            parent, ident = c
            pa = asn_names.get((module, parent), parent)
            if any("Anonymous SEQUENCE OF member" in a for a in attrs):
                return f"/// ASN.1 ({modname}): element type of the SEQUENCE OF `{pa}.{ident}`."
            return f"/// ASN.1 ({modname}): the type written inline as `{pa}.{ident}`."
        return f"/// ASN.1 ({modname}): a type written inline in the module."
    return f"/// ASN.1 ({modname}): `{asn_names.get((module, name), name)}`."


module = None
current_impl = None
current_struct = None
optionalised = set()
pending_attrs_start = None
field_attr_idx = None
for idx, line in enumerate(lines):
    m = mod_re.match(line)
    if m:
        module = m.group(1)
    s = line.strip()
    m = type_re.match(line)
    if m:
        # find attr block start in `out`
        k = len(out) - 1
        attrs = []
        while k >= 0 and out[k].strip().startswith("#["):
            attrs.append(out[k].strip())
            k -= 1
        indent = re.match(r"^(\s*)", line).group(1)
        # drop generated doc attrs and struct non_exhaustive
        block = out[k + 1 :]
        del out[k + 1 :]
        block = [b for b in block if not b.strip().startswith("#[doc")]
        current_struct = m.group(2)
        out.append(indent + doc_for(module, m.group(2), attrs))
        out.extend(block)
        out.append(line)
        continue
    im = re.match(r"^\s*impl (\w+) \{$", line)
    if im:
        current_impl = im.group(1)
    if "pub fn new(" in line and line.rstrip().endswith(") -> Self {"):
        for mod2, st, field in optionalised:
            if mod2 == module and st == current_impl:
                line = re.sub(r"\b(%s: )([^,()]+)" % field, r"\1Option<\2>", line)
    pm = re.match(r"^(\s*)(\w+): (.+),$", line)
    if pm and (module, current_impl, pm.group(2)) in optionalised and not line.lstrip().startswith("pub"):
        out.append(f"{pm.group(1)}{pm.group(2)}: Option<{pm.group(3)}>,")
        continue
    xm = re.match(r"^(\s*)pub (\w+): (.+),$", line)
    if (
        xm
        and out
        and out[-1].strip().startswith("#[rasn(")
        and "extension_addition" in out[-1]
        and not xm.group(3).startswith("Option<")
    ):
        optionalised.add((module, current_struct, xm.group(2)))
        line = f"{xm.group(1)}pub {xm.group(2)}: Option<{xm.group(3)}>,"
    fm = re.match(r"^(\s*)pub (\w+): (Option<)?(\w+)>?,$", line) or re.match(
        r"^(\s*)(\w+)\((\w+)\),$", line
    )
    if fm:
        ty = fm.group(fm.lastindex)
        cons = delegate_constraint.get((module, ty))
        if cons:
            parts = re.split(r",\s*(?![^()]*\))", cons)
            prev = out[-1] if out else ""
            if prev.strip().startswith("#[rasn(") and prev.rstrip().endswith(")]"):
                missing = [c for c in parts if c.split("(")[0] + "(" not in prev]
                if missing:
                    out[-1] = prev.rstrip()[:-2] + ", " + ", ".join(missing) + ")]"
            else:
                out.append(fm.group(1) + "#[rasn(" + ", ".join(parts) + ")]")
    out.append(line)

header = (
    "// Generated: (cd gateway/h323-asn1/src/h225 && h225gen /tmp/h225_gen.rs h235.asn "
    "h245-imports.asn h323-messages.asn && rustfmt --edition 2024 /tmp/h225_gen.rs && "
    "python3 postprocess.py /tmp/h225_gen.rs generated.rs && rustfmt --edition 2024 "
    "generated.rs) -- rasn-compiler 0.16.0; see postprocess.py. Do not edit by hand."
)
open(dst, "w", encoding="utf-8").write(header + "\n" + "\n".join(out))
