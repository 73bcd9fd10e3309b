//! The state a keyed replica reads and writes: values it has loaded from
//! the store, and which of them the current epoch changed. The host owns
//! it; a function sees a key's value in its batch and answers with the
//! new one.

use crate::error::StreamError;
use crate::store::{StateChange, StreamStore};
use foldhash::{HashMap, HashSet};

/// One keyed replica's view of its stage's state.
pub(crate) struct KeyedState {
    stage: u32,
    /// Values known here: loaded, or written this run (`None`: no value).
    values: HashMap<Vec<u8>, Option<Vec<u8>>>,
    /// Keys written since the last barrier.
    dirty: HashSet<Vec<u8>>,
}

impl KeyedState {
    /// Empty state of stage `stage`.
    pub(crate) fn new(stage: u32) -> Self {
        KeyedState {
            stage,
            values: HashMap::default(),
            dirty: HashSet::default(),
        }
    }

    /// Loads from the store the keys of `keys` not known yet.
    ///
    /// # Errors
    /// [`StreamError::Store`].
    pub(crate) fn load(
        &mut self,
        store: &StreamStore,
        stream: &str,
        keys: &[&[u8]],
    ) -> Result<(), StreamError> {
        let missing: Vec<&[u8]> = keys
            .iter()
            .copied()
            .filter(|key| !self.values.contains_key(*key))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let loaded = store.load_state(stream, self.stage, &missing)?;
        for (key, value) in missing.into_iter().zip(loaded) {
            self.values.insert(key.to_vec(), value);
        }
        Ok(())
    }

    /// The value of `key` (loaded first).
    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.values.get(key).and_then(|value| value.as_deref())
    }

    /// Sets (or with `None` deletes) the value of `key`, reusing the memory
    /// of the value it replaces.
    pub(crate) fn set(&mut self, key: &[u8], value: Option<&[u8]>) {
        if !self.dirty.contains(key) {
            self.dirty.insert(key.to_vec());
        }
        match (self.values.get_mut(key), value) {
            (Some(Some(old)), Some(value)) => {
                old.clear();
                old.extend_from_slice(value);
            }
            (Some(slot), value) => *slot = value.map(<[u8]>::to_vec),
            (None, value) => {
                self.values.insert(key.to_vec(), value.map(<[u8]>::to_vec));
            }
        }
    }

    /// The changes since the last call, each key once, in key order.
    pub(crate) fn take_changes(&mut self) -> Vec<StateChange> {
        let mut keys: Vec<Vec<u8>> = self.dirty.drain().collect();
        keys.sort_unstable();
        keys.into_iter()
            .map(|key| StateChange {
                stage: self.stage,
                value: self.values.get(&key).cloned().flatten(),
                key,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Checkpoint;

    #[test]
    fn reads_see_the_epochs_own_writes_and_changes_come_once() {
        let store = StreamStore::in_memory().expect("store");
        store
            .commit_epoch(
                "s",
                Checkpoint::default(),
                &[StateChange {
                    stage: 2,
                    key: b"a".to_vec(),
                    value: Some(b"1".to_vec()),
                }],
                &crate::batch::Batch::new(),
            )
            .expect("commit");
        let mut state = KeyedState::new(2);
        state.load(&store, "s", &[b"a", b"b"]).expect("load");
        assert_eq!(state.get(b"a"), Some(&b"1"[..]));
        assert_eq!(state.get(b"b"), None);
        state.set(b"b", Some(b"2"));
        state.set(b"a", None);
        state.set(b"b", Some(b"3"));
        assert_eq!(state.get(b"b"), Some(&b"3"[..]));
        let changes = state.take_changes();
        assert_eq!(
            changes,
            [
                StateChange {
                    stage: 2,
                    key: b"a".to_vec(),
                    value: None
                },
                StateChange {
                    stage: 2,
                    key: b"b".to_vec(),
                    value: Some(b"3".to_vec())
                }
            ]
        );
        assert!(state.take_changes().is_empty());
    }
}
