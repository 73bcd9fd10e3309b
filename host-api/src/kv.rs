//! Key-value state of ordinary invocations: the per-invocation transaction
//! behind the `faasrt::kv_*` imports (which `kv_imports.rs` links).
//!
//! State is scoped to the function. An invocation reads the committed
//! values (through a [`KvReader`] the runtime gives it) and its own writes
//! (read-your-writes); its writes are buffered in a [`KvTransaction`] and
//! committed by the runtime in one store transaction if, and only if, the
//! invocation succeeds. A trap, a timeout or a non-zero exit leaves the
//! state as it was, so a retried invocation never sees half of a failed one.
//!
//! The imports, all on the caller's exported `memory`:
//!
//! - `kv_get(key_ptr, key_len, buf_ptr, buf_len) -> i64`: the value's
//!   length, of which the first `min(length, buf_len)` bytes were copied to
//!   `buf_ptr` (a guest whose buffer was short calls again with a larger
//!   one); [`KV_NOT_FOUND`] when there is no value;
//! - `kv_put(key_ptr, key_len, value_ptr, value_len) -> i32`: 0;
//! - `kv_delete(key_ptr, key_len) -> i32`: 0, whether or not there was a
//!   value.
//!
//! Each returns a negative `KV_ERR_*` code when it cannot do what it was
//! asked; a range outside linear memory traps.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// The longest key, in bytes.
pub const MAX_KV_KEY_BYTES: usize = 1024;
/// The longest value, in bytes.
pub const MAX_KV_VALUE_BYTES: usize = 1 << 20;

/// `kv_get`: the key has no value.
pub const KV_NOT_FOUND: i64 = -1;
/// The key is empty or longer than [`MAX_KV_KEY_BYTES`].
pub const KV_ERR_KEY_SIZE: i32 = -2;
/// The value is longer than [`MAX_KV_VALUE_BYTES`].
pub const KV_ERR_VALUE_TOO_LARGE: i32 = -3;
/// The write would take the function past its key or byte quota.
pub const KV_ERR_QUOTA: i32 = -4;
/// This invocation has no key-value state (a stream stage keeps its state
/// through the records API; `faasrt run` has no store).
pub const KV_ERR_UNAVAILABLE: i32 = -5;
/// The store could not be read.
pub const KV_ERR_STORE: i32 = -6;

/// Why the committed state could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the key-value store could not be read: {0}")]
pub struct KvReadError(pub String);

/// The committed key-value state of one function, as an invocation reads it.
pub trait KvReader: Send + Sync {
    /// The committed value of `key`, if any.
    ///
    /// # Errors
    /// The store could not be read.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvReadError>;

    /// What the committed state holds.
    ///
    /// # Errors
    /// The store could not be read.
    fn usage(&self) -> Result<KvUsage, KvReadError>;
}

/// What a function's state may hold, in all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KvQuota {
    /// The most keys.
    pub max_keys: u64,
    /// The most bytes, keys and values together.
    pub max_bytes: u64,
}

/// What a function's state holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KvUsage {
    /// Keys that have a value.
    pub keys: u64,
    /// Bytes of those keys and their values.
    pub bytes: u64,
}

impl KvUsage {
    /// Whether this usage is within `quota`.
    pub fn within(&self, quota: KvQuota) -> bool {
        self.keys <= quota.max_keys && self.bytes <= quota.max_bytes
    }
}

/// Why a write was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum KvWriteError {
    /// The key is empty or too long.
    #[error("a key must be 1 to {MAX_KV_KEY_BYTES} bytes long, got {0}")]
    KeySize(usize),
    /// The value is too long.
    #[error("a value may be at most {MAX_KV_VALUE_BYTES} bytes long, got {0}")]
    ValueTooLarge(usize),
    /// The write would exceed the function's quota.
    #[error(
        "the function's key-value quota ({} keys, {} bytes) would be exceeded: {} keys, {} bytes",
        .quota.max_keys, .quota.max_bytes, .would_be.keys, .would_be.bytes
    )]
    Quota {
        /// The quota.
        quota: KvQuota,
        /// The usage the write would have led to.
        would_be: KvUsage,
    },
}

impl KvWriteError {
    /// The code the guest sees.
    pub(crate) fn code(&self) -> i32 {
        match self {
            KvWriteError::KeySize(_) => KV_ERR_KEY_SIZE,
            KvWriteError::ValueTooLarge(_) => KV_ERR_VALUE_TOO_LARGE,
            KvWriteError::Quota { .. } => KV_ERR_QUOTA,
        }
    }
}

/// Checks a key's length.
///
/// # Errors
/// [`KvWriteError::KeySize`].
pub fn check_key(key: &[u8]) -> Result<(), KvWriteError> {
    if key.is_empty() || key.len() > MAX_KV_KEY_BYTES {
        return Err(KvWriteError::KeySize(key.len()));
    }
    Ok(())
}

/// Checks a value's length.
///
/// # Errors
/// [`KvWriteError::ValueTooLarge`].
pub fn check_value(value: &[u8]) -> Result<(), KvWriteError> {
    if value.len() > MAX_KV_VALUE_BYTES {
        return Err(KvWriteError::ValueTooLarge(value.len()));
    }
    Ok(())
}

/// The bytes an entry counts against the quota.
pub fn entry_bytes(key: &[u8], value: &[u8]) -> u64 {
    (key.len() + value.len()) as u64
}

/// The writes of one invocation, in key order: `Some(value)` puts, `None`
/// deletes.
pub type KvWrites = BTreeMap<Vec<u8>, Option<Vec<u8>>>;

