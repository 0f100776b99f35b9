#!/usr/bin/env python3
"""Regenerates generated.rs from MULTIMEDIA-SYSTEM-CONTROL.asn (our own ASN.1 text).

Usage (from anywhere):  python3 gateway/h323-asn1/src/h245/generate.py [RASN_COMPILER_CLI]

Needs rasn-compiler 0.16.0's CLI (`cargo install rasn-compiler --version =0.16.0
--features cli`, binary `rasn_compiler_cli`) and rustfmt. The compiler's output is
formatted and then patched here, never by hand:

1. ASN.1 comments that the compiler turned into doc attributes are dropped; every type
   gets a doc line naming the ASN.1 type (or, for an anonymous inner type, where it sits).
2. rasn 0.30 pitfall (shared/PEERS.md section 8): on an extension addition (SEQUENCE
   field or CHOICE alternative) whose type is a constrained type reference (a delegate
   newtype such as LogicalChannelNumber), the reference's constraint is ignored and the
   value is encoded unconstrained. The constraint is copied onto the field itself.
3. A mandatory (non-OPTIONAL) SEQUENCE extension addition is generated as a plain field,
   which rasn 0.30 then requires on decode; but a peer built on an older version of
   the module leaves it out (X.691: every extension addition may be absent). Such fields
   become `Option<T>` (in `new` too), which encodes identically when present.
"""
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ASN = "MULTIMEDIA-SYSTEM-CONTROL.asn"
CLI = sys.argv[1] if len(sys.argv) > 1 else "rasn_compiler_cli"


def main():
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.rs")
        cmd = [CLI, "-m", ASN, "-o", raw]
        subprocess.run(cmd, cwd=HERE, check=True)
        subprocess.run(["rustfmt", "--edition", "2024", raw], check=True)
        src = open(raw).read()

    # 1a. drop compiler docs taken from comments (possibly multi-line strings)
    src = re.sub(r'^\s*#\[doc = "(?:[^"\\]|\\.)*"\]\n', "", src, flags=re.M)

    # 2. field-level constraints on extension additions of constrained references
    deleg = {}
    for m in re.finditer(r"#\[rasn\(delegate, ([^\]]*)\)\]\s*pub struct (\w+)", src):
        deleg[m.group(2)] = m.group(1)

    def fix(m):
        attrs, rest = m.group(1), m.group(2)
        ty = re.match(r"\s*(?:pub )?\w+\s*[:(]\s*(?:Option<)?(\w+)", rest)
        if ty and ty.group(1) in deleg and "value(" not in attrs and "size(" not in attrs:
            attrs = attrs.replace("extension_addition", "extension_addition, " + deleg[ty.group(1)], 1)
            PATCHED.append(ty.group(1))
        return "#[rasn(" + attrs + ")]" + rest

    PATCHED = []
    src = re.sub(r"#\[rasn\(((?:[^\]\"]|\"[^\"]*\")*extension_addition(?:[^\]\"]|\"[^\"]*\")*)\)\]((?:\s*(?:pub )?\w+\s*[:(][^\n]*))",
                 fix, src)

    # 3. mandatory extension additions become Option<T>
    chunks = re.split(r"(?m)^(?=    #\[derive\()", src)
    WRAPPED = []
    for k, chunk in enumerate(chunks):
        fields = []

        def wrap(m):
            attrs, name, ty = m.group(1), m.group(2), m.group(3)
            if ty.startswith("Option<"):
                return m.group(0)
            fields.append((name, ty))
            return "%s        pub %s: Option<%s>,\n" % (attrs, name, ty)

        chunk = re.sub(r"(#\[rasn\((?:[^\]\"]|\"[^\"]*\")*extension_addition(?:[^\]\"]|\"[^\"]*\")*\)\]\n)"
                       r"        pub (\w+): ([^\n]+),\n", wrap, chunk)
        if fields:
            head, sep, tail = chunk.partition("pub fn new(")
            for name, ty in fields:
                tail = re.sub(r"\b%s: %s([,)])" % (re.escape(name), re.escape(ty)),
                              lambda mm: "%s: Option<%s>%s" % (name, ty, mm.group(1)), tail, count=1)
            chunk = head + sep + tail
            WRAPPED.extend(n for n, _ in fields)
        chunks[k] = chunk
    src = "".join(chunks)
    print("mandatory extension additions made optional:", len(WRAPPED))

    # 1b. doc lines naming the ASN.1 type
    asn_text = open(os.path.join(HERE, ASN)).read()
    toplevel = set(re.findall(r"^([A-Z][\w-]*)\s*::=", asn_text, flags=re.M))
    lines = src.split("\n")
    items = []  # (derive line index, name)
    for i, line in enumerate(lines):
        if line.startswith("    #[derive("):
            for j in range(i + 1, min(i + 6, len(lines))):
                m = re.match(r"    pub (?:struct|enum) (\w+)", lines[j])
                if m:
                    items.append((i, m.group(1)))
                    break
    bodies = {}
    for k, (i, name) in enumerate(items):
        end = items[k + 1][0] if k + 1 < len(items) else len(lines)
        bodies[name] = "\n".join(lines[i:end])

    def where_used(name):
        for other, body in bodies.items():
            if other == name:
                continue
            for bl in body.split("\n"):
                if re.search(r"\b%s\b" % re.escape(name), bl) and not bl.lstrip().startswith(("impl", "pub fn", "Self")):
                    f = re.match(r"\s*(?:pub )?(\w+)\s*[:(]", bl)
                    if f and f.group(1) not in ("struct", "enum"):
                        return other, f.group(1)
                    return other, None
        return None, None

    out = []
    docs = {}
    for i, name in items:
        if name in toplevel:
            docs[i] = "    /// ASN.1 `%s` (H.245 MULTIMEDIA-SYSTEM-CONTROL)." % name
        else:
            parent, field = where_used(name)
            if parent and field:
                docs[i] = "    /// ASN.1: the anonymous type of `%s` in [`%s`] (H.245)." % (field, parent)
            elif parent:
                docs[i] = "    /// ASN.1: the anonymous element type of [`%s`] (H.245)." % parent
            else:
                docs[i] = "    /// ASN.1: anonymous inner type (H.245)."
    for i, line in enumerate(lines):
        if i in docs:
            out.append(docs[i])
        out.append(line)
    src = "\n".join(out)

    header = (
        "// @generated by `python3 gateway/h323-asn1/src/h245/generate.py`, which runs\n"
        "// `rasn_compiler_cli -m MULTIMEDIA-SYSTEM-CONTROL.asn -o <tmp>` (rasn-compiler 0.16.0, in src/h245/),\n"
        "// rustfmt, and the patches documented in generate.py. Do not edit by hand.\n"
        "// Patched extension additions (field-level constraints): %s\n" % ", ".join(sorted(set(PATCHED)))
        + "// Mandatory extension additions made Option: %d\n" % len(WRAPPED)
    )
    open(os.path.join(HERE, "generated.rs"), "w").write(header + src)
    subprocess.run(["rustfmt", "--edition", "2024", os.path.join(HERE, "generated.rs")], check=True)
    print("patched extension additions:", len(PATCHED), sorted(set(PATCHED)))


main()
