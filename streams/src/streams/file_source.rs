//! A stream's file source: a file in the server's source directory, read
//! in the stream's framing into the stream's input log while the stream
//! runs.
//!
//! Each append of the file's records commits the file position it read up
//! to in the same transaction ([`StreamStore::append_input_at`]), so after
//! a crash reading resumes exactly after the last record in the log: none
//! is skipped or read twice, and from the log on the stream's own
//! exactly-once checkpoints take over. Without `follow` the stream is
//! drained once the file is read to its end; with it, the file is watched
//! for growth (every [`POLL`]), like `tail -f`. A file that shrinks below
//! the position read (truncated or replaced), a record over the size limit,
//! or a file that cannot be read fails the stream with the reason.
//!
//! The directory is opened with cap-std: the spec's path cannot leave it,
//! through `..` or a symbolic link.

use super::Streams;
use crate::engine::run::Command;
use crate::error::StreamError;
use crate::spec::{Framing, SourceSpec, StreamSpec};
use cap_std::ambient_authority;
use cap_std::fs::Dir;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

/// How long a following source waits before looking at its file again.
pub const POLL: Duration = Duration::from_millis(50);
/// What one read of the file may take beyond the longest record: a
/// longest record always fits in one read, and an append stays about
/// 1 MiB (some ten thousand records of 100 B, one commit).
const READ_SLACK: usize = 64 << 10;

/// Opens `file` inside the source directory `dir`, read-only.
pub(super) fn open_source(dir: &Path, file: &str) -> Result<std::fs::File, StreamError> {
    let reason = |e: std::io::Error| StreamError::SourceFile {
        file: file.to_owned(),
        reason: e.to_string(),
    };
    let dir =
        Dir::open_ambient_dir(dir, ambient_authority()).map_err(|e| StreamError::SourceFile {
            file: file.to_owned(),
            reason: format!(
                "the source directory {} cannot be opened: {e}",
                dir.display()
            ),
        })?;
    Ok(dir.open(file).map_err(reason)?.into_std())
}

/// Reads the stream's source file into its input log until the stream's
/// supervisor goes away, the file is read (without `follow`: then it asks
/// for a drain), or reading fails (then it fails the stream).
pub(super) async fn ingest(
    streams: Streams,
    name: String,
    spec: StreamSpec,
    source: SourceSpec,
    dir: PathBuf,
    commands: mpsc::UnboundedSender<Command>,
) {
    let mut reader = Some(FileReader::default());
    loop {
        if commands.is_closed() {
            return;
        }
        let mut current = reader.take().unwrap_or_default();
        let step = {
            let streams = streams.clone();
            let (name, spec, source, dir) =
                (name.clone(), spec.clone(), source.clone(), dir.clone());
            tokio::task::spawn_blocking(move || {
                let step = current.step(&streams, &name, &spec, &source, &dir);
                (current, step)
            })
            .await
        };
        let step = match step {
            Ok((returned, step)) => {
                reader = Some(returned);
                step
            }
            // The tokio runtime is shutting down (the server is going
            // away): the next start resumes from the committed position.
            Err(cancelled) if cancelled.is_cancelled() => return,
            Err(panic) => Err(format!("the file source's reader failed: {panic}")),
        };
        match step {
            Ok(Step::Appended) => {}
            Ok(Step::AtEnd) if !source.follow => {
                let _ = commands.send(Command::Drain);
                return;
            }
            Ok(Step::AtEnd) => tokio::time::sleep(POLL).await,
            Err(message) => {
                let _ = commands.send(Command::Fail(format!(
                    "file source {:?}: {message}",
                    source.file
                )));
                return;
            }
        }
    }
}

/// What one read of the file did.
enum Step {
    /// Records were appended to the input log.
    Appended,
    /// Nothing more to read for now.
    AtEnd,
}

/// The open file and the position the log has it read up to.
#[derive(Default)]
struct FileReader {
    file: Option<std::fs::File>,
    position: u64,
}

impl FileReader {
    /// Reads the next records after the committed position and appends
    /// them with the new position.
    fn step(
        &mut self,
        streams: &Streams,
        name: &str,
        spec: &StreamSpec,
        source: &SourceSpec,
        dir: &Path,
    ) -> Result<Step, String> {
        let store = &streams.inner.store;
        if self.file.is_none() {
            self.file = Some(open_source(dir, &source.file).map_err(|e| e.to_string())?);
            self.position = store.file_position(name).map_err(|e| e.to_string())?;
        }
        let file = self.file.as_mut().expect("opened above");
        let length = file
            .metadata()
            .map_err(|e| format!("cannot read its size: {e}"))?
            .len();
        if length < self.position {
            return Err(format!(
                "it is {length} bytes long, shorter than the {} already read: it was truncated or replaced",
                self.position
            ));
        }
        if length == self.position {
            return Ok(Step::AtEnd);
        }
        let read_bytes = streams.inner.max_record_bytes + READ_SLACK;
        let wanted = (length - self.position).min(read_bytes as u64) as usize;
        let mut bytes = vec![0; wanted];
        file.seek(SeekFrom::Start(self.position))
            .and_then(|_| file.read_exact(&mut bytes))
            .map_err(|e| format!("cannot read at byte {}: {e}", self.position))?;
        let at_end = !source.follow && self.position + wanted as u64 == length;
        let complete = complete_len(spec.framing, &bytes, at_end)
            .map_err(|why| format!("at byte {}: {why}", self.position))?;
        if complete == 0 {
            if wanted == read_bytes {
                return Err(format!(
                    "no record ends within {read_bytes} bytes of byte {}: a record is over the size limit of {} bytes",
                    self.position, streams.inner.max_record_bytes
                ));
            }
            // A record still being written: wait for the rest.
            return Ok(Step::AtEnd);
        }
        let records = streams
            .parse_records(spec, &bytes[..complete])
            .map_err(|e| format!("after byte {}: {e}", self.position))?;
        let next = self.position + complete as u64;
        store
            .append_input_at(name, &records, next)
            .map_err(|e| e.to_string())?;
        self.position = next;
        if let Ok(shared) = streams.shared(name) {
            shared.appended.notify_waiters();
        }
        Ok(Step::Appended)
    }
}

