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
use tracing::error;

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
        // Finish files a crash left behind: they hold complete, synced lines.
        for entry in fs::read_dir(&cfg.directory).map_err(err)?.flatten() {
            let p = entry.path();
            if p.extension().is_some_and(|e| e == "part") {
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

    fn append(&mut self, r: &CallRecord) -> io::Result<()> {
        if self.needs_rotation() {
            self.close_all();
            self.open_all()?;
        }
        for f in &mut self.open {
            let line = match f.format {
                CdrFormat::Csv => csv_row(r),
                CdrFormat::Jsonl => json_row(r),
            };
            f.file.write_all(&line)?;
            f.size += line.len() as u64;
        }
        self.dirty = true;
        Ok(())
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
