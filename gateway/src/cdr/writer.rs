//! The CDR files: append-only, one file per format, rotated by size and age, flushed to
//! disk by the configured policy. Writes happen on a thread of their own so an fsync
//! never stalls signalling; records queued while one fsync runs are written and synced
//! together after it (group commit), so `fsync: always` costs one fsync per batch and
//! every record is on disk before the writer takes more work.
//!
//! File names: `cdr-<node>-<UTC start>.<csv|jsonl>`; a CSV file starts with its header.
//! A file that is being written has the suffix `.part`; it is renamed without it when
//! rotated or at shutdown, so collectors pick up only closed files.

use super::format::{csv_header, csv_row, json_row};
use crate::config::{Cdr, CdrFormat, FsyncPolicy};
use crate::switch::CallRecord;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};
use tracing::{error, warn};

/// Why the CDR directory cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("CDR directory {dir}: {source}")]
pub struct CdrError {
    /// The directory.
    pub dir: PathBuf,
    /// What the OS said.
    #[source]
    pub source: io::Error,
}

enum Message {
    Record(Box<CallRecord>),
    Stop,
}

/// Where the shell sends finished calls.
#[derive(Clone)]
pub struct CdrSink {
    tx: mpsc::Sender<Message>,
}

impl CdrSink {
    /// Queues a record; false when the writer has stopped (the record is logged).
    pub fn write(&self, record: CallRecord) -> bool {
        self.tx.send(Message::Record(Box::new(record))).is_ok()
    }
}

/// The writer thread.
pub struct CdrWriter {
    tx: mpsc::Sender<Message>,
    thread: Option<JoinHandle<()>>,
}

struct OpenFile {
    format: CdrFormat,
    path: PathBuf,
    file: File,
    size: u64,
}

struct Files {
    cfg: Cdr,
    node: String,
    open: Vec<OpenFile>,
    opened_at: Instant,
    last_sync: Instant,
    dirty: bool,
}

/// The length of `r`'s line in `format`.
fn line_len(format: CdrFormat, r: &CallRecord) -> u64 {
    match format {
        CdrFormat::Csv => csv_row(r).len() as u64,
        CdrFormat::Jsonl => json_row(r).len() as u64,
    }
}

fn extension(f: CdrFormat) -> &'static str {
    match f {
        CdrFormat::Csv => "csv",
        CdrFormat::Jsonl => "jsonl",
    }
}

/// `2026-11-26T10:49:54.524Z` -> `20261126T104954.524Z`: sortable and without colons.
fn stamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t)
        .to_string()
        .replace(['-', ':'], "")
}

