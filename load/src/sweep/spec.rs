//! A dataset sweep's spec (FaaSLoad's generator mode): every function,
//! with every one of its inputs, with every combination of its
//! parameters' values, invoked `repetitions` times. JSON, or TOML for a
//! file named `*.toml`:
//!
//! ```toml
//! repetitions = 3
//!
//! [[functions]]
//! function = "grep"
//! inputs = [{ file = "logs/small.txt" }, { file = "logs/big.txt" }]
//! args = ["{pattern}"]
//! parameters = [{ name = "pattern", values = ["error", "warn"] }]
//!
//! [[functions]]
//! function = "synthetic"
//! inputs = [{ text = "work={work} memory={memory}" }]
//! parameters = [
//!   { name = "work", range = { from = 0, to = 4000, step = 1000 } },
//!   { name = "memory", values = [0, 16777216] },
//! ]
//! ```
//!
//! `{name}` in an argument or an inline text input is replaced by the
//! parameter's value; a file input is sent as it is (a path relative to
//! the spec's folder). The cells are numbered in a fixed order: function
//! by function, input by input, then the parameters like an odometer (the
//! last one fastest), so a checkpoint is the number of cells done.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// A whole sweep.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SweepSpec {
    /// Invocations of each cell, one after the other.
    #[serde(default = "one")]
    pub repetitions: u32,
    /// The functions swept.
    pub functions: Vec<FunctionSweep>,
}

fn one() -> u32 {
    1
}

/// One function's part of a sweep.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct FunctionSweep {
    /// The deployed function.
    pub function: String,
    /// Its inputs (none: one empty input).
    #[serde(default)]
    pub inputs: Vec<InputSpec>,
    /// Its arguments, with `{name}` placeholders.
    #[serde(default)]
    pub args: Vec<String>,
    /// Its parameters (none: one cell per input).
    #[serde(default)]
    pub parameters: Vec<Parameter>,
}

/// One input.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum InputSpec {
    /// A file's bytes, sent as they are.
    File(PathBuf),
    /// Text, with `{name}` placeholders.
    Text(String),
}

/// One parameter and the values it takes.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    /// Its name, for `{name}`.
    pub name: String,
    /// Its values, listed.
    #[serde(default)]
    pub values: Option<Vec<ParameterValue>>,
    /// Its values, `from`, `from + step`, ... up to `to` included.
    #[serde(default)]
    pub range: Option<Range>,
}

/// A listed parameter value: text or a number.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ParameterValue {
    /// A whole number.
    Integer(i64),
    /// A number with a fraction.
    Float(f64),
    /// Text.
    Text(String),
}

/// Evenly spaced values.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Range {
    /// The first value.
    pub from: f64,
    /// The last value, included when the steps land on it.
    pub to: f64,
    /// The step, > 0.
    pub step: f64,
}

/// One cell of the sweep: a function, an input, a value for each parameter.
#[derive(Clone, Debug, PartialEq)]
pub struct Cell {
    /// Its number, from 0, in the sweep's fixed order.
    pub index: usize,
    /// The function.
    pub function: String,
    /// The input's name: its file name, or `text`/`empty`.
    pub input_name: String,
    /// What to send.
    pub input: CellInput,
    /// `name=value` for each parameter, in the spec's order.
    pub parameters: Vec<(String, String)>,
    /// The arguments, placeholders replaced.
    pub args: Vec<String>,
}

/// A cell's input.
#[derive(Clone, Debug, PartialEq)]
pub enum CellInput {
    /// A file, read when the cell runs.
    File(PathBuf),
    /// Bytes given in the spec.
    Text(String),
}

/// A spec that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SweepSpecError {
    /// The file cannot be read.
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a sweep spec.
    #[error("{}: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with its place.
        message: String,
    },
    /// The spec reads but cannot be swept.
    #[error("{}: {reason}", path.display())]
    Invalid {
        /// What is wrong.
        reason: String,
        /// The file.
        path: PathBuf,
    },
}

/// Most cells one sweep may have.
pub const MAX_CELLS: usize = 1_000_000;

impl SweepSpec {
    /// Reads and checks `path` (TOML when it ends in `.toml`, else JSON).
    ///
    /// # Errors
    /// [`SweepSpecError`].
    pub fn read(path: &Path) -> Result<SweepSpec, SweepSpecError> {
        let text = std::fs::read_to_string(path).map_err(|source| SweepSpecError::Io {
            path: path.to_owned(),
            source,
        })?;
        let syntax = |message: String| SweepSpecError::Syntax {
            path: path.to_owned(),
            message,
        };
        let spec: SweepSpec = if path.extension().is_some_and(|e| e == "toml") {
            toml::from_str(&text).map_err(|e| syntax(e.to_string()))?
        } else {
            serde_json::from_str(&text).map_err(|e| syntax(e.to_string()))?
        };
        spec.check().map_err(|reason| SweepSpecError::Invalid {
            reason,
            path: path.to_owned(),
        })?;
        Ok(spec)
    }

