//! faasrt-host-api: everything a guest function sees of the host.
//!
//! A function is a WASI preview-1 module. Per invocation it gets `faasin`
//! on fd 0 (its input), `faasout` on fd 1 (its output, capped), its log on
//! fd 2 (of which the tail is kept), its arguments, no environment, no
//! preopened directories, and the optional `faasrt` imports: the log and
//! its function's key-value state (`kv`). A native function makes the same
//! key-value calls over a socket ([`serve_kv_channel`], `kv_channel.rs`).
//!
//! Each import family is one module that follows the same three steps:
//! link into the [`wasmtime::Linker`] once ([`HostLinker::new`]), be
//! configured per function, and build cheap per-invocation state
//! ([`GuestState::new`]). `faasrt-runtime` sits above this crate;
//! `faasrt-isolation` below it.

mod guest;
mod guest_pipe;
mod imports;
mod kv;
mod kv_channel;
mod kv_imports;
mod linker;
mod pipe;
mod stdio;
mod wait_clock;

pub use guest::{GuestSetup, GuestState};
pub use guest_pipe::GuestPipe;
pub use imports::{FAASRT_MODULE, WASI_P1_MODULE};
pub use kv::{
    KV_ERR_KEY_SIZE, KV_ERR_QUOTA, KV_ERR_STORE, KV_ERR_UNAVAILABLE, KV_ERR_VALUE_TOO_LARGE,
    KV_NOT_FOUND, KvAccess, KvQuota, KvReadError, KvReader, KvTransaction, KvTransactionError,
    KvUsage, KvWriteError, KvWrites, MAX_KV_KEY_BYTES, MAX_KV_VALUE_BYTES, check_key, check_value,
    entry_bytes,
};
pub use kv_channel::{
    KV_ERR_PROTOCOL, KV_OP_DELETE, KV_OP_GET, KV_OP_PUT, KV_REQUEST_HEADER_BYTES, KvRequestHeader,
    NATIVE_KV_FD, serve_kv_channel,
};
pub use linker::{HostLinker, ImportError};
pub use pipe::{
    BrokenPipe, DEFAULT_PIPE_CAPACITY, PipeCounter, PipeReader, PipeWriter, ReadOutcome, pipe,
};
pub use stdio::{Faasin, Faasout, InputUnavailable, LogTail, OutputCapture, OutputTooLarge};