impl Files {
    fn new(cfg: Cdr, node: String) -> Result<Files, CdrError> {
        let dir = cfg.directory.clone();
        let err = |source| CdrError {
            dir: dir.clone(),
            source,
        };
        fs::create_dir_all(&cfg.directory).map_err(err)?;
        // Finish files a crash left behind: cut a torn last line (a write the crash or
        // power loss interrupted; its record was never reported written), then close.
        for entry in fs::read_dir(&cfg.directory).map_err(err)?.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "part") {
                match cut_torn_tail(&p) {
                    Ok(0) => {}
                    Ok(n) => {
                        warn!(path = %p.display(), bytes = n, "CDR file ended in a torn line; cut")
                    }
                    Err(e) => {
                        error!(path = %p.display(), error = %e, "CDR file could not be checked")
                    }
                }
                let _ = fs::rename(&p, p.with_extension(""));
            }
        }
        let now = Instant::now();
        let mut files = Files {
            cfg,
            node,
            open: Vec::new(),
            opened_at: now,
            last_sync: now,
            dirty: false,
        };
        files.open_all().map_err(err)?;
        Ok(files)
    }

    fn open_all(&mut self) -> io::Result<()> {
        let stamp = stamp(SystemTime::now());
        let mut open = Vec::new();
        for &format in &self.cfg.formats {
            let path = self.fresh_path(&stamp, format);
            let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
            let mut size = file.metadata()?.len();
            if format == CdrFormat::Csv && size == 0 {
                let h = csv_header();
                file.write_all(&h)?;
                size += h.len() as u64;
            }
            open.push(OpenFile {
                format,
                path,
                file,
                size,
            });
        }
        self.open = open;
        self.opened_at = Instant::now();
        // The new directory entries must survive a crash too.
        sync_dir(&self.cfg.directory);
        Ok(())
    }

    /// A `.part` path whose closed name is not taken yet (two rotations in one
    /// millisecond must not overwrite a closed file).
    fn fresh_path(&self, stamp: &str, format: CdrFormat) -> PathBuf {
        let ext = extension(format);
        (0u32..)
            .map(|n| {
                let suffix = if n == 0 {
                    String::new()
                } else {
                    format!("-{n}")
                };
                let closed = format!("cdr-{}-{stamp}{suffix}.{ext}", self.node);
                self.cfg.directory.join(closed)
            })
            .find(|closed| !closed.exists())
            .map(|closed| closed.with_extension(format!("{ext}.part")))
            .unwrap_or_default()
    }

    fn close_all(&mut self) {
        self.sync();
        for f in self.open.drain(..) {
            let _ = fs::rename(&f.path, f.path.with_extension(""));
        }
        sync_dir(&self.cfg.directory);
    }

    fn needs_rotation(&self) -> bool {
        let size = self
            .cfg
            .rotation
            .max_size_mib
            .is_some_and(|mib| self.open.iter().any(|f| f.size >= mib * 1024 * 1024));
        let age = self
            .cfg
            .rotation
            .interval_seconds
            .is_some_and(|s| self.opened_at.elapsed() >= Duration::from_secs(s));
        size || age
    }

    /// Appends one record to every format's file, or to none: a write that fails part
    /// way (disk full, I/O error) is cut back off every file, so no file holds a torn
    /// or one-format-only record, and the error goes to the caller (which logs the
    /// record). Files that could not be reopened after a rotation are retried here.
    fn append(&mut self, r: &CallRecord) -> io::Result<()> {
        if self.needs_rotation() {
            self.close_all();
        }
        if self.open.is_empty() {
            self.open_all()?;
        }
        let mut failed = None;
        for (i, f) in self.open.iter_mut().enumerate() {
            let line = match f.format {
                CdrFormat::Csv => csv_row(r),
                CdrFormat::Jsonl => json_row(r),
            };
            if let Err(e) = f.file.write_all(&line) {
                failed = Some((i, e));
                break;
            }
            f.size += line.len() as u64;
        }
        let Some((failed_at, e)) = failed else {
            self.dirty = true;
            return Ok(());
        };
        // The files before the failed one hold the whole line, the failed one part of
        // it: cut each back to where this record began.
        let mut cut_back = true;
        for (i, f) in self.open.iter_mut().enumerate().take(failed_at + 1) {
            if i < failed_at {
                f.size -= line_len(f.format, r);
            }
            if let Err(cut) = f.file.set_len(f.size) {
                error!(path = %f.path.display(), error = %cut, "CDR file could not be cut back");
                cut_back = false;
            }
        }
        if !cut_back {
            // Start new files rather than append after a torn line.
            self.close_all();
        }
        Err(e)
    }

    fn sync(&mut self) {
        if !self.dirty {
            return;
        }
        for f in &self.open {
            if let Err(e) = f.file.sync_data() {
                error!(path = %f.path.display(), error = %e, "CDR fsync failed");
            }
        }
        self.dirty = false;
        self.last_sync = Instant::now();
    }

    fn sync_due(&self) -> bool {
        match self.cfg.fsync {
            FsyncPolicy::Always => true,
            FsyncPolicy::Interval => {
                let every = Duration::from_secs(self.cfg.fsync_interval_seconds.unwrap_or(1));
                self.last_sync.elapsed() >= every
            }
            FsyncPolicy::Never => false,
        }
    }
}

