//! An app's stdout/stderr go to files in Rhone's data dir (`run/<deployment>.out|.err`, 0600, opened by
//! Rhone and handed to the process), not to pipes: the app keeps running and logging while Rhone is
//! down. A follower reads each file from the last offset it recorded (`<file>.offset`), so after a
//! restart Rhone picks up exactly where it stopped, and truncates the file once it has read it all and
//! it grew past a limit (so a chatty app cannot fill the disk).

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::watch;

use crate::logs::LogSink;

use crate::logs::MAX_LINE;
/// A fully read output file larger than this is truncated.
const ROTATE_AT: u64 = 8 * 1024 * 1024;
const POLL: Duration = Duration::from_millis(100);

/// The output files of one version.
#[derive(Debug, Clone)]
pub struct OutputFiles {
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

impl OutputFiles {
    pub fn new(run_dir: &Path, deployment_id: i64) -> OutputFiles {
        OutputFiles::of_replica(run_dir, deployment_id, 0)
    }

    /// The files of one replica of a version (replica 0 keeps the names of a single instance).
    pub fn of_replica(run_dir: &Path, deployment_id: i64, replica: u32) -> OutputFiles {
        let base = if replica == 0 { deployment_id.to_string() } else { format!("{deployment_id}-r{replica}") };
        OutputFiles { stdout: run_dir.join(format!("{base}.out")), stderr: run_dir.join(format!("{base}.err")) }
    }

    /// Opens both files for appending (created 0600), for the process's stdout and stderr.
    pub fn open_for_process(&self) -> std::io::Result<(std::fs::File, std::fs::File)> {
        Ok((open_append(&self.stdout)?, open_append(&self.stderr)?))
    }

    pub fn remove(&self) {
        for p in [&self.stdout, &self.stderr] {
            let _ = std::fs::remove_file(p);
            let _ = std::fs::remove_file(offset_path(p));
        }
    }
}

fn open_append(p: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(p)
}

fn offset_path(p: &Path) -> PathBuf {
    let mut s = p.as_os_str().to_owned();
    s.push(".offset");
    PathBuf::from(s)
}

fn load_offset(p: &Path) -> u64 {
    std::fs::read_to_string(offset_path(p)).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

fn save_offset(p: &Path, offset: u64) {
    let tmp = offset_path(p).with_extension("offset.tmp");
    if std::fs::write(&tmp, offset.to_string()).is_ok() {
        let _ = std::fs::rename(&tmp, offset_path(p));
    }
}

/// Where a follower sends lines: the app's runtime log, and the deployment log until it goes live.
#[derive(Clone)]
pub struct Sinks {
    pub log: LogSink,
    pub deploy_log: Option<LogSink>,
    pub live: watch::Receiver<bool>,
}

/// Follows `path` until `done` flips to true, then reads what is left and returns.
pub async fn follow(path: PathBuf, stream: &'static str, sinks: Sinks, mut done: watch::Receiver<bool>) {
    let mut offset = load_offset(&path);
    let mut saved = offset;
    let mut partial: Vec<u8> = Vec::new();
    // bytes read since the last newline (the unfinished line, uncut)
    let mut pending: u64 = 0;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let finishing = *done.borrow();
        let Ok(mut f) = tokio::fs::File::open(&path).await else {
            if finishing {
                return;
            }
            tokio::select! { _ = tokio::time::sleep(POLL) => {}, _ = done.changed() => {} }
            continue;
        };
        let len = f.metadata().await.map(|m| m.len()).unwrap_or(0);
        if len < offset {
            offset = 0; // truncated by someone else: start over
            partial.clear();
            pending = 0;
        }
        if f.seek(SeekFrom::Start(offset)).await.is_err() {
            return;
        }
        // read to the end of what is there now, at the pace the log store keeps up with (the app
        // writes to a file, so pacing here never slows it down)
        loop {
            sinks.log.room(Duration::from_secs(2)).await;
            let n = match f.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            offset += n as u64;
            emit(&mut partial, &mut pending, &buf[..n], stream, &sinks);
        }
        // the offset recorded is the start of the unfinished line, so it is read again after a restart
        let complete = offset - pending;
        if complete != saved {
            save_offset(&path, complete);
            saved = complete;
        }
        if finishing {
            if !partial.is_empty() {
                send(&sinks, stream, &String::from_utf8_lossy(&partial), partial.len() >= MAX_LINE);
            }
            return;
        }
        if pending == 0 && offset >= ROTATE_AT {
            if let Ok(w) = std::fs::OpenOptions::new().write(true).open(&path) {
                if w.set_len(0).is_ok() {
                    offset = 0;
                    save_offset(&path, 0);
                    saved = 0;
                }
            }
        }
        tokio::select! { _ = tokio::time::sleep(POLL) => {}, _ = done.changed() => {} }
    }
}

/// Splits `data` into lines (cut at [`MAX_LINE`]), keeping an unfinished line in `partial`.
fn emit(partial: &mut Vec<u8>, pending: &mut u64, data: &[u8], stream: &'static str, sinks: &Sinks) {
    for chunk in data.split_inclusive(|b| *b == b'\n') {
        if partial.len() < MAX_LINE {
            let room = MAX_LINE - partial.len();
            partial.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        if chunk.ends_with(b"\n") {
            let cut = partial.len() >= MAX_LINE && !partial.ends_with(b"\n");
            send(sinks, stream, &String::from_utf8_lossy(partial), cut);
            partial.clear();
            *pending = 0;
        } else {
            *pending += chunk.len() as u64;
        }
    }
}

/// Sends one whole line (a container's output), cut at [`MAX_LINE`].
pub(crate) fn send_line(sinks: &Sinks, stream: &'static str, line: &str) {
    if line.len() <= MAX_LINE {
        return send(sinks, stream, line, false);
    }
    let mut end = MAX_LINE;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    send(sinks, stream, &line[..end], true);
}

/// `cut`: the line was longer than [`MAX_LINE`] and lost its end (the log marks it, and redacts a
/// secret the cut split).
fn send(sinks: &Sinks, stream: &'static str, line: &str, cut: bool) {
    sinks.log.push(stream, line, cut);
    if !*sinks.live.borrow() {
        if let Some(d) = &sinks.deploy_log {
            d.push(stream, line, cut);
        }
    }
}