    /// Whether the spec can be swept; the reason when not.
    ///
    /// # Errors
    /// What is wrong, naming the function and parameter.
    pub fn check(&self) -> Result<(), String> {
        if self.functions.is_empty() {
            return Err("no functions to sweep".into());
        }
        if self.repetitions == 0 {
            return Err("repetitions must be at least 1".into());
        }
        let mut cells = 0usize;
        for sweep in &self.functions {
            let name = &sweep.function;
            let mut combos = sweep.inputs.len().max(1);
            for p in &sweep.parameters {
                let count = match (&p.values, &p.range) {
                    (Some(values), None) if !values.is_empty() => values.len(),
                    (None, Some(r)) => {
                        if !(r.from.is_finite() && r.to.is_finite() && r.step.is_finite())
                            || r.step <= 0.0
                            || r.to < r.from
                        {
                            return Err(format!(
                                "{name}: parameter {}: a range needs from <= to and step > 0",
                                p.name
                            ));
                        }
                        range_values(r).len()
                    }
                    _ => {
                        return Err(format!(
                            "{name}: parameter {} needs either values (at least one) or a range",
                            p.name
                        ));
                    }
                };
                combos = combos.saturating_mul(count);
            }
            for placeholder in
                sweep
                    .args
                    .iter()
                    .chain(sweep.inputs.iter().filter_map(|i| match i {
                        InputSpec::Text(t) => Some(t),
                        InputSpec::File(_) => None,
                    }))
            {
                for used in placeholders(placeholder) {
                    if !sweep.parameters.iter().any(|p| p.name == used) {
                        return Err(format!("{name}: {{{used}}} names no parameter"));
                    }
                }
            }
            cells = cells.saturating_add(combos);
        }
        if cells > MAX_CELLS {
            return Err(format!(
                "{cells} cells is more than {MAX_CELLS}: cut a range or a list"
            ));
        }
        Ok(())
    }

    /// Every cell, in order; file inputs relative to `base` (the spec's
    /// folder).
    pub fn cells(&self, base: &Path) -> Vec<Cell> {
        let mut cells = Vec::new();
        for sweep in &self.functions {
            let inputs: Vec<(String, Option<&InputSpec>)> = if sweep.inputs.is_empty() {
                vec![("empty".into(), None)]
            } else {
                sweep
                    .inputs
                    .iter()
                    .map(|input| {
                        let name = match input {
                            InputSpec::File(path) => path.display().to_string(),
                            InputSpec::Text(_) => "text".into(),
                        };
                        (name, Some(input))
                    })
                    .collect()
            };
            let axes: Vec<(String, Vec<String>)> = sweep
                .parameters
                .iter()
                .map(|p| {
                    let values = match (&p.values, &p.range) {
                        (Some(values), _) => values.iter().map(ParameterValue::to_text).collect(),
                        (None, Some(range)) => range_values(range),
                        (None, None) => Vec::new(),
                    };
                    (p.name.clone(), values)
                })
                .collect();
            for (input_name, input) in &inputs {
                let mut odometer = vec![0usize; axes.len()];
                loop {
                    let parameters: Vec<(String, String)> = axes
                        .iter()
                        .zip(&odometer)
                        .map(|((name, values), &i)| (name.clone(), values[i].clone()))
                        .collect();
                    let input = match input {
                        None => CellInput::Text(String::new()),
                        Some(InputSpec::File(path)) => CellInput::File(base.join(path)),
                        Some(InputSpec::Text(text)) => CellInput::Text(fill(text, &parameters)),
                    };
                    cells.push(Cell {
                        index: cells.len(),
                        function: sweep.function.clone(),
                        input_name: input_name.clone(),
                        input,
                        args: sweep.args.iter().map(|a| fill(a, &parameters)).collect(),
                        parameters,
                    });
                    if !advance(&mut odometer, &axes) {
                        break;
                    }
                }
            }
        }
        cells
    }
}

impl ParameterValue {
    fn to_text(&self) -> String {
        match self {
            ParameterValue::Integer(i) => i.to_string(),
            ParameterValue::Float(f) => f.to_string(),
            ParameterValue::Text(t) => t.clone(),
        }
    }
}

/// The range's values as text: whole numbers without a fraction.
fn range_values(range: &Range) -> Vec<String> {
    let count = ((range.to - range.from) / range.step + 1e-9).floor() as usize + 1;
    (0..count.min(MAX_CELLS + 1))
        .map(|k| {
            let value = range.from + range.step * k as f64;
            if value.fract() == 0.0 && value.abs() < 9e15 {
                format!("{}", value as i64)
            } else {
                value.to_string()
            }
        })
        .collect()
}

/// The odometer's next position; false once it has gone all the way round.
fn advance(odometer: &mut [usize], axes: &[(String, Vec<String>)]) -> bool {
    for i in (0..odometer.len()).rev() {
        odometer[i] += 1;
        if odometer[i] < axes[i].1.len() {
            return true;
        }
        odometer[i] = 0;
    }
    false
}

