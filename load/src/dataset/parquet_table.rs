//! A table of named, typed, optionally nullable columns of equal length,
//! written as one Parquet file (snappy-compressed, in row groups) and as
//! CSV with the same columns (a null is an empty cell). Every dataset file
//! of a run is one: `invocations.*`, `platform.*`.

use parquet::basic::{Compression, LogicalType, Repetition, Type as PhysicalType};
use parquet::column::writer::ColumnWriter;
use parquet::data_type::ByteArray;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::Type;
use std::path::Path;
use std::sync::Arc;

/// Rows per row group.
const ROW_GROUP: usize = 65_536;

/// One column's values; `None` is a null.
pub enum Values {
    /// Unsigned 64-bit integers (INT64, logical UINT_64).
    U64(Vec<Option<u64>>),
    /// Signed 32-bit integers (INT32).
    I32(Vec<Option<i32>>),
    /// Doubles.
    F64(Vec<Option<f64>>),
    /// UTF-8 text.
    Text(Vec<Option<String>>),
}

impl Values {
    fn len(&self) -> usize {
        match self {
            Values::U64(v) => v.len(),
            Values::I32(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::Text(v) => v.len(),
        }
    }

    /// Row `row` as CSV text; empty for a null.
    fn cell(&self, row: usize) -> String {
        match self {
            Values::U64(v) => v[row].map_or(String::new(), |x| x.to_string()),
            Values::I32(v) => v[row].map_or(String::new(), |x| x.to_string()),
            Values::F64(v) => v[row].map_or(String::new(), |x| x.to_string()),
            Values::Text(v) => v[row].clone().unwrap_or_default(),
        }
    }

    fn has_nulls(&self) -> bool {
        match self {
            Values::U64(v) => v.iter().any(Option::is_none),
            Values::I32(v) => v.iter().any(Option::is_none),
            Values::F64(v) => v.iter().any(Option::is_none),
            Values::Text(v) => v.iter().any(Option::is_none),
        }
    }
}

/// Columns in order.
#[derive(Default)]
pub struct Table {
    columns: Vec<(String, Values, bool)>,
}

/// Why a table could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ParquetError {
    /// Columns of different lengths.
    #[error("column {column} has {found} values, the table {expected}")]
    Ragged {
        /// The column.
        column: String,
        /// Its length.
        found: usize,
        /// The first column's.
        expected: usize,
    },
    /// The file could not be created.
    #[error("cannot create {path}: {source}")]
    Create {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The CSV file could not be written.
    #[error("writing {path}: {source}")]
    Csv {
        /// The file.
        path: String,
        /// Why.
        source: csv::Error,
    },
    /// The Parquet writer failed.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: parquet::errors::ParquetError,
    },
}

impl Table {
    /// Adds a column that may hold nulls.
    pub fn nullable(&mut self, name: &str, values: Values) -> &mut Self {
        self.columns.push((name.to_owned(), values, true));
        self
    }

    /// Adds a column of values that are never null (a `None` is written
    /// as a null anyway, and makes the column nullable).
    pub fn required(&mut self, name: &str, values: Values) -> &mut Self {
        let nullable = values.has_nulls();
        self.columns.push((name.to_owned(), values, nullable));
        self
    }

    /// Its rows, once every column has as many.
    fn rows(&self) -> Result<usize, ParquetError> {
        let rows = self.columns.first().map_or(0, |(_, v, _)| v.len());
        for (name, values, _) in &self.columns {
            if values.len() != rows {
                return Err(ParquetError::Ragged {
                    column: name.clone(),
                    found: values.len(),
                    expected: rows,
                });
            }
        }
        Ok(rows)
    }

    /// Writes the table to `path` as CSV: a header of the column names,
    /// then one line per row.
    ///
    /// # Errors
    /// [`ParquetError::Ragged`], [`ParquetError::Csv`].
    pub fn write_csv(&self, path: &Path) -> Result<(), ParquetError> {
        let rows = self.rows()?;
        let error = |source| ParquetError::Csv {
            path: path.display().to_string(),
            source,
        };
        let mut writer = csv::Writer::from_path(path).map_err(error)?;
        writer
            .write_record(self.columns.iter().map(|(name, _, _)| name))
            .map_err(error)?;
        for row in 0..rows {
            writer
                .write_record(self.columns.iter().map(|(_, values, _)| values.cell(row)))
                .map_err(error)?;
        }
        writer.flush().map_err(|e| error(e.into()))
    }

    /// Writes the table to `path` as Parquet.
    ///
    /// # Errors
    /// [`ParquetError`].
    pub fn write(&self, path: &Path) -> Result<(), ParquetError> {
        let shown = path.display().to_string();
        let rows = self.rows()?;
        let write_error = |source| ParquetError::Write {
            path: shown.clone(),
            source,
        };
        let file = std::fs::File::create(path).map_err(|source| ParquetError::Create {
            path: shown.clone(),
            source,
        })?;
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let mut writer = SerializedFileWriter::new(
            file,
            self.schema().map_err(write_error)?,
            Arc::new(properties),
        )
        .map_err(write_error)?;
        let mut start = 0;
        while start < rows || (rows == 0 && start == 0) {
            let end = (start + ROW_GROUP).min(rows);
            let mut group = writer.next_row_group().map_err(write_error)?;
            for (_, values, _) in &self.columns {
                let mut column = group
                    .next_column()
                    .map_err(write_error)?
                    .expect("one column writer per schema field");
                write_slice(column.untyped(), values, start, end).map_err(write_error)?;
                column.close().map_err(write_error)?;
            }
            group.close().map_err(write_error)?;
            if rows == 0 {
                break;
            }
            start = end;
        }
        writer.close().map_err(write_error)?;
        Ok(())
    }

