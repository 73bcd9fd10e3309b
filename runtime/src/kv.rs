//! Functions' key-value state: the transaction an invocation gets, its
//! commit once the invocation has succeeded, and the operator's API
//! ([`Runtime::kv_get`], [`Runtime::kv_put`], [`Runtime::kv_delete`],
//! [`Runtime::kv_list`]).
//!
//! State is scoped to the function and survives redeploys; removing the
//! function deletes it. The tables are in `store/kv.rs`.

use crate::error::RuntimeError;
use crate::function::FunctionInfo;
use crate::invocation::{Invocation, InvocationStatus};
use crate::name::FunctionName;
use crate::runtime::{Inner, Runtime};
use crate::store::kv::StoreKvReader;
use faasrt_host_api::{KvTransaction, KvUsage, KvWrites, check_key, check_value};
use std::sync::Arc;

pub use crate::store::kv::KvEntry;

/// The most entries one listing returns.
pub const MAX_KV_PAGE: usize = 1000;

/// One page of a function's keys, and what its state holds in all.
#[derive(Clone, Debug)]
pub struct KvPage {
    /// The entries, in key order.
    pub entries: Vec<KvEntry>,
    /// Whether more entries follow the last one (ask again with `after`
    /// set to its key).
    pub more: bool,
    /// The keys and bytes the function's state holds.
    pub usage: KvUsage,
}

impl Inner {
    /// A fresh transaction over `function`'s state, for one invocation.
    pub(crate) fn kv_transaction(&self, function: &FunctionInfo) -> KvTransaction {
        let reader = StoreKvReader {
            store: self.store.clone(),
            function: function.name.clone(),
        };
        KvTransaction::new(Arc::new(reader), function.limits.kv_quota())
    }

    /// Commits the writes of `kv` if `invocation` succeeded (and drops
    /// them if not). A commit that fails turns the invocation into a
    /// failed one that says why: its result must not be returned as if
    /// its state were stored.
    pub(crate) async fn commit_kv(
        &self,
        function: &FunctionInfo,
        kv: KvTransaction,
        mut invocation: Invocation,
    ) -> Invocation {
        let writes = kv.take_writes();
        if writes.is_empty() || !invocation.status.is_success() {
            return invocation;
        }
        if let Err(error) = self.commit_writes(function, writes).await {
            invocation.status = InvocationStatus::Trapped {
                message: format!("its key-value writes were not committed: {error}"),
                detail: format!("{error:?}"),
            };
        }
        invocation
    }

    async fn commit_writes(
        &self,
        function: &FunctionInfo,
        writes: KvWrites,
    ) -> Result<KvUsage, RuntimeError> {
        let store = self.store.clone();
        let name = function.name.clone();
        let quota = function.limits.kv_quota();
        self.blocking(move || store.kv_commit(&name, &writes, quota))
            .await?
    }
}

impl Runtime {
    /// The value of `key` in function `name`'s state.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::NotFound`],
    /// [`RuntimeError::InvalidKv`] for an empty or too long key,
    /// [`RuntimeError::Store`].
    pub async fn kv_get(&self, name: &str, key: &[u8]) -> Result<Option<Vec<u8>>, RuntimeError> {
        let function = self.kv_function(name)?;
        check_key(key)?;
        let store = self.inner.store.clone();
        let key = key.to_vec();
        self.inner
            .blocking(move || store.kv_get(&function.name, &key))
            .await?
    }

    /// Puts `value` under `key` in function `name`'s state, as one commit
    /// that counts against the function's quota. Returns the usage after.
    ///
    /// # Errors
    /// Those of [`Runtime::kv_get`], [`RuntimeError::InvalidKv`] for a
    /// value too long, [`RuntimeError::KvQuotaExceeded`].
    pub async fn kv_put(
        &self,
        name: &str,
        key: &[u8],
        value: &[u8],
    ) -> Result<KvUsage, RuntimeError> {
        check_value(value)?;
        self.kv_write(name, key, Some(value)).await
    }

    /// Deletes `key` from function `name`'s state (it need not exist).
    /// Returns the usage after.
    ///
    /// # Errors
    /// Those of [`Runtime::kv_get`].
    pub async fn kv_delete(&self, name: &str, key: &[u8]) -> Result<KvUsage, RuntimeError> {
        self.kv_write(name, key, None).await
    }

    /// Up to `limit` (at most [`MAX_KV_PAGE`]) entries of function `name`
    /// whose keys start with `prefix`, in key order, after `after`.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::NotFound`],
    /// [`RuntimeError::Store`].
    pub async fn kv_list(
        &self,
        name: &str,
        prefix: &[u8],
        after: Option<&[u8]>,
        limit: usize,
    ) -> Result<KvPage, RuntimeError> {
        let function = self.kv_function(name)?;
        let store = self.inner.store.clone();
        let (prefix, after) = (prefix.to_vec(), after.map(<[u8]>::to_vec));
        let limit = limit.min(MAX_KV_PAGE);
        self.inner
            .blocking(move || {
                let mut entries =
                    store.kv_list(&function.name, &prefix, after.as_deref(), limit + 1)?;
                let more = entries.len() > limit;
                entries.truncate(limit);
                let usage = store.kv_usage(&function.name)?;
                Ok(KvPage {
                    entries,
                    more,
                    usage,
                })
            })
            .await?
    }

    async fn kv_write(
        &self,
        name: &str,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<KvUsage, RuntimeError> {
        let function = self.kv_function(name)?;
        check_key(key)?;
        let writes = KvWrites::from([(key.to_vec(), value.map(<[u8]>::to_vec))]);
        self.inner.commit_writes(&function, writes).await
    }

    /// The record of deployed function `name`.
    fn kv_function(&self, name: &str) -> Result<FunctionInfo, RuntimeError> {
        let name = FunctionName::parse(name)?;
        Ok(self.inner.registry.lookup(name.as_str())?.info.clone())
    }
}