/// The names between braces in `text`.
fn placeholders(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        names.push(&after[..close]);
        rest = &after[close + 1..];
    }
    names
}

/// `text` with each `{name}` replaced by its value.
fn fill(text: &str, parameters: &[(String, String)]) -> String {
    let mut filled = text.to_owned();
    for (name, value) in parameters {
        filled = filled.replace(&format!("{{{name}}}"), value);
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> SweepSpec {
        let spec: SweepSpec = serde_json::from_str(json).unwrap();
        spec.check().unwrap();
        spec
    }

    #[test]
    fn cells_cover_every_input_and_combination_in_a_fixed_order() {
        let s = spec(
            r#"{"repetitions": 2, "functions": [
                {"function": "grep", "inputs": [{"file": "a.txt"}, {"text": "x {n}"}], "args": ["{p}", "-n{n}"],
                 "parameters": [{"name": "p", "values": ["error", "warn"]}, {"name": "n", "range": {"from": 1, "to": 2, "step": 1}}]},
                {"function": "hello"}]}"#,
        );
        let cells = s.cells(Path::new("/specs"));
        assert_eq!(cells.len(), 2 * 2 * 2 + 1);
        assert_eq!(cells[0].input, CellInput::File("/specs/a.txt".into()));
        assert_eq!(cells[0].args, vec!["error", "-n1"]);
        assert_eq!(cells[1].args, vec!["error", "-n2"]);
        assert_eq!(cells[2].args, vec!["warn", "-n1"]);
        assert_eq!(cells[5].input, CellInput::Text("x 2".into()));
        assert_eq!(
            cells[5].parameters,
            vec![("p".into(), "error".into()), ("n".into(), "2".into())]
        );
        assert_eq!(cells[8].function, "hello");
        assert_eq!(cells[8].input, CellInput::Text(String::new()));
        assert!(cells.iter().enumerate().all(|(i, c)| c.index == i));
    }

    #[test]
    fn ranges_include_their_end_and_keep_fractions() {
        let r = |from, to, step| range_values(&Range { from, to, step });
        assert_eq!(
            r(0.0, 4000.0, 1000.0),
            vec!["0", "1000", "2000", "3000", "4000"]
        );
        assert_eq!(r(0.5, 1.0, 0.25), vec!["0.5", "0.75", "1"]);
        assert_eq!(r(1.0, 1.5, 1.0), vec!["1"]);
    }

    #[test]
    fn what_cannot_be_swept_is_refused_with_its_reason() {
        for (json, words) in [
            (r#"{"functions": []}"#, "no functions"),
            (
                r#"{"repetitions": 0, "functions": [{"function": "f"}]}"#,
                "at least 1",
            ),
            (
                r#"{"functions": [{"function": "f", "parameters": [{"name": "n"}]}]}"#,
                "f: parameter n needs either values",
            ),
            (
                r#"{"functions": [{"function": "f", "parameters": [{"name": "n", "range": {"from": 2, "to": 1, "step": 1}}]}]}"#,
                "from <= to",
            ),
            (
                r#"{"functions": [{"function": "f", "args": ["{m}"]}]}"#,
                "{m} names no parameter",
            ),
            (
                r#"{"functions": [{"function": "f", "parameters": [{"name": "n", "range": {"from": 0, "to": 2000000, "step": 1}}]}]}"#,
                "more than",
            ),
        ] {
            let spec: SweepSpec = serde_json::from_str(json).unwrap();
            let error = spec.check().unwrap_err();
            assert!(error.contains(words), "{json}: {error}");
        }
    }

    #[test]
    fn toml_and_json_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let toml_path = dir.path().join("s.toml");
        std::fs::write(
            &toml_path,
            "repetitions = 2\n[[functions]]\nfunction = \"f\"\ninputs = [{ text = \"w={w}\" }]\nparameters = [{ name = \"w\", values = [1, 2.5, \"x\"] }]\n",
        )
        .unwrap();
        let json_path = dir.path().join("s.json");
        std::fs::write(
            &json_path,
            r#"{"repetitions": 2, "functions": [{"function": "f", "inputs": [{"text": "w={w}"}], "parameters": [{"name": "w", "values": [1, 2.5, "x"]}]}]}"#,
        )
        .unwrap();
        let (a, b) = (
            SweepSpec::read(&toml_path).unwrap(),
            SweepSpec::read(&json_path).unwrap(),
        );
        assert_eq!(a, b);
        let inputs: Vec<CellInput> = a.cells(dir.path()).into_iter().map(|c| c.input).collect();
        assert_eq!(
            inputs,
            ["w=1", "w=2.5", "w=x"]
                .map(|t| CellInput::Text(t.into()))
                .to_vec()
        );
        std::fs::write(
            &json_path,
            r#"{"functions": [{"function": "f", "input": []}]}"#,
        )
        .unwrap();
        let error = SweepSpec::read(&json_path).unwrap_err().to_string();
        assert!(
            error.contains("unknown field") && error.contains("line 1"),
            "{error}"
        );
    }
}
