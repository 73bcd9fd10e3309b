//! Functions' key-value state, in the function store.
//!
//! Tables:
//! - `kv`: (function, key) → value
//! - `kv_usage`: function → (keys, bytes), kept in step with `kv` in every
//!   transaction that writes it, so a quota is checked without a scan.
//!
//! An invocation's writes commit in one transaction ([`FunctionStore::kv_commit`]),
//! which checks the quota again against what other invocations committed
//! meanwhile. Removing a function deletes its state in the transaction that
//! deletes its record (`remove` calls [`delete_all`]).

use super::FunctionStore;
use crate::error::RuntimeError;
use faasrt_host_api::{KvQuota, KvReadError, KvReader, KvUsage, KvWrites, entry_bytes};
use redb::{ReadableDatabase, ReadableTable, TableDefinition, WriteTransaction};
use std::sync::Arc;

const KV: TableDefinition<(&str, &[u8]), &[u8]> = TableDefinition::new("kv");
const KV_USAGE: TableDefinition<&str, (u64, u64)> = TableDefinition::new("kv_usage");

/// One stored entry, as a listing shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KvEntry {
    /// The key.
    pub key: Vec<u8>,
    /// The length of its value, in bytes.
    pub value_bytes: u64,
}

/// Creates the tables, so readers never see them missing.
pub(super) fn create_tables(txn: &WriteTransaction) -> Result<(), RuntimeError> {
    txn.open_table(KV)?;
    txn.open_table(KV_USAGE)?;
    Ok(())
}

/// Deletes every entry of `function`, in `txn`.
pub(super) fn delete_all(txn: &WriteTransaction, function: &str) -> Result<(), RuntimeError> {
    let mut table = txn.open_table(KV)?;
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for entry in table.range((function, &[][..])..)? {
        let (key, _) = entry?;
        let (owner, key) = key.value();
        if owner != function {
            break;
        }
        keys.push(key.to_vec());
    }
    for key in &keys {
        table.remove((function, key.as_slice()))?;
    }
    txn.open_table(KV_USAGE)?.remove(function)?;
    Ok(())
}

impl FunctionStore {
    /// The committed value of `key` in `function`'s state.
    pub(crate) fn kv_get(
        &self,
        function: &str,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, RuntimeError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KV)?;
        Ok(table
            .get((function, key))?
            .map(|value| value.value().to_vec()))
    }

    /// What `function`'s state holds.
    pub(crate) fn kv_usage(&self, function: &str) -> Result<KvUsage, RuntimeError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KV_USAGE)?;
        Ok(usage_from(table.get(function)?.map(|v| v.value())))
    }

    /// Up to `limit` entries of `function` whose keys start with `prefix`,
    /// in key order, after the key `after` if given.
    pub(crate) fn kv_list(
        &self,
        function: &str,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<Vec<KvEntry>, RuntimeError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(KV)?;
        let start = match after {
            Some(after) if after >= prefix => after,
            _ => prefix,
        };
        let mut entries = Vec::new();
        for entry in table.range((function, start)..)? {
            let (key, value) = entry?;
            let (owner, key) = key.value();
            if owner != function || !key.starts_with(prefix) {
                break;
            }
            if after == Some(key) {
                continue;
            }
            if entries.len() == limit {
                break;
            }
            entries.push(KvEntry {
                key: key.to_vec(),
                value_bytes: value.value().len() as u64,
            });
        }
        Ok(entries)
    }

    /// Commits `writes` to `function`'s state in one transaction, if the
    /// function still exists and the result is within `quota` (a write
    /// that only shrinks the state always is). Returns the new usage.
    ///
    /// # Errors
    /// [`RuntimeError::NotFound`] when the function was removed meanwhile
    /// (nothing is written), [`RuntimeError::KvQuotaExceeded`],
    /// [`RuntimeError::Store`].
    pub(crate) fn kv_commit(
        &self,
        function: &str,
        writes: &KvWrites,
        quota: KvQuota,
    ) -> Result<KvUsage, RuntimeError> {
        let txn = self.db.begin_write()?;
        if txn.open_table(super::FUNCTIONS)?.get(function)?.is_none() {
            return Err(RuntimeError::NotFound {
                name: function.to_owned(),
            });
        }
        let before = usage_from(txn.open_table(KV_USAGE)?.get(function)?.map(|v| v.value()));
        let mut usage = before;
        {
            let mut table = txn.open_table(KV)?;
            for (key, value) in writes {
                let old = match value {
                    Some(value) => table.insert((function, key.as_slice()), value.as_slice())?,
                    None => table.remove((function, key.as_slice()))?,
                };
                if let Some(old) = old {
                    usage.keys -= 1;
                    usage.bytes -= entry_bytes(key, old.value());
                }
                if let Some(value) = value {
                    usage.keys += 1;
                    usage.bytes += entry_bytes(key, value);
                }
            }
        }
        let grows = usage.keys > before.keys || usage.bytes > before.bytes;
        if grows && !usage.within(quota) {
            // Dropping the transaction aborts it: nothing is written.
            return Err(RuntimeError::KvQuotaExceeded {
                function: function.to_owned(),
                max_keys: quota.max_keys,
                max_bytes: quota.max_bytes,
                keys: usage.keys,
                bytes: usage.bytes,
            });
        }
        txn.open_table(KV_USAGE)?
            .insert(function, (usage.keys, usage.bytes))?;
        txn.commit()?;
        Ok(usage)
    }
}

fn usage_from(stored: Option<(u64, u64)>) -> KvUsage {
    let (keys, bytes) = stored.unwrap_or_default();
    KvUsage { keys, bytes }
}

/// How an invocation reads its function's committed state.
pub(crate) struct StoreKvReader {
    pub(crate) store: Arc<FunctionStore>,
    pub(crate) function: String,
}

impl KvReader for StoreKvReader {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvReadError> {
        self.store
            .kv_get(&self.function, key)
            .map_err(|error| KvReadError(error.to_string()))
    }

    fn usage(&self) -> Result<KvUsage, KvReadError> {
        self.store
            .kv_usage(&self.function)
            .map_err(|error| KvReadError(error.to_string()))
    }
}

#[cfg(test)]
mod tests;