    fn schema(&self) -> parquet::errors::Result<Arc<Type>> {
        let fields = self
            .columns
            .iter()
            .map(|(name, values, nullable)| {
                let (physical, logical) = match values {
                    Values::U64(_) => (PhysicalType::INT64, Some(LogicalType::integer(64, false))),
                    Values::I32(_) => (PhysicalType::INT32, None),
                    Values::F64(_) => (PhysicalType::DOUBLE, None),
                    Values::Text(_) => (PhysicalType::BYTE_ARRAY, Some(LogicalType::String)),
                };
                let repetition = if *nullable {
                    Repetition::OPTIONAL
                } else {
                    Repetition::REQUIRED
                };
                Type::primitive_type_builder(name, physical)
                    .with_repetition(repetition)
                    .with_logical_type(logical)
                    .build()
                    .map(Arc::new)
            })
            .collect::<parquet::errors::Result<Vec<_>>>()?;
        Ok(Arc::new(
            Type::group_type_builder("schema")
                .with_fields(fields)
                .build()?,
        ))
    }
}

/// Writes `values[start..end]` with a definition level per value (1: a
/// value, 0: a null; ignored by a required column).
fn write_slice(
    writer: &mut ColumnWriter<'_>,
    values: &Values,
    start: usize,
    end: usize,
) -> parquet::errors::Result<()> {
    fn split<T: Clone, U>(values: &[Option<T>], map: impl Fn(T) -> U) -> (Vec<U>, Vec<i16>) {
        let levels = values.iter().map(|v| i16::from(v.is_some())).collect();
        let present = values.iter().flatten().cloned().map(map).collect();
        (present, levels)
    }
    match (writer, values) {
        (ColumnWriter::Int64ColumnWriter(w), Values::U64(v)) => {
            let (present, levels) = split(&v[start..end], |x| x as i64);
            w.write_batch(&present, Some(&levels), None)?;
        }
        (ColumnWriter::Int32ColumnWriter(w), Values::I32(v)) => {
            let (present, levels) = split(&v[start..end], |x| x);
            w.write_batch(&present, Some(&levels), None)?;
        }
        (ColumnWriter::DoubleColumnWriter(w), Values::F64(v)) => {
            let (present, levels) = split(&v[start..end], |x| x);
            w.write_batch(&present, Some(&levels), None)?;
        }
        (ColumnWriter::ByteArrayColumnWriter(w), Values::Text(v)) => {
            let (present, levels) = split(&v[start..end], |x| ByteArray::from(x.into_bytes()));
            w.write_batch(&present, Some(&levels), None)?;
        }
        _ => unreachable!("the schema's physical type follows the column's values"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::RowAccessor;

    #[test]
    fn a_table_reads_back_with_its_types_and_nulls() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut table = Table::default();
        table
            .required(
                "n",
                Values::U64(vec![Some(1), Some(u64::from(u32::MAX) + 5)]),
            )
            .nullable("cpu", Values::F64(vec![Some(0.5), None]))
            .required(
                "name",
                Values::Text(vec![Some("a".into()), Some("b".into())]),
            )
            .nullable("code", Values::I32(vec![None, Some(-3)]));
        table.write(&path).unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 2);
        let rows: Vec<_> = reader
            .get_row_iter(None)
            .unwrap()
            .map(|r| r.unwrap())
            .collect();
        assert_eq!(rows[1].get_ulong(0).unwrap(), u64::from(u32::MAX) + 5);
        assert_eq!(rows[0].get_double(1).unwrap(), 0.5);
        assert!(rows[1].get_double(1).is_err(), "a null");
        assert_eq!(rows[1].get_string(2).unwrap(), "b");
        assert_eq!(rows[1].get_int(3).unwrap(), -3);
    }

    #[test]
    fn the_csv_has_the_same_columns_with_nulls_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut table = Table::default();
        table
            .required("n", Values::U64(vec![Some(1), Some(2)]))
            .nullable("cpu", Values::F64(vec![Some(0.25), None]))
            .required(
                "json",
                Values::Text(vec![Some(r#"{"a":1,"b":2}"#.into()), Some("x".into())]),
            );
        table.write_csv(&path).unwrap();
        let mut reader = csv::Reader::from_path(&path).unwrap();
        assert_eq!(reader.headers().unwrap(), vec!["n", "cpu", "json"]);
        let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.unwrap()).collect();
        assert_eq!(rows[0], vec!["1", "0.25", r#"{"a":1,"b":2}"#]);
        assert_eq!(rows[1], vec!["2", "", "x"]);
    }

    #[test]
    fn ragged_columns_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut table = Table::default();
        table
            .required("a", Values::U64(vec![Some(1)]))
            .required("b", Values::U64(vec![]));
        let error = table.write(&dir.path().join("t.parquet")).unwrap_err();
        assert!(
            error.to_string().contains("column b has 0 values"),
            "{error}"
        );
    }

    #[test]
    fn an_empty_table_is_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.parquet");
        let mut table = Table::default();
        table.required("a", Values::U64(vec![]));
        table.write(&path).unwrap();
        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        assert_eq!(reader.metadata().file_metadata().num_rows(), 0);
    }
}
