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
//! calls fail there with [`KvError::Unavailable`]. A native build makes
//! the same calls over the channel faasrt opens for it (descriptor 1001,
//! `faasrt_host_api::NATIVE_KV_FD`); run outside faasrt, where that
//! descriptor is not a socket, every call fails with
//! [`KvError::Unavailable`].
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
    /// run`, or a native build run outside faasrt).
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
    host::get(key).map_err(KvError::from_code)
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
    const NOT_FOUND: i64 = -1;

    #[link(wasm_import_module = "faasrt")]
    unsafe extern "C" {
        fn kv_get(key: *const u8, key_len: usize, buf: *mut u8, buf_len: usize) -> i64;
        fn kv_put(key: *const u8, key_len: usize, value: *const u8, value_len: usize) -> i32;
        fn kv_delete(key: *const u8, key_len: usize) -> i32;
    }

    /// The value, `None` for none, or the host's code.
    pub(super) fn get(key: &[u8]) -> Result<Option<Vec<u8>>, i64> {
        let mut buffer = vec![0u8; 256];
        loop {
            // SAFETY: both ranges are live slices of this module's memory;
            // the host reads `key` and writes at most `buffer.len()` bytes.
            let length =
                unsafe { kv_get(key.as_ptr(), key.len(), buffer.as_mut_ptr(), buffer.len()) };
            if length == NOT_FOUND {
                return Ok(None);
            }
            if length < 0 {
                return Err(length);
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

    pub(super) fn put(key: &[u8], value: &[u8]) -> i32 {
        // SAFETY: the host only reads both live slices.
        unsafe { kv_put(key.as_ptr(), key.len(), value.as_ptr(), value.len()) }
    }

    pub(super) fn delete(key: &[u8]) -> i32 {
        // SAFETY: the host only reads the live slice.
        unsafe { kv_delete(key.as_ptr(), key.len()) }
    }
}

#[cfg(all(unix, not(all(target_os = "wasi", target_env = "p1"))))]
mod host {
    //! A native build: the calls go over the socket faasrt leaves open at
    //! [`CHANNEL_FD`], one request answered before the next (the wire is
    //! in faasrt-host-api's `kv_channel.rs`).
    use std::io::{Read, Write};
    use std::os::fd::FromRawFd;
    use std::os::unix::fs::FileTypeExt;
    use std::sync::Mutex;

    const NOT_FOUND: i64 = -1;
    const KEY_SIZE: i64 = -2;
    const VALUE_TOO_LARGE: i64 = -3;
    const UNAVAILABLE: i64 = -5;
    /// `faasrt_host_api::NATIVE_KV_FD`.
    const CHANNEL_FD: i32 = 1001;
    const GET: u8 = 1;
    const PUT: u8 = 2;
    const DELETE: u8 = 3;

    /// One call at a time on the channel: a request and its answer.
    static CHANNEL: Mutex<()> = Mutex::new(());

    /// Sends one request; the answer's code, and for a get the value.
    fn call(op: u8, key: &[u8], value: &[u8]) -> (i64, Vec<u8>) {
        let _turn = CHANNEL.lock().unwrap_or_else(|poison| poison.into_inner());
        // SAFETY: the descriptor is borrowed, never closed (ManuallyDrop):
        // it stays open for the process's later calls.
        let mut channel =
            std::mem::ManuallyDrop::new(unsafe { std::fs::File::from_raw_fd(CHANNEL_FD) });
        // Outside faasrt the descriptor is closed or something else.
        match channel.metadata() {
            Ok(meta) if meta.file_type().is_socket() => {}
            _ => return (UNAVAILABLE, Vec::new()),
        }
        // Past the wire's lengths is past the host's limits too.
        let Ok(key_len) = u32::try_from(key.len()) else {
            return (KEY_SIZE, Vec::new());
        };
        let Ok(value_len) = u32::try_from(value.len()) else {
            return (VALUE_TOO_LARGE, Vec::new());
        };
        let mut request = Vec::with_capacity(9 + key.len() + value.len());
        request.push(op);
        request.extend_from_slice(&key_len.to_le_bytes());
        request.extend_from_slice(&value_len.to_le_bytes());
        request.extend_from_slice(key);
        request.extend_from_slice(value);
        let mut code = [0u8; 8];
        if channel.write_all(&request).is_err() || channel.read_exact(&mut code).is_err() {
            return (UNAVAILABLE, Vec::new());
        }
        let code = i64::from_le_bytes(code);
        let mut found = Vec::new();
        if op == GET && code >= 0 {
            found.resize(code as usize, 0);
            if channel.read_exact(&mut found).is_err() {
                return (UNAVAILABLE, Vec::new());
            }
        }
        (code, found)
    }

    /// The value, `None` for none, or the host's code.
    pub(super) fn get(key: &[u8]) -> Result<Option<Vec<u8>>, i64> {
        match call(GET, key, b"") {
            (NOT_FOUND, _) => Ok(None),
            (code, _) if code < 0 => Err(code),
            (_, value) => Ok(Some(value)),
        }
    }

    pub(super) fn put(key: &[u8], value: &[u8]) -> i32 {
        call(PUT, key, value).0 as i32
    }

    pub(super) fn delete(key: &[u8]) -> i32 {
        call(DELETE, key, b"").0 as i32
    }
}

#[cfg(not(any(unix, all(target_os = "wasi", target_env = "p1"))))]
mod host {
    //! Elsewhere there is no host store: every call says so.
    const UNAVAILABLE: i32 = -5;

    pub(super) fn get(_key: &[u8]) -> Result<Option<Vec<u8>>, i64> {
        Err(UNAVAILABLE.into())
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
    fn outside_faasrt_every_call_says_there_is_no_state() {
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
