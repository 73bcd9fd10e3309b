//! Which deployed function serves each trace function: one for all, a
//! list shared out by a stable hash of the trace id, or explicit pairs.

use std::collections::HashMap;

/// How trace functions map to deployed faasrt functions.
#[derive(Clone, Debug, PartialEq)]
pub struct Mapping {
    explicit: HashMap<String, String>,
    shared: Vec<String>,
}

/// A mapping that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum MappingError {
    /// A `--map` pair is not `TRACE_ID=FUNCTION`.
    #[error("{0:?} is not TRACE_ID=FUNCTION")]
    BadPair(String),
    /// Neither pairs nor functions were given.
    #[error("no function to invoke: give --function NAME (repeatable) or --map TRACE_ID=FUNCTION")]
    Nothing,
    /// A trace function has no deployed function.
    #[error(
        "trace function {0} has no function to invoke: map it with --map, or give --function for the rest"
    )]
    Unmapped(String),
}

impl Mapping {
    /// `pairs` (`TRACE_ID=FUNCTION`) first; every other trace function to
    /// one of `shared`, by a stable hash of its id (so the same trace
    /// function always goes to the same deployed one).
    ///
    /// # Errors
    /// [`MappingError::BadPair`], [`MappingError::Nothing`].
    pub fn new(pairs: &[String], shared: Vec<String>) -> Result<Mapping, MappingError> {
        let explicit = pairs
            .iter()
            .map(|pair| match pair.split_once('=') {
                Some((trace, function)) if !trace.is_empty() && !function.is_empty() => {
                    Ok((trace.to_owned(), function.to_owned()))
                }
                _ => Err(MappingError::BadPair(pair.clone())),
            })
            .collect::<Result<HashMap<_, _>, _>>()?;
        if explicit.is_empty() && shared.is_empty() {
            return Err(MappingError::Nothing);
        }
        Ok(Mapping { explicit, shared })
    }

    /// The deployed function for trace function `id`.
    ///
    /// # Errors
    /// [`MappingError::Unmapped`] when `id` has no pair and there is no
    /// shared function.
    pub fn target(&self, id: &str) -> Result<&str, MappingError> {
        if let Some(function) = self.explicit.get(id) {
            return Ok(function);
        }
        if self.shared.is_empty() {
            return Err(MappingError::Unmapped(id.to_owned()));
        }
        let hash = xxhash_rust::xxh3::xxh3_64(id.as_bytes());
        Ok(&self.shared[(hash % self.shared.len() as u64) as usize])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_win_and_the_rest_share_the_functions_stably() {
        let mapping =
            Mapping::new(&["o/a/f=hello".into()], vec!["upper".into(), "wc".into()]).unwrap();
        assert_eq!(mapping.target("o/a/f").unwrap(), "hello");
        let picks: Vec<&str> = (0..50)
            .map(|i| mapping.target(&format!("x/{i}")).unwrap())
            .collect();
        assert!(
            picks.contains(&"upper") && picks.contains(&"wc"),
            "{picks:?}"
        );
        assert_eq!(
            mapping.target("x/7").unwrap(),
            mapping.target("x/7").unwrap()
        );
    }

    #[test]
    fn a_trace_function_without_a_pair_or_a_shared_function_is_an_error() {
        let mapping = Mapping::new(&["a=b".into()], vec![]).unwrap();
        assert_eq!(mapping.target("c"), Err(MappingError::Unmapped("c".into())));
        assert_eq!(
            Mapping::new(&["a".into()], vec![]),
            Err(MappingError::BadPair("a".into()))
        );
        assert_eq!(Mapping::new(&[], vec![]), Err(MappingError::Nothing));
    }
}
