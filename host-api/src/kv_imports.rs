//! The `faasrt::kv_get`, `kv_put` and `kv_delete` imports (their ABI is in
//! `kv.rs`): they copy keys and values across the guest's memory and act
//! on the invocation's [`KvTransaction`].

use crate::guest::GuestState;
use crate::kv::{KV_NOT_FOUND, KvTransaction, KvTransactionError, log_refusal};
use wasmtime::{Caller, Extern, Linker};

/// Copies `len` bytes at `ptr` out of the caller's memory.
fn guest_bytes(
    caller: &mut Caller<'_, GuestState>,
    what: &str,
    ptr: i32,
    len: i32,
) -> wasmtime::Result<Vec<u8>> {
    let memory = guest_memory(caller, what)?;
    let start = ptr as u32 as usize;
    let end = start.saturating_add(len as u32 as usize);
    match memory.data(&caller).get(start..end) {
        Some(bytes) => Ok(bytes.to_vec()),
        None => wasmtime::bail!("faasrt::{what}: range {start}..{end} is outside linear memory"),
    }
}

fn guest_memory(
    caller: &mut Caller<'_, GuestState>,
    what: &str,
) -> wasmtime::Result<wasmtime::Memory> {
    match caller.get_export("memory") {
        Some(Extern::Memory(memory)) => Ok(memory),
        _ => wasmtime::bail!("faasrt::{what} needs the module to export its `memory`"),
    }
}

/// The transaction of the caller, or why it has none (logged once per
/// call, so that the guest's author reads the reason).
fn transaction(caller: &Caller<'_, GuestState>, what: &str) -> Result<KvTransaction, i32> {
    let state = caller.data();
    state
        .kv()
        .transaction(state.log(), &format!("faasrt::{what}"))
        .cloned()
}

/// Logs a refused write, so that the author sees why, and returns its code.
fn refused(caller: &Caller<'_, GuestState>, what: &str, error: &KvTransactionError) -> i32 {
    log_refusal(caller.data().log(), &format!("faasrt::{what}"), error)
}

/// Puts (`Some`) or deletes (`None`) `key` in the caller's transaction:
/// 0, or the code of why not (logged).
fn write(caller: &Caller<'_, GuestState>, what: &str, key: &[u8], value: Option<&[u8]>) -> i32 {
    let transaction = match transaction(caller, what) {
        Ok(transaction) => transaction,
        Err(code) => return code,
    };
    match transaction.write(key, value) {
        Ok(()) => 0,
        Err(error) => refused(caller, what, &error),
    }
}

/// Links the `kv_*` imports into `linker`.
pub(crate) fn add_to_linker(linker: &mut Linker<GuestState>) -> wasmtime::Result<()> {
    linker.func_wrap(
        crate::FAASRT_MODULE,
        "kv_get",
        |mut caller: Caller<'_, GuestState>,
         key_ptr: i32,
         key_len: i32,
         buf_ptr: i32,
         buf_len: i32|
         -> wasmtime::Result<i64> {
            let key = guest_bytes(&mut caller, "kv_get", key_ptr, key_len)?;
            let transaction = match transaction(&caller, "kv_get") {
                Ok(transaction) => transaction,
                Err(code) => return Ok(code.into()),
            };
            let value = match transaction.get(&key) {
                Ok(Some(value)) => value,
                Ok(None) => return Ok(KV_NOT_FOUND),
                Err(error) => {
                    return Ok(refused(&caller, "kv_get", &error.into()).into());
                }
            };
            let memory = guest_memory(&mut caller, "kv_get")?;
            let start = buf_ptr as u32 as usize;
            let copied = value.len().min(buf_len as u32 as usize);
            let Some(buffer) = memory
                .data_mut(&mut caller)
                .get_mut(start..start.saturating_add(copied))
            else {
                wasmtime::bail!("faasrt::kv_get: its buffer is outside linear memory");
            };
            buffer.copy_from_slice(&value[..copied]);
            Ok(value.len() as i64)
        },
    )?;
    linker.func_wrap(
        crate::FAASRT_MODULE,
        "kv_put",
        |mut caller: Caller<'_, GuestState>,
         key_ptr: i32,
         key_len: i32,
         value_ptr: i32,
         value_len: i32|
         -> wasmtime::Result<i32> {
            let key = guest_bytes(&mut caller, "kv_put", key_ptr, key_len)?;
            let value = guest_bytes(&mut caller, "kv_put", value_ptr, value_len)?;
            Ok(write(&caller, "kv_put", &key, Some(&value)))
        },
    )?;
    linker.func_wrap(
        crate::FAASRT_MODULE,
        "kv_delete",
        |mut caller: Caller<'_, GuestState>, key_ptr: i32, key_len: i32| -> wasmtime::Result<i32> {
            let key = guest_bytes(&mut caller, "kv_delete", key_ptr, key_len)?;
            Ok(write(&caller, "kv_delete", &key, None))
        },
    )?;
    Ok(())
}