/// How many bytes at the start of `bytes` make whole records: through the
/// last newline for `lines`, whole frames for `frames`. At the file's end
/// (`at_end`, not following) a last line without a newline is a record
/// too, and a cut frame is an error.
fn complete_len(framing: Framing, bytes: &[u8], at_end: bool) -> Result<usize, String> {
    match framing {
        Framing::Lines if at_end => Ok(bytes.len()),
        Framing::Lines => Ok(memchr::memrchr(b'\n', bytes).map_or(0, |at| at + 1)),
        Framing::Frames => {
            let mut at = 0;
            while let Some(len) = frame_len(&bytes[at..]) {
                at += len;
            }
            if at_end && at < bytes.len() {
                return Err(format!(
                    "the file ends inside a frame (its last {} bytes)",
                    bytes.len() - at
                ));
            }
            Ok(at)
        }
    }
}

/// The length of the whole frame at the start of `bytes`, if it is there.
fn frame_len(bytes: &[u8]) -> Option<usize> {
    let part = |at: usize| -> Option<usize> {
        let raw: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(u32::from_le_bytes(raw) as usize)
    };
    let key = part(0)?;
    let value = part(4usize.checked_add(key)?)?;
    let len = 8usize.checked_add(key)?.checked_add(value)?;
    (len <= bytes.len()).then_some(len)
}

impl Streams {
    /// Points file sources at `dir` (by default `sources` in the data
    /// directory), for streams started from now on.
    pub fn set_source_dir(&self, dir: PathBuf) {
        *self.inner.source_dir.lock().expect("source dir lock") = Some(dir);
    }

    /// The directory file sources read from, if this server has one.
    pub(super) fn source_dir(&self) -> Option<PathBuf> {
        self.inner
            .source_dir
            .lock()
            .expect("source dir lock")
            .clone()
    }

    /// Checks at create that a spec's source file can be opened.
    pub(super) fn check_source(&self, spec: &StreamSpec) -> Result<(), StreamError> {
        let Some(source) = &spec.source else {
            return Ok(());
        };
        let Some(dir) = self.source_dir() else {
            return Err(StreamError::SourceFile {
                file: source.file.clone(),
                reason: "this server has no source directory (faasrt serve --source-dir)".into(),
            });
        };
        open_source(&dir, &source.file).map(drop)
    }

    /// Starts reading the stream's source file, if it has one, beside its
    /// supervisor (whose commands it sends a drain or a failure).
    pub(super) fn spawn_source(
        &self,
        name: &str,
        spec: &StreamSpec,
        commands: &mpsc::UnboundedSender<Command>,
    ) -> Option<tokio::task::JoinHandle<()>> {
        let source = spec.source.clone()?;
        let Some(dir) = self.source_dir() else {
            let _ = commands.send(Command::Fail(format!(
                "file source {:?}: this server has no source directory",
                source.file
            )));
            return None;
        };
        Some(tokio::spawn(ingest(
            self.clone(),
            name.to_owned(),
            spec.clone(),
            source,
            dir,
            commands.clone(),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::framing::encode_frame;

    #[test]
    fn lines_are_complete_through_the_last_newline_or_at_the_end() {
        assert_eq!(complete_len(Framing::Lines, b"a\nb\nc", false), Ok(4));
        assert_eq!(complete_len(Framing::Lines, b"abc", false), Ok(0));
        assert_eq!(complete_len(Framing::Lines, b"a\nb\nc", true), Ok(5));
    }

    #[test]
    fn frames_are_complete_whole_and_a_cut_one_at_the_end_is_an_error() {
        let mut bytes = Vec::new();
        encode_frame(b"k", b"one", &mut bytes);
        let first = bytes.len();
        encode_frame(b"key", b"two", &mut bytes);
        let whole = bytes.len();
        assert_eq!(complete_len(Framing::Frames, &bytes, true), Ok(whole));
        assert_eq!(
            complete_len(Framing::Frames, &bytes[..whole - 1], false),
            Ok(first)
        );
        assert!(complete_len(Framing::Frames, &bytes[..whole - 1], true).is_err());
        // A header that says more than any buffer holds never completes.
        let huge = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        assert_eq!(complete_len(Framing::Frames, &huge, false), Ok(0));
    }

    #[test]
    fn a_path_out_of_the_source_directory_is_refused() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("sources");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(root.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(root.path().join("secret"), dir.join("link")).unwrap();
        std::fs::write(dir.join("ok.log"), "a\n").unwrap();
        assert!(open_source(&dir, "ok.log").is_ok());
        for escape in ["../secret", "link", "/etc/passwd"] {
            assert!(
                matches!(
                    open_source(&dir, escape),
                    Err(StreamError::SourceFile { .. })
                ),
                "{escape} must not open"
            );
        }
    }
}
