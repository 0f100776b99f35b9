//! This crate's ioctl numbers, structure sizes and constants checked against DAHDI's
//! own `include/dahdi/user.h`, compiled by gcc on this target.
//!
//! The headers come from `$TDM_DAHDI_INCLUDE` (a directory holding `dahdi/user.h`),
//! else `/usr/include` or `/usr/src/dahdi-*/include` (Debian's dahdi-dkms). `.ci/run`
//! unpacks dahdi-dkms (without installing it) and sets the variable. Without headers
//! or gcc the test says so and passes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use tdm_dahdi::{Event, Sig, sys};

fn headers() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("TDM_DAHDI_INCLUDE").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(dir));
    }
    if Path::new("/usr/include/dahdi/user.h").exists() {
        return Some(PathBuf::from("/usr/include"));
    }
    std::fs::read_dir("/usr/src")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("include"))
        .find(|p| p.join("dahdi/user.h").exists())
}

/// Every value compared: the C expression and ours.
fn ours() -> Vec<(&'static str, u64)> {
    let r = |x: sys::Request| {
        #[allow(clippy::unnecessary_cast)] // c_ulong here, c_int on musl
        let v = x as u64;
        v & 0xFFFF_FFFF
    };
    let i = |x: i32| u64::from(x as u32);
    vec![
        ("DAHDI_SET_BLOCKSIZE", r(sys::SET_BLOCKSIZE.request)),
        ("DAHDI_FLUSH", r(sys::FLUSH.request)),
        ("DAHDI_GET_PARAMS", r(sys::GET_PARAMS.request)),
        ("DAHDI_SET_PARAMS", r(sys::SET_PARAMS.request)),
        ("DAHDI_GETEVENT", r(sys::GETEVENT.request)),
        ("DAHDI_SPANSTAT", r(sys::SPANSTAT.request)),
        ("DAHDI_GET_BUFINFO", r(sys::GET_BUFINFO.request)),
        ("DAHDI_SET_BUFINFO", r(sys::SET_BUFINFO.request)),
        ("DAHDI_CHANNO", r(sys::CHANNO.request)),
        ("DAHDI_HDLCFCSMODE", r(sys::HDLCFCSMODE.request)),
        ("DAHDI_SPECIFY", r(sys::SPECIFY.request)),
        ("DAHDI_SETLAW", r(sys::SETLAW.request)),
        ("DAHDI_GETRXBITS", r(sys::GETRXBITS.request)),
        ("DAHDI_SETTXBITS", r(sys::SETTXBITS.request)),
        (
            "sizeof(struct dahdi_params)",
            std::mem::size_of::<sys::Params>() as u64,
        ),
        (
            "sizeof(struct dahdi_bufferinfo)",
            std::mem::size_of::<sys::BufferInfo>() as u64,
        ),
        (
            "sizeof(struct dahdi_spaninfo)",
            std::mem::size_of::<sys::SpanInfo>() as u64,
        ),
        ("ELAST", i(sys::ELAST)),
        ("DAHDI_CODE", u64::from(sys::DAHDI_CODE)),
        ("DAHDI_FLUSH_ALL", i(sys::FLUSH_ALL)),
        ("DAHDI_LAW_MULAW", i(sys::LAW_MULAW)),
        ("DAHDI_LAW_ALAW", i(sys::LAW_ALAW)),
        ("DAHDI_POLICY_IMMEDIATE", i(sys::POLICY_IMMEDIATE)),
        ("DAHDI_SIG_NONE", i(Sig::NONE.0)),
        ("DAHDI_SIG_CLEAR", i(Sig::CLEAR.0)),
        ("DAHDI_SIG_HDLCRAW", i(Sig::HDLCRAW.0)),
        ("DAHDI_SIG_HDLCFCS", i(Sig::HDLCFCS.0)),
        ("DAHDI_SIG_HDLCNET", i(Sig::HDLCNET.0)),
        ("DAHDI_SIG_CAS", i(Sig::CAS.0)),
        ("DAHDI_SIG_HARDHDLC", i(Sig::HARDHDLC.0)),
        ("DAHDI_SIG_MTP2", i(Sig::MTP2.0)),
        ("DAHDI_EVENT_ALARM", i(Event::ALARM.0)),
        ("DAHDI_EVENT_NOALARM", i(Event::NOALARM.0)),
        ("DAHDI_EVENT_ABORT", i(Event::ABORT.0)),
        ("DAHDI_EVENT_OVERRUN", i(Event::OVERRUN.0)),
        ("DAHDI_EVENT_BADFCS", i(Event::BADFCS.0)),
        ("DAHDI_EVENT_BITSCHANGED", i(Event::BITSCHANGED.0)),
        ("DAHDI_EVENT_REMOVED", i(Event::REMOVED.0)),
        ("DAHDI_EVENT_READ_OVERRUN", i(Event::READ_OVERRUN.0)),
        ("DAHDI_EVENT_WRITE_UNDERRUN", i(Event::WRITE_UNDERRUN.0)),
        (
            "DAHDI_ABIT",
            i(tdm_dahdi::Abcd::new(true, false, false, false).bits()),
        ),
        (
            "DAHDI_DBIT",
            i(tdm_dahdi::Abcd::new(false, false, false, true).bits()),
        ),
        ("DAHDI_ALARM_RED", 1 << 3),
    ]
}

#[test]
fn our_numbers_are_user_h_numbers() {
    let Some(include) = headers() else {
        eprintln!("SKIPPED: no dahdi/user.h (set TDM_DAHDI_INCLUDE)");
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let values = ours();
    let mut c = String::from("#include <stdio.h>\n#include <dahdi/user.h>\nint main(void) {\n");
    for (expr, _) in &values {
        c.push_str(&format!(
            "  printf(\"%s=%llu\\n\", \"{expr}\", (unsigned long long)(unsigned int)({expr}));\n"
        ));
    }
    c.push_str("  return 0;\n}\n");
    let src = dir.path().join("user_h.c");
    let exe = dir.path().join("user_h");
    std::fs::write(&src, c).expect("C source");
    let built = Command::new("gcc")
        .arg("-I")
        .arg(&include)
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .output();
    let built = match built {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIPPED: gcc: {e}");
            return;
        }
    };
    assert!(
        built.status.success(),
        "gcc against {}: {}",
        include.display(),
        String::from_utf8_lossy(&built.stderr)
    );
    let out = Command::new(&exe).output().expect("run the C program");
    let theirs: HashMap<String, u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.to_owned(), v.parse().ok()?))
        })
        .collect();
    for (expr, want) in values {
        assert_eq!(theirs.get(expr), Some(&want), "{expr}: user.h vs ours");
    }
}
