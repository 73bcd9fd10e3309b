//! A sweep's progress on disk, so that a sweep stopped anywhere (killed,
//! a machine restarted, the target gone) goes on where it stopped:
//! `rows.jsonl` holds the rows of the cells done, one JSON object a line,
//! appended and synced cell by cell; `checkpoint.json` says how many cells
//! are done and of which spec, and is replaced atomically after the
//! cell's rows are on disk. Rows of a cell the checkpoint does not count
//! (written just before a crash) are dropped on resume, and the cell runs
//! again.

use super::SweepRow;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};

/// What `checkpoint.json` holds.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    /// The xxh3 of the spec's cells and repetitions: a resume with another
    /// spec is refused.
    pub spec_xxh3: String,
    /// Cells in the sweep.
    pub cells: usize,
    /// Cells done, from the first: the next to run is this one.
    pub cells_done: usize,
}

/// A checkpoint that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    /// The directory holds a sweep and `--resume` was not given.
    #[error(
        "{} holds a sweep's checkpoint ({done} of {cells} cells done): give --resume to go on with it, or another --out",
        dir.display()
    )]
    Exists {
        /// The run directory.
        dir: PathBuf,
        /// Cells done.
        done: usize,
        /// Cells in all.
        cells: usize,
    },
    /// The checkpoint is of another spec.
    #[error(
        "{}: the checkpoint is of another spec (xxh3 {theirs}, this one {ours}): the cells would not line up; use another --out",
        dir.display()
    )]
    OtherSpec {
        /// The run directory.
        dir: PathBuf,
        /// The checkpoint's hash.
        theirs: String,
        /// This spec's.
        ours: String,
    },
    /// A file of the sweep cannot be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file of the sweep is not what it should be.
    #[error("{}: line {line}: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Where.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// The sweep's files in its run directory, open for appending rows.
pub struct Progress {
    dir: PathBuf,
    checkpoint: Checkpoint,
    rows: std::fs::File,
}

impl Progress {
    /// Opens `dir` for a sweep of `fresh` (whose `cells_done` is 0): a new
    /// one, or with `resume`, the one it holds (its rows, those of the
    /// cells done). Returns the rows done so far.
    ///
    /// # Errors
    /// [`CheckpointError`].
    pub fn open(
        dir: &Path,
        fresh: Checkpoint,
        resume: bool,
    ) -> Result<(Progress, Vec<SweepRow>), CheckpointError> {
        let io = |path: &Path| {
            let path = path.to_owned();
            move |source| CheckpointError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let checkpoint_path = dir.join("checkpoint.json");
        let rows_path = dir.join("rows.jsonl");
        let existing = match std::fs::read(&checkpoint_path) {
            Ok(bytes) => Some(serde_json::from_slice::<Checkpoint>(&bytes).map_err(|e| {
                CheckpointError::Corrupt {
                    path: checkpoint_path.clone(),
                    line: e.line(),
                    message: e.to_string(),
                }
            })?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(io(&checkpoint_path)(e)),
        };
        let (checkpoint, rows) = match existing {
            Some(found) if !resume => {
                return Err(CheckpointError::Exists {
                    dir: dir.to_owned(),
                    done: found.cells_done,
                    cells: found.cells,
                });
            }
            Some(found) if found.spec_xxh3 != fresh.spec_xxh3 || found.cells != fresh.cells => {
                return Err(CheckpointError::OtherSpec {
                    dir: dir.to_owned(),
                    theirs: found.spec_xxh3,
                    ours: fresh.spec_xxh3,
                });
            }
            Some(found) => {
                let rows = read_rows(&rows_path, found.cells_done)?;
                (found, rows)
            }
            None => (fresh, Vec::new()),
        };
        // Rewritten with only the counted cells' rows: a crash between a
        // cell's rows and its checkpoint leaves rows of a cell to redo.
        let mut file = std::fs::File::create(&rows_path).map_err(io(&rows_path))?;
        for row in &rows {
            writeln!(
                file,
                "{}",
                serde_json::to_string(row).expect("rows serialize")
            )
            .map_err(io(&rows_path))?;
        }
        file.sync_all().map_err(io(&rows_path))?;
        let progress = Progress {
            dir: dir.to_owned(),
            checkpoint,
            rows: file,
        };
        progress.save()?;
        Ok((progress, rows))
    }

    /// Cells done: the index of the next cell to run.
    pub fn cells_done(&self) -> usize {
        self.checkpoint.cells_done
    }

    /// Appends one cell's rows, syncs them, then counts the cell done.
    ///
    /// # Errors
    /// [`CheckpointError::Io`].
    pub fn cell_done(&mut self, rows: &[SweepRow]) -> Result<(), CheckpointError> {
        let path = self.dir.join("rows.jsonl");
        let io = |source| CheckpointError::Io {
            path: path.clone(),
            source,
        };
        let mut text = String::new();
        for row in rows {
            text.push_str(&serde_json::to_string(row).expect("rows serialize"));
            text.push('\n');
        }
        self.rows.write_all(text.as_bytes()).map_err(io)?;
        self.rows.sync_data().map_err(io)?;
        self.checkpoint.cells_done += 1;
        self.save()
    }

    /// Writes `checkpoint.json` through a temporary file and a rename.
    fn save(&self) -> Result<(), CheckpointError> {
        let path = self.dir.join("checkpoint.json");
        let temporary = self.dir.join("checkpoint.json.tmp");
        let io = |source| CheckpointError::Io {
            path: path.clone(),
            source,
        };
        let text = serde_json::to_string_pretty(&self.checkpoint).expect("a checkpoint serializes");
        let mut file = std::fs::File::create(&temporary).map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, &path).map_err(io)
    }
}

/// The rows of `path` whose cell is below `cells_done`.
fn read_rows(path: &Path, cells_done: usize) -> Result<Vec<SweepRow>, CheckpointError> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && cells_done == 0 => {
            return Ok(Vec::new());
        }
        Err(source) => {
            return Err(CheckpointError::Io {
                path: path.to_owned(),
                source,
            });
        }
    };
    let lines: Vec<String> = std::io::BufReader::new(file)
        .lines()
        .collect::<Result<_, _>>()
        .map_err(|source| CheckpointError::Io {
            path: path.to_owned(),
            source,
        })?;
    let mut rows = Vec::new();
    for (number, line) in lines.iter().enumerate() {
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<SweepRow>(line) {
            Ok(row) if row.cell < cells_done => rows.push(row),
            Ok(_) => {}
            // A line cut short by a crash can only be the last, of a cell
            // not yet counted (a cell's rows are synced before it is).
            Err(_) if number + 1 == lines.len() => {}
            Err(e) => {
                return Err(CheckpointError::Corrupt {
                    path: path.to_owned(),
                    line: number + 1,
                    message: e.to_string(),
                });
            }
        }
    }
    Ok(rows)
}
