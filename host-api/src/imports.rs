//! The `faasrt` import family that functions may use beyond WASI.
//!
//! `faasrt::log(ptr: i32, len: i32)` appends the UTF-8 bytes at `ptr..ptr+len`
//! of the caller's exported `memory`, plus a newline, to the function's log.
//! It is the structured counterpart of writing to fd 2.

use crate::guest::GuestState;
use wasmtime::{Caller, Extern, Linker};

/// The import module name of faasrt's own host functions.
pub const FAASRT_MODULE: &str = "faasrt";

/// The import module name of WASI preview 1.
pub const WASI_P1_MODULE: &str = "wasi_snapshot_preview1";

/// Links the `faasrt` imports into `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        FAASRT_MODULE,
        "log",
        |mut caller: Caller<'_, GuestState>, ptr: i32, len: i32| -> wasmtime::Result<()> {
            let Some(Extern::Memory(memory)) = caller.get_export("memory") else {
                wasmtime::bail!("faasrt::log needs the module to export its `memory`");
            };
            let start = ptr as u32 as usize;
            let end = start.saturating_add(len as u32 as usize);
            let (data, state) = memory.data_and_store_mut(&mut caller);
            let Some(message) = data.get(start..end) else {
                wasmtime::bail!("faasrt::log: range {start}..{end} is outside linear memory");
            };
            let log = state.log();
            log.append(message)?;
            log.append(b"\n")?;
            Ok(())
        },
    )?;
    Ok(())
}
