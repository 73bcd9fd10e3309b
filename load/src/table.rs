//! Reading a CSV file by column name, with the line number of every row, so
//! that each trace reader says which line is wrong and why.

use crate::error::TraceError;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// A CSV file opened for reading, with its header.
pub(crate) struct Table {
    path: PathBuf,
    format: &'static str,
    header: csv::StringRecord,
    reader: csv::Reader<std::fs::File>,
}

/// One row of a [`Table`], with where it came from.
pub(crate) struct Row<'t> {
    path: &'t Path,
    /// Where the row starts in the file: its line is counted from this
    /// only when there is an error to report (the csv crate's own line
    /// count skips blank lines).
    byte: u64,
    record: csv::StringRecord,
}

impl Table {
    /// Opens `path` as a `format` file (the name used in messages) and reads
    /// its header.
    ///
    /// # Errors
    /// [`TraceError::Io`], or [`TraceError::BadRow`] for an unreadable header.
    pub(crate) fn open(path: &Path, format: &'static str) -> Result<Table, TraceError> {
        let file = std::fs::File::open(path).map_err(|source| TraceError::Io {
            path: path.to_owned(),
            source,
        })?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .trim(csv::Trim::All)
            .from_reader(file);
        let header = reader
            .headers()
            .map_err(|error| csv_error(path, error))?
            .clone();
        Ok(Table {
            path: path.to_owned(),
            format,
            header,
            reader,
        })
    }

    /// The index of column `name`.
    ///
    /// # Errors
    /// [`TraceError::MissingColumn`].
    pub(crate) fn column(&self, name: &str) -> Result<usize, TraceError> {
        self.header
            .iter()
            .position(|column| column == name)
            .ok_or_else(|| TraceError::MissingColumn {
                path: self.path.clone(),
                format: self.format,
                column: name.to_owned(),
            })
    }

    /// The header's column names.
    pub(crate) fn header(&self) -> &csv::StringRecord {
        &self.header
    }

    /// Calls `each` for every row, in order, and stops at the first error
    /// (its own or a row that is not CSV). An empty table is an error.
    ///
    /// # Errors
    /// [`TraceError::BadRow`], [`TraceError::Empty`], or what `each` returns.
    pub(crate) fn for_each_row(
        mut self,
        mut each: impl FnMut(&Row<'_>) -> Result<(), TraceError>,
    ) -> Result<(), TraceError> {
        let mut record = csv::StringRecord::new();
        let mut rows = 0u64;
        loop {
            match self.reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(error) => return Err(csv_error(&self.path, error)),
            }
            let byte = record.position().map_or(0, |p| p.byte());
            let row = Row {
                path: &self.path,
                byte,
                record: std::mem::take(&mut record),
            };
            each(&row)?;
            record = row.record;
            rows += 1;
        }
        if rows == 0 {
            return Err(TraceError::Empty { path: self.path });
        }
        Ok(())
    }
}

impl Row<'_> {
    /// The text of column `index`.
    pub(crate) fn text(&self, index: usize) -> &str {
        self.record.get(index).unwrap_or("")
    }

    /// Column `index` parsed as a `T`; `what` names it in the error.
    ///
    /// # Errors
    /// [`TraceError::BadRow`] saying which column and what it holds.
    pub(crate) fn parse<T: FromStr>(&self, index: usize, what: &str) -> Result<T, TraceError> {
        let text = self.text(index);
        text.parse().map_err(|_| {
            self.error(format!(
                "{what} is {text:?}, not a number of the right kind"
            ))
        })
    }

    /// Column `index` as a finite number >= 0 (a duration, a size).
    ///
    /// # Errors
    /// [`TraceError::BadRow`].
    pub(crate) fn non_negative(&self, index: usize, what: &str) -> Result<f64, TraceError> {
        let value: f64 = self.parse(index, what)?;
        if value.is_finite() && value >= 0.0 {
            Ok(value)
        } else {
            Err(self.error(format!(
                "{what} is {value}; it must be a finite number >= 0"
            )))
        }
    }

    /// Column `index`, which may not be empty.
    ///
    /// # Errors
    /// [`TraceError::BadRow`].
    pub(crate) fn required(&self, index: usize, what: &str) -> Result<String, TraceError> {
        match self.text(index) {
            "" => Err(self.error(format!("{what} is empty"))),
            text => Ok(text.to_owned()),
        }
    }

    /// An error about this row.
    pub(crate) fn error(&self, reason: impl Into<String>) -> TraceError {
        TraceError::BadRow {
            path: self.path.to_owned(),
            line: line_at(self.path, self.byte),
            reason: reason.into(),
        }
    }
}

/// A CSV-level error (wrong field count, bad UTF-8, I/O) as a [`TraceError`].
fn csv_error(path: &Path, error: csv::Error) -> TraceError {
    let line = error.position().map_or(0, |p| line_at(path, p.byte()));
    match error.into_kind() {
        csv::ErrorKind::Io(source) => TraceError::Io {
            path: path.to_owned(),
            source,
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => TraceError::BadRow {
            path: path.to_owned(),
            line,
            reason: format!("{len} fields where the header has {expected_len}"),
        },
        other => TraceError::BadRow {
            path: path.to_owned(),
            line,
            reason: format!("not CSV: {other:?}"),
        },
    }
}

/// The 1-based line of the file at `path` where the row at byte `offset`
/// begins: one more than the newlines before it, and past any blank lines
/// at `offset` (the csv crate's position for a row it skipped blank lines
/// to reach). Read again from the start, which is cheap next to what found
/// the error; 0 if the file cannot be read.
fn line_at(path: &Path, offset: u64) -> u64 {
    use std::io::{BufRead, Read};
    let Ok(file) = std::fs::File::open(path) else {
        return 0;
    };
    let mut reader = std::io::BufReader::new(file);
    let mut line = 1;
    let mut read = 0;
    let mut byte = [0u8];
    loop {
        match reader.read(&mut byte) {
            Ok(1) if read < offset || matches!(byte[0], b'\n' | b'\r') => {
                read += 1;
                line += u64::from(byte[0] == b'\n');
            }
            Ok(_) => return line,
            Err(_) => return 0,
        }
        if read >= offset && reader.fill_buf().map_or(true, <[u8]>::is_empty) {
            return line;
        }
    }
}
