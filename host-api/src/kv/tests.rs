use super::*;
use crate::{Faasin, Faasout, GuestSetup, GuestState, HostLinker, LogTail, OutputCapture};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Committed state in memory, counting its reads.
#[derive(Default)]
struct MemoryReader {
    values: BTreeMap<Vec<u8>, Vec<u8>>,
    reads: AtomicUsize,
}

impl MemoryReader {
    fn committed_usage(&self) -> KvUsage {
        KvUsage {
            keys: self.values.len() as u64,
            bytes: self.values.iter().map(|(k, v)| entry_bytes(k, v)).sum(),
        }
    }
}

impl KvReader for MemoryReader {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvReadError> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(self.values.get(key).cloned())
    }

    fn usage(&self) -> Result<KvUsage, KvReadError> {
        Ok(self.committed_usage())
    }
}

fn reader(entries: &[(&str, &str)]) -> Arc<MemoryReader> {
    Arc::new(MemoryReader {
        values: entries
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
            .collect(),
        reads: AtomicUsize::new(0),
    })
}

const ROOMY: KvQuota = KvQuota {
    max_keys: 100,
    max_bytes: 10_000,
};

#[test]
fn reads_see_the_invocations_own_writes_over_the_committed_state() {
    let committed = [("a", "1"), ("b", "2")];
    let txn = KvTransaction::new(reader(&committed), ROOMY);
    assert_eq!(txn.get(b"a").unwrap(), Some(b"1".to_vec()));
    txn.write(b"a", Some(b"10")).unwrap();
    txn.write(b"b", None).unwrap();
    txn.write(b"c", Some(b"3")).unwrap();
    assert_eq!(txn.get(b"a").unwrap(), Some(b"10".to_vec()));
    assert_eq!(txn.get(b"b").unwrap(), None);
    assert_eq!(txn.get(b"c").unwrap(), Some(b"3".to_vec()));
    let writes = txn.take_writes();
    assert_eq!(
        writes.into_iter().collect::<Vec<_>>(),
        vec![
            (b"a".to_vec(), Some(b"10".to_vec())),
            (b"b".to_vec(), None),
            (b"c".to_vec(), Some(b"3".to_vec())),
        ]
    );
    assert!(txn.take_writes().is_empty(), "taking leaves none");
}

#[test]
fn the_key_quota_counts_new_keys_only() {
    let committed = [("a", "1")];
    let quota = KvQuota {
        max_keys: 2,
        max_bytes: 10_000,
    };
    let txn = KvTransaction::new(reader(&committed), quota);
    txn.write(b"a", Some(b"overwritten")).unwrap();
    txn.write(b"b", Some(b"2")).unwrap();
    match txn.write(b"c", Some(b"3")) {
        Err(KvTransactionError::Refused(KvWriteError::Quota { would_be, .. })) => {
            assert_eq!(would_be.keys, 3)
        }
        other => panic!("a third key must be refused, got {other:?}"),
    }
    // Deleting one makes room again.
    txn.write(b"a", None).unwrap();
    txn.write(b"c", Some(b"3")).unwrap();
}

#[test]
fn the_byte_quota_counts_keys_and_values_and_a_shrink_is_always_allowed() {
    let committed = [("k", "0123456789")]; // 11 bytes
    let quota = KvQuota {
        max_keys: 10,
        max_bytes: 11,
    };
    let txn = KvTransaction::new(reader(&committed), quota);
    assert!(matches!(
        txn.write(b"k", Some(b"0123456789x")),
        Err(KvTransactionError::Refused(KvWriteError::Quota { .. }))
    ));
    txn.write(b"k", Some(b"short")).unwrap();
    // "k" + "short" = 6 bytes, so 5 are left: "j" + "1234" fits exactly,
    // "j" + "12345" does not.
    assert!(txn.write(b"j", Some(b"12345")).is_err());
    txn.write(b"j", Some(b"1234")).unwrap();
    // A quota lowered below what is stored still lets state shrink.
    let over = [("big", "0123456789")];
    let tight = KvQuota {
        max_keys: 0,
        max_bytes: 0,
    };
    let txn = KvTransaction::new(reader(&over), tight);
    txn.write(b"big", Some(b"0")).unwrap();
    txn.write(b"big", None).unwrap();
}

#[test]
fn keys_and_values_are_bounded() {
    let txn = KvTransaction::new(reader(&[]), ROOMY);
    assert!(matches!(
        txn.write(b"", Some(b"v")),
        Err(KvTransactionError::Refused(KvWriteError::KeySize(0)))
    ));
    let long_key = vec![b'k'; MAX_KV_KEY_BYTES + 1];
    assert!(matches!(
        txn.write(&long_key, None),
        Err(KvTransactionError::Refused(KvWriteError::KeySize(_)))
    ));
    let long_value = vec![0; MAX_KV_VALUE_BYTES + 1];
    assert!(matches!(
        txn.write(b"k", Some(&long_value)),
        Err(KvTransactionError::Refused(KvWriteError::ValueTooLarge(_)))
    ));
    assert!(txn.take_writes().is_empty(), "nothing refused is buffered");
}