/// One invocation's view of its function's state: the committed values,
/// its own writes over them, and the quota they must stay within.
///
/// The runtime keeps a clone (the handle is shared) to take the writes
/// once the invocation has ended ([`KvTransaction::take_writes`]).
#[derive(Clone)]
pub struct KvTransaction {
    inner: Arc<Mutex<TransactionState>>,
}

struct TransactionState {
    reader: Arc<dyn KvReader>,
    quota: KvQuota,
    /// The usage the invocation's writes lead to; read from the store at
    /// the first write, so an invocation that never writes never asks.
    usage: Option<KvUsage>,
    writes: KvWrites,
    /// The committed size of every key written (`None`: it had no value),
    /// so that a second write of a key does not read it again.
    committed: BTreeMap<Vec<u8>, Option<u64>>,
}

impl KvTransaction {
    /// A transaction over `reader`, whose function may use `quota`.
    pub fn new(reader: Arc<dyn KvReader>, quota: KvQuota) -> Self {
        KvTransaction {
            inner: Arc::new(Mutex::new(TransactionState {
                reader,
                quota,
                usage: None,
                writes: KvWrites::new(),
                committed: BTreeMap::new(),
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, TransactionState> {
        // A panic while holding it cannot leave it half-updated in a way a
        // later read would trust: the invocation has failed and its writes
        // are discarded.
        self.inner
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }

    /// The value of `key`: this invocation's write, else the committed one.
    ///
    /// # Errors
    /// The store could not be read.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvReadError> {
        let state = self.state();
        if let Some(written) = state.writes.get(key) {
            return Ok(written.clone());
        }
        state.reader.get(key)
    }

    /// Puts `value` under `key` (`None`: deletes it), if the quota allows.
    ///
    /// # Errors
    /// [`KvWriteError`] says why it was refused; a read of the committed
    /// size that failed is a [`KvReadError`].
    pub fn write(&self, key: &[u8], value: Option<&[u8]>) -> Result<(), KvTransactionError> {
        check_key(key)?;
        if let Some(value) = value {
            check_value(value)?;
        }
        let mut state = self.state();
        let current = match state.usage {
            Some(usage) => usage,
            None => state.reader.usage()?,
        };
        let before = match state.writes.get(key) {
            Some(written) => written.as_deref().map(|v| entry_bytes(key, v)),
            None => state.committed_size(key)?,
        };
        let after = value.map(|v| entry_bytes(key, v));
        let mut usage = current;
        if let Some(bytes) = before {
            usage.keys -= 1;
            usage.bytes -= bytes;
        }
        if let Some(bytes) = after {
            usage.keys += 1;
            usage.bytes += bytes;
        }
        // Shrinking is always allowed, even over a quota lowered since.
        let grows = usage.keys > current.keys || usage.bytes > current.bytes;
        if grows && !usage.within(state.quota) {
            return Err(KvWriteError::Quota {
                quota: state.quota,
                would_be: usage,
            }
            .into());
        }
        state.usage = Some(usage);
        state.writes.insert(key.to_vec(), value.map(<[u8]>::to_vec));
        Ok(())
    }

    /// Takes the writes made so far, leaving none.
    pub fn take_writes(&self) -> KvWrites {
        std::mem::take(&mut self.state().writes)
    }
}

impl TransactionState {
    fn committed_size(&mut self, key: &[u8]) -> Result<Option<u64>, KvReadError> {
        if let Some(size) = self.committed.get(key) {
            return Ok(*size);
        }
        let size = self.reader.get(key)?.map(|v| entry_bytes(key, &v));
        self.committed.insert(key.to_vec(), size);
        Ok(size)
    }
}

/// Why a transaction's write failed.
#[derive(Debug, thiserror::Error)]
pub enum KvTransactionError {
    /// The write was refused.
    #[error(transparent)]
    Refused(#[from] KvWriteError),
    /// The committed state could not be read.
    #[error(transparent)]
    Read(#[from] KvReadError),
}

impl KvTransactionError {
    /// The code the guest sees.
    pub(crate) fn code(&self) -> i32 {
        match self {
            KvTransactionError::Refused(refused) => refused.code(),
            KvTransactionError::Read(_) => KV_ERR_STORE,
        }
    }
}

/// Whether, and how, an invocation has key-value state.
#[derive(Clone, Default)]
pub enum KvAccess {
    /// Its function's state, through this transaction.
    Function(KvTransaction),
    /// None: every `kv_*` call returns [`KV_ERR_UNAVAILABLE`] and logs why.
    #[default]
    Unavailable,
}

impl KvAccess {
    /// The transaction a call named `what` acts on, or, when there is none,
    /// [`KV_ERR_UNAVAILABLE`] with the reason written to `log` (so that the
    /// function's author reads it). Shared by the wasm imports and the
    /// native channel.
    pub(crate) fn transaction(
        &self,
        log: &crate::LogTail,
        what: &str,
    ) -> Result<&KvTransaction, i32> {
        match self {
            KvAccess::Function(transaction) => Ok(transaction),
            KvAccess::Unavailable => {
                let _ = log.append(
                    format!(
                        "{what}: this invocation has no key-value state \
                         (a stream stage keeps its state through the records API; \
                         `faasrt run` has no store)\n"
                    )
                    .as_bytes(),
                );
                Err(KV_ERR_UNAVAILABLE)
            }
        }
    }
}

/// Writes why the call named `what` was refused to `log` and returns the
/// code the function sees.
pub(crate) fn log_refusal(log: &crate::LogTail, what: &str, error: &KvTransactionError) -> i32 {
    let _ = log.append(format!("{what}: {error}\n").as_bytes());
    error.code()
}

#[cfg(test)]
mod tests;