/// Cuts a file back to its last complete line; returns how many bytes were cut.
fn cut_torn_tail(path: &Path) -> io::Result<u64> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let len = file.metadata()?.len();
    // Read backwards in blocks until a newline (or the start of the file) is found.
    let mut end = len;
    let mut block = [0u8; 4096];
    while end > 0 {
        let start = end.saturating_sub(block.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut block[..n])?;
        if let Some(i) = block[..n].iter().rposition(|&b| b == b'\n') {
            end = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if end < len {
        file.set_len(end)?;
        file.sync_all()?;
    }
    Ok(len - end)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

impl CdrWriter {
    /// Opens the CDR files in `cfg.directory` (created if missing) and starts the writer.
    pub fn start(cfg: &Cdr, node: &str) -> Result<(CdrWriter, CdrSink), CdrError> {
        CdrWriter::start_counted(cfg, node, None)
    }

    /// [`CdrWriter::start`], counting the records written and those that failed
    /// (`gateway_cdrs_written_total`, `gateway_cdr_write_failures_total`).
    pub fn start_counted(
        cfg: &Cdr,
        node: &str,
        counters: Option<(prometheus::IntCounter, prometheus::IntCounter)>,
    ) -> Result<(CdrWriter, CdrSink), CdrError> {
        let mut files = Files::new(cfg.clone(), node.to_owned())?;
        let (tx, rx) = mpsc::channel::<Message>();
        let thread = std::thread::Builder::new()
            .name("cdr-writer".into())
            .spawn(move || run(&mut files, &rx, counters.as_ref()))
            .map_err(|source| CdrError {
                dir: cfg.directory.clone(),
                source,
            })?;
        Ok((
            CdrWriter {
                tx: tx.clone(),
                thread: Some(thread),
            },
            CdrSink { tx },
        ))
    }

    /// Writes what is queued, syncs, closes the files and stops the thread (also what
    /// dropping the writer does).
    pub fn shutdown(self) {}
}

impl Drop for CdrWriter {
    fn drop(&mut self) {
        let _ = self.tx.send(Message::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    files: &mut Files,
    rx: &mpsc::Receiver<Message>,
    counters: Option<&(prometheus::IntCounter, prometheus::IntCounter)>,
) {
    let timeout = Duration::from_millis(200);
    loop {
        let first = match rx.recv_timeout(timeout) {
            Ok(m) => Some(m),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        };
        let mut stop = false;
        // Group commit: everything queued now goes out before one sync.
        for m in first
            .into_iter()
            .chain(std::iter::from_fn(|| rx.try_recv().ok()))
        {
            match m {
                Message::Record(r) => match files.append(&r) {
                    Ok(()) => {
                        if let Some((written, _)) = counters {
                            written.inc();
                        }
                    }
                    Err(e) => {
                        // The record still reaches the log, so it is never silently lost.
                        error!(call = r.call, error = %e, record = ?r, "CDR write failed");
                        if let Some((_, failed)) = counters {
                            failed.inc();
                        }
                    }
                },
                Message::Stop => stop = true,
            }
        }
        if files.sync_due() || stop {
            files.sync();
        }
        if stop {
            break;
        }
        if files.needs_rotation() {
            files.close_all();
            if let Err(e) = files.open_all() {
                error!(error = %e, "CDR files could not be reopened");
            }
        }
    }
    files.close_all();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cdr::format::tests::record;

    fn cfg(dir: &Path, formats: Vec<CdrFormat>) -> Cdr {
        Cdr {
            directory: dir.to_owned(),
            formats,
            ..Cdr::default()
        }
    }

    fn files_in(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn records_are_on_disk_and_files_closed_at_shutdown() {
        let dir = tempfile::tempdir().unwrap();
        let (w, sink) = CdrWriter::start(
            &cfg(dir.path(), vec![CdrFormat::Csv, CdrFormat::Jsonl]),
            "gw1",
        )
        .unwrap();
        assert!(sink.write(record()));
        assert!(sink.write(record()));
        w.shutdown();
        let names = files_in(dir.path());
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");
        let csv = fs::read_to_string(dir.path().join(&names[0])).unwrap();
        assert_eq!(csv.lines().count(), 3, "header + 2 records");
        let jsonl = fs::read_to_string(dir.path().join(&names[1])).unwrap();
        assert_eq!(jsonl.lines().count(), 2);
        assert!(!sink.write(record()), "a stopped writer refuses records");
    }

    #[test]
    fn a_crash_leaves_complete_lines_that_the_next_start_closes() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(dir.path(), vec![CdrFormat::Jsonl]);
        let mut files = Files::new(c.clone(), "gw1".into()).unwrap();
        files.append(&record()).unwrap();
        files.sync();
        drop(files); // no close: as after a crash
        assert!(files_in(dir.path())[0].ends_with(".part"));
        let (w, _sink) = CdrWriter::start(&c, "gw1").unwrap();
        w.shutdown();
        let names = files_in(dir.path());
        assert!(names.iter().all(|n| !n.ends_with(".part")), "{names:?}");
        let all: String = names
            .iter()
            .map(|n| fs::read_to_string(dir.path().join(n)).unwrap())
            .collect();
        assert_eq!(
            all.lines().count(),
            1,
            "the record written before the crash"
        );
    }

    #[test]
    fn rotation_by_size() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg(dir.path(), vec![CdrFormat::Csv]);
        c.rotation.max_size_mib = Some(0);
        let mut files = Files::new(c, "gw1".into()).unwrap();
        files.append(&record()).unwrap();
        files.append(&record()).unwrap();
        files.close_all();
        // Size 0: every append starts a new file (the first holds only the header);
        // no two share a name and each record is in exactly one.
        let names = files_in(dir.path());
        assert_eq!(names.len(), 3, "{names:?}");
        let rows: usize = names
            .iter()
            .map(|n| {
                fs::read_to_string(dir.path().join(n))
                    .unwrap()
                    .lines()
                    .count()
                    - 1
            })
            .sum();
        assert_eq!(rows, 2);
    }

    fn lines_of(dir: &Path, ext: &str) -> Vec<String> {
        files_in(dir)
            .iter()
            .filter(|n| n.ends_with(ext))
            .flat_map(|n| {
                let text = fs::read_to_string(dir.join(n)).unwrap();
                assert!(
                    text.is_empty() || text.ends_with('\n'),
                    "{n}: torn: {text:?}"
                );
                text.lines().map(str::to_owned).collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn a_torn_last_line_is_cut_when_the_next_start_closes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let part = dir.path().join("cdr-gw1-20261126T000000.000Z.jsonl.part");
        let whole = String::from_utf8(json_row(&record())).unwrap();
        // As after a power loss in the middle of the second record's write.
        fs::write(&part, format!("{whole}{}", &whole[..40])).unwrap();
        let c = cfg(dir.path(), vec![CdrFormat::Jsonl]);
        CdrWriter::start(&c, "gw1").unwrap().0.shutdown();
        let closed = fs::read_to_string(part.with_extension("")).unwrap();
        assert_eq!(closed, whole, "only the complete record is left");
        assert_eq!(cut_torn_tail(&part.with_extension("")).unwrap(), 0);
    }

    #[test]
    fn a_failed_write_leaves_no_record_in_any_format_and_the_next_one_lands() {
        let dir = tempfile::tempdir().unwrap();
        let c = cfg(dir.path(), vec![CdrFormat::Csv, CdrFormat::Jsonl]);
        let mut files = Files::new(c, "gw1".into()).unwrap();
        let mut first = record();
        first.call = 1;
        files.append(&first).unwrap();
        // The JSON file's handle stops taking writes (and cannot be cut either), as a
        // failing disk would: the CSV line already written is cut back off.
        let json = files.open[1].path.clone();
        files.open[1].file = File::open(&json).unwrap();
        let mut second = record();
        second.call = 2;
        assert!(files.append(&second).is_err());
        let mut third = record();
        third.call = 3;
        files.append(&third).unwrap();
        files.close_all();
        let calls = |lines: Vec<String>, key: &str| -> Vec<String> {
            lines
                .into_iter()
                .filter(|l| !l.starts_with("call,"))
                .map(|l| {
                    if key == "csv" {
                        l.split(',').next().unwrap().to_owned()
                    } else {
                        serde_json::from_str::<serde_json::Value>(&l).unwrap()["call"].to_string()
                    }
                })
                .collect()
        };
        assert_eq!(calls(lines_of(dir.path(), ".csv"), "csv"), ["1", "3"]);
        assert_eq!(calls(lines_of(dir.path(), ".jsonl"), "json"), ["1", "3"]);
    }

    #[test]
    fn rotation_by_age() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = cfg(dir.path(), vec![CdrFormat::Jsonl]);
        c.rotation.interval_seconds = Some(0);
        let mut files = Files::new(c, "gw1".into()).unwrap();
        for _ in 0..3 {
            files.append(&record()).unwrap();
        }
        files.close_all();
        let names = files_in(dir.path());
        assert_eq!(names.len(), 4, "a fresh file per record: {names:?}");
        assert_eq!(lines_of(dir.path(), ".jsonl").len(), 3);
    }

    #[test]
    fn an_unusable_directory_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("not-a-dir");
        fs::write(&file, b"x").unwrap();
        let e = CdrWriter::start(&cfg(&file.join("cdr"), vec![CdrFormat::Csv]), "gw")
            .err()
            .expect("a file in the way");
        assert!(e.to_string().contains("not-a-dir"), "{e}");
    }
}