#[test]
fn a_key_written_twice_is_read_from_the_store_once() {
    let committed = [("a", "1")];
    let store = reader(&committed);
    let txn = KvTransaction::new(store.clone(), ROOMY);
    txn.write(b"a", Some(b"2")).unwrap();
    txn.write(b"a", Some(b"3")).unwrap();
    txn.write(b"a", None).unwrap();
    assert_eq!(store.reads.load(Ordering::Relaxed), 1);
}

/// A guest that puts "v" under "k", reads it back into a 1-byte buffer
/// (the value's length is returned whole), deletes it, and returns the
/// four results packed as bytes: put, get length, first byte, delete, and
/// then a get after the delete.
const GUEST: &str = r#"(module
    (import "faasrt" "kv_get" (func $get (param i32 i32 i32 i32) (result i64)))
    (import "faasrt" "kv_put" (func $put (param i32 i32 i32 i32) (result i32)))
    (import "faasrt" "kv_delete" (func $delete (param i32 i32) (result i32)))
    (memory (export "memory") 1)
    (data (i32.const 0) "kvalue")
    (func (export "put") (result i32) (call $put (i32.const 0) (i32.const 1) (i32.const 1) (i32.const 5)))
    (func (export "get") (result i64) (call $get (i32.const 0) (i32.const 1) (i32.const 100) (i32.const 1)))
    (func (export "first") (result i32) (i32.load8_u (i32.const 100)))
    (func (export "delete") (result i32) (call $delete (i32.const 0) (i32.const 1)))
    (func (export "outside") (result i32) (call $put (i32.const 65530) (i32.const 100) (i32.const 0) (i32.const 1))))"#;

async fn guest(kv: KvAccess) -> (wasmtime::Store<GuestState>, wasmtime::Instance, LogTail) {
    let engine = wasmtime::Engine::default();
    let linker = HostLinker::new(&engine).unwrap();
    let module = wasmtime::Module::new(&engine, wat::parse_str(GUEST).unwrap()).unwrap();
    let log = LogTail::new(4096);
    let mut store = wasmtime::Store::new(
        &engine,
        GuestState::new(GuestSetup {
            args: vec!["kv".into()],
            input: Faasin::Unavailable,
            output: Faasout::Capture(OutputCapture::new(0)),
            log: log.clone(),
            memory_limit: 1 << 20,
            kv,
        }),
    );
    let instance = linker.instantiate(&mut store, &module).await.unwrap();
    (store, instance, log)
}

async fn call<R: wasmtime::WasmResults + Send + Sync>(
    store: &mut wasmtime::Store<GuestState>,
    instance: &wasmtime::Instance,
    name: &str,
) -> wasmtime::Result<R> {
    let func = instance.get_typed_func::<(), R>(&mut *store, name)?;
    func.call_async(&mut *store, ()).await
}

#[tokio::test]
async fn the_imports_put_get_and_delete_through_the_transaction() {
    let txn = KvTransaction::new(reader(&[]), ROOMY);
    let (mut store, instance, _) = guest(KvAccess::Function(txn.clone())).await;
    assert_eq!(call::<i32>(&mut store, &instance, "put").await.unwrap(), 0);
    assert_eq!(txn.get(b"k").unwrap(), Some(b"value".to_vec()));
    assert_eq!(
        call::<i64>(&mut store, &instance, "get").await.unwrap(),
        5,
        "the whole length, though the buffer holds 1"
    );
    assert_eq!(
        call::<i32>(&mut store, &instance, "first").await.unwrap(),
        i32::from(b'v')
    );
    assert_eq!(
        call::<i32>(&mut store, &instance, "delete").await.unwrap(),
        0
    );
    assert_eq!(
        call::<i64>(&mut store, &instance, "get").await.unwrap(),
        KV_NOT_FOUND
    );
    assert_eq!(
        txn.take_writes().into_iter().collect::<Vec<_>>(),
        vec![(b"k".to_vec(), None)]
    );
}

#[tokio::test]
async fn a_range_outside_memory_traps() {
    let txn = KvTransaction::new(reader(&[]), ROOMY);
    let (mut store, instance, _) = guest(KvAccess::Function(txn)).await;
    let error = call::<i32>(&mut store, &instance, "outside")
        .await
        .expect_err("must trap");
    assert!(
        format!("{error:#}").contains("outside linear memory"),
        "{error:#}"
    );
}

#[tokio::test]
async fn without_state_each_call_says_why_and_returns_unavailable() {
    let (mut store, instance, log) = guest(KvAccess::Unavailable).await;
    assert_eq!(
        call::<i32>(&mut store, &instance, "put").await.unwrap(),
        KV_ERR_UNAVAILABLE
    );
    assert_eq!(
        call::<i64>(&mut store, &instance, "get").await.unwrap(),
        i64::from(KV_ERR_UNAVAILABLE)
    );
    assert!(log.text().contains("no key-value state"), "{}", log.text());
}

#[tokio::test]
async fn a_refused_write_is_logged_with_its_reason() {
    let quota = KvQuota {
        max_keys: 0,
        max_bytes: 0,
    };
    let txn = KvTransaction::new(reader(&[]), quota);
    let (mut store, instance, log) = guest(KvAccess::Function(txn)).await;
    assert_eq!(
        call::<i32>(&mut store, &instance, "put").await.unwrap(),
        KV_ERR_QUOTA
    );
    assert!(log.text().contains("quota"), "{}", log.text());
}
