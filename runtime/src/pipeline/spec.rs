//! Pipeline specs: a shell-like string (`grep error | wc -l`) or JSON
//! (`{"stages": [{"function": "grep", "args": ["error"]}, ...]}`).

use crate::error::RuntimeError;
use crate::name::FunctionName;
use serde::{Deserialize, Serialize};

/// One stage: a function and the arguments it is invoked with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageSpec {
    /// The deployed function to run.
    pub function: String,
    /// Arguments after the function's own deploy arguments.
    #[serde(default)]
    pub args: Vec<String>,
}

/// The stages of a pipeline, first to last.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PipelineSpec {
    /// At least one stage.
    pub stages: Vec<StageSpec>,
}

fn invalid(reason: impl Into<String>) -> RuntimeError {
    RuntimeError::InvalidPipeline {
        reason: reason.into(),
    }
}

impl PipelineSpec {
    /// Parses a shell-like spec: stages separated by `|`, words separated by
    /// whitespace, `'single'` and `"double"` quotes and backslash escapes as
    /// in a POSIX shell (no variables, no globbing, no redirections).
    ///
    /// # Errors
    /// [`RuntimeError::InvalidPipeline`] naming the problem: an empty spec,
    /// an empty stage, an unterminated quote, a bad function name.
    pub fn parse(text: &str) -> Result<Self, RuntimeError> {
        let mut stages: Vec<Vec<String>> = vec![Vec::new()];
        let mut word: Option<String> = None;
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            match c {
                '|' => {
                    if let Some(w) = word.take() {
                        stages.last_mut().expect("one stage").push(w);
                    }
                    stages.push(Vec::new());
                }
                c if c.is_whitespace() => {
                    if let Some(w) = word.take() {
                        stages.last_mut().expect("one stage").push(w);
                    }
                }
                '\'' => {
                    let w = word.get_or_insert_with(String::new);
                    loop {
                        match chars.next() {
                            Some('\'') => break,
                            Some(c) => w.push(c),
                            None => return Err(invalid("unterminated single quote")),
                        }
                    }
                }
                '"' => {
                    let w = word.get_or_insert_with(String::new);
                    loop {
                        match chars.next() {
                            Some('"') => break,
                            Some('\\') => match chars.next() {
                                Some(c @ ('"' | '\\' | '$' | '`')) => w.push(c),
                                Some(c) => {
                                    w.push('\\');
                                    w.push(c);
                                }
                                None => return Err(invalid("unterminated double quote")),
                            },
                            Some(c) => w.push(c),
                            None => return Err(invalid("unterminated double quote")),
                        }
                    }
                }
                '\\' => match chars.next() {
                    Some(c) => word.get_or_insert_with(String::new).push(c),
                    None => return Err(invalid("a trailing backslash escapes nothing")),
                },
                c => word.get_or_insert_with(String::new).push(c),
            }
        }
        if let Some(w) = word.take() {
            stages.last_mut().expect("one stage").push(w);
        }
        if stages.len() == 1 && stages[0].is_empty() {
            return Err(invalid("the pipeline is empty"));
        }
        let stages = stages
            .into_iter()
            .enumerate()
            .map(|(i, words)| {
                let mut words = words.into_iter();
                let function = words
                    .next()
                    .ok_or_else(|| invalid(format!("stage {} is empty", i + 1)))?;
                Ok(StageSpec {
                    function,
                    args: words.collect(),
                })
            })
            .collect::<Result<Vec<_>, RuntimeError>>()?;
        let spec = PipelineSpec { stages };
        spec.check()?;
        Ok(spec)
    }

    /// Parses the JSON form.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidPipeline`] for malformed JSON, no stages, or a
    /// bad function name.
    pub fn from_json(bytes: &[u8]) -> Result<Self, RuntimeError> {
        let spec: PipelineSpec = serde_json::from_slice(bytes)
            .map_err(|e| invalid(format!("malformed JSON spec: {e}")))?;
        spec.check()?;
        Ok(spec)
    }

    /// Checks that there is a stage and that every function name is valid.
    fn check(&self) -> Result<(), RuntimeError> {
        if self.stages.is_empty() {
            return Err(invalid("the pipeline has no stages"));
        }
        for (i, stage) in self.stages.iter().enumerate() {
            FunctionName::parse(&stage.function)
                .map_err(|e| invalid(format!("stage {}: {e}", i + 1)))?;
        }
        Ok(())
    }

    /// The spec as a shell-like string (arguments quoted where needed).
    pub fn to_shell(&self) -> String {
        self.stages
            .iter()
            .map(|stage| {
                std::iter::once(stage.function.clone())
                    .chain(stage.args.iter().map(|a| quote(a)))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect::<Vec<_>>()
            .join(" | ")
    }
}

fn quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stages(text: &str) -> Vec<(String, Vec<String>)> {
        PipelineSpec::parse(text)
            .expect("parses")
            .stages
            .into_iter()
            .map(|s| (s.function, s.args))
            .collect()
    }

    fn s(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn stages_split_on_bars_and_words_on_spaces() {
        assert_eq!(
            stages("grep error | wc -l"),
            vec![("grep".into(), s(&["error"])), ("wc".into(), s(&["-l"]))]
        );
        assert_eq!(
            stages("cat|cat"),
            vec![("cat".into(), vec![]), ("cat".into(), vec![])]
        );
    }

    #[test]
    fn quotes_and_escapes_work_as_in_a_shell() {
        assert_eq!(
            stages(r#"grep 'a | b' | grep "say \"hi\"" | grep x\ y"#),
            vec![
                ("grep".into(), s(&["a | b"])),
                ("grep".into(), s(&[r#"say "hi""#])),
                ("grep".into(), s(&["x y"])),
            ]
        );
        assert_eq!(stages("grep ''"), vec![("grep".into(), s(&[""]))]);
    }

    #[test]
    fn malformed_specs_name_the_problem() {
        for (text, problem) in [
            ("", "empty"),
            ("   ", "empty"),
            ("cat | | wc", "stage 2 is empty"),
            ("cat |", "stage 2 is empty"),
            ("grep 'open", "unterminated single quote"),
            ("grep \"open", "unterminated double quote"),
            ("Cat", "stage 1: invalid function name"),
        ] {
            match PipelineSpec::parse(text) {
                Err(RuntimeError::InvalidPipeline { reason }) => {
                    assert!(reason.contains(problem), "{text:?}: {reason}")
                }
                other => panic!("{text:?} gave {other:?}"),
            }
        }
    }

    #[test]
    fn json_specs_parse_and_are_checked() {
        let spec = PipelineSpec::from_json(
            br#"{"stages": [{"function": "grep", "args": ["x"]}, {"function": "wc"}]}"#,
        )
        .expect("parses");
        assert_eq!(spec, PipelineSpec::parse("grep x | wc").unwrap());
        assert!(PipelineSpec::from_json(br#"{"stages": []}"#).is_err());
        assert!(PipelineSpec::from_json(b"not json").is_err());
    }

    #[test]
    fn to_shell_round_trips() {
        let spec = PipelineSpec::parse(r#"grep 'a b' | grep "it's" | wc -l"#).unwrap();
        assert_eq!(PipelineSpec::parse(&spec.to_shell()).unwrap(), spec);
    }
}
