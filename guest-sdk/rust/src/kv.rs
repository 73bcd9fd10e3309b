//! Key-value state that survives between invocations, scoped to the
//! function: [`get`], [`put`] and [`delete`].
//!
//! An invocation reads what earlier invocations committed and its own
//! writes. Its writes are committed together when it succeeds (exit status
//! 0), before its result is returned; when it fails (an error, a trap, a
//! timeout) they are dropped, so a retry starts from the state the failed
//! attempt started from. Concurrent invocations are not isolated from each
//! other: the last to commit a key wins.
//!
//! Keys are 1 to [`MAX_KEY_BYTES`] bytes, values up to [`MAX_VALUE_BYTES`],
//! and the function's deploy sets how many keys and bytes its state may
//! hold in all (`faasrt deploy --kv-max-keys --kv-max-bytes`).
//!
//! For a stage of a stream, use [`records::State`](crate::records::State)
//! instead: its state is the stream's, checkpointed with the records; these
//! calls fail there with [`KvError::Unavailable`]. They need the wasm
//! runtime: built natively, every call fails so too.
//!
//! ```no_run
//! use faasrt_guest::kv;
//!
//! fn main() {
//!     faasrt_guest::run(|| {
//!         let visits = kv::get(b"visits")?
//!             .map(|v| String::from_utf8_lossy(&v).parse::<u64>().unwrap_or(0))
//!             .unwrap_or(0)
//!             + 1;
//!         kv::put(b"visits", visits.to_string().as_bytes())?;
//!         println!("visit {visits}");
//!         Ok(())
//!     })
//! }
//! ```

use std::fmt;

/// The longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 1024;
/// The longest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 1 << 20;

/// Why a key-value call failed. The host also writes the reason to the
/// function's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KvError {
    /// The key is empty or longer than [`MAX_KEY_BYTES`].
    KeySize,
    /// The value is longer than [`MAX_VALUE_BYTES`].
    ValueTooLarge,
    /// The write would take the function's state past its quota.
    Quota,
    /// This invocation has no key-value state (a stream stage, `faasrt
    /// run`, or a native build).
    Unavailable,
    /// The host could not read its store.
    Store,
    /// A code this SDK does not know (a newer host).
    Other(i32),
}

impl KvError {
    fn from_code(code: i64) -> Self {
        match code {
            -2 => KvError::KeySize,
            -3 => KvError::ValueTooLarge,
            -4 => KvError::Quota,
            -5 => KvError::Unavailable,
            -6 => KvError::Store,
            other => KvError::Other(other as i32),
        }
    }
}

impl fmt::Display for KvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KvError::KeySize => write!(f, "a key must be 1 to {MAX_KEY_BYTES} bytes long"),
            KvError::ValueTooLarge => write!(f, "a value may be at most {MAX_VALUE_BYTES} bytes"),
            KvError::Quota => f.write_str("the function's key-value quota would be exceeded"),
            KvError::Unavailable => f.write_str("this invocation has no key-value state"),
            KvError::Store => f.write_str("the host could not read its key-value store"),
            KvError::Other(code) => write!(f, "key-value call failed with code {code}"),
        }
    }
}

impl std::error::Error for KvError {}

impl From<KvError> for crate::Error {
    fn from(error: KvError) -> Self {
        crate::Error::failed(error.to_string())
    }
}

/// The value of `key`, if it has one.
///
/// # Errors
/// [`KvError`] says why the host refused.
pub fn get(key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
    let mut buffer = vec![0u8; 256];
    loop {
        let length = host::get(key, &mut buffer);
        if length == host::NOT_FOUND {
            return Ok(None);
        }
        if length < 0 {
            return Err(KvError::from_code(length));
        }
        let length = length as usize;
        if length <= buffer.len() {
            buffer.truncate(length);
            return Ok(Some(buffer));
        }
        // Short buffer: the host said how long the value is.
        buffer.resize(length, 0);
    }
}

/// Puts `value` under `key`.
///
/// # Errors
/// [`KvError`] says why the host refused; nothing was written then.
pub fn put(key: &[u8], value: &[u8]) -> Result<(), KvError> {
    status(host::put(key, value))
}

/// Deletes `key`'s value; deleting a key without one is not an error.
///
/// # Errors
/// [`KvError`] says why the host refused.
pub fn delete(key: &[u8]) -> Result<(), KvError> {
    status(host::delete(key))
}

fn status(code: i32) -> Result<(), KvError> {
    match code {
        0 => Ok(()),
        code => Err(KvError::from_code(code.into())),
    }
}

#[cfg(all(target_os = "wasi", target_env = "p1"))]
mod host {
    pub(super) const NOT_FOUND: i64 = -1;

    #[link(wasm_import_module = "faasrt")]
    unsafe extern "C" {
        fn kv_get(key: *const u8, key_len: usize, buf: *mut u8, buf_len: usize) -> i64;
        fn kv_put(key: *const u8, key_len: usize, value: *const u8, value_len: usize) -> i32;
        fn kv_delete(key: *const u8, key_len: usize) -> i32;
    }

    pub(super) fn get(key: &[u8], buffer: &mut [u8]) -> i64 {
        // SAFETY: both ranges are live slices of this module's memory; the
        // host reads `key` and writes at most `buffer.len()` bytes.
        unsafe { kv_get(key.as_ptr(), key.len(), buffer.as_mut_ptr(), buffer.len()) }
    }

    pub(super) fn put(key: &[u8], value: &[u8]) -> i32 {
        // SAFETY: the host only reads both live slices.
        unsafe { kv_put(key.as_ptr(), key.len(), value.as_ptr(), value.len()) }
    }

    pub(super) fn delete(key: &[u8]) -> i32 {
        // SAFETY: the host only reads the live slice.
        unsafe { kv_delete(key.as_ptr(), key.len()) }
    }
}

#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
mod host {
    //! Built natively there is no host store: every call says so.
    pub(super) const NOT_FOUND: i64 = -1;
    const UNAVAILABLE: i32 = -5;

    pub(super) fn get(_key: &[u8], _buffer: &mut [u8]) -> i64 {
        UNAVAILABLE.into()
    }

    pub(super) fn put(_key: &[u8], _value: &[u8]) -> i32 {
        UNAVAILABLE
    }

    pub(super) fn delete(_key: &[u8]) -> i32 {
        UNAVAILABLE
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_natively_every_call_says_there_is_no_state() {
        assert_eq!(get(b"k"), Err(KvError::Unavailable));
        assert_eq!(put(b"k", b"v"), Err(KvError::Unavailable));
        assert_eq!(delete(b"k"), Err(KvError::Unavailable));
    }

    #[test]
    fn codes_match_the_host_abi() {
        // faasrt-host-api's KV_ERR_* values; the SDK may not depend on it.
        assert_eq!(KvError::from_code(-2), KvError::KeySize);
        assert_eq!(KvError::from_code(-4), KvError::Quota);
        assert_eq!(KvError::from_code(-5), KvError::Unavailable);
        assert_eq!(KvError::from_code(-9), KvError::Other(-9));
    }

    #[test]
    fn an_sdk_error_fails_the_function_with_the_reason() {
        let error = crate::Error::from(KvError::Quota);
        assert_eq!(error.exit_status(), 1);
        assert!(error.message().unwrap().contains("quota"));
    }
}
