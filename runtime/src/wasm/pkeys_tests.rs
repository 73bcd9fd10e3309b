//! Protection-key striping on a CPU that has keys: natively where the host
//! has `pku`, else in the QEMU VM of `scripts/test-pkeys`, where
//! `FAASRT_EXPECT_PKEYS=1` turns a skip into a failure.

use super::engine::FunctionEngine;
use super::memory_layout::MemoryLayout;
use super::module::ENTRY_POINT;
use crate::config::RuntimeConfig;
use crate::invocation::{InvocationStatus, RunRequest};
use faasrt_host_api::{Faasin, Faasout, GuestSetup, GuestState, LogTail, OutputCapture};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;
use wasmtime::Linker;
use wasmtime::Module;

/// A guard-pages configuration small enough to stripe: 8 slots of at
/// most 64 MiB.
fn striped_config() -> Option<RuntimeConfig> {
    let config = RuntimeConfig::in_memory()
        .explicit_bounds_checks(false)
        .max_memory_mb(64)
        .max_instances(8);
    if MemoryLayout::of(&config).striped() {
        return Some(config);
    }
    assert!(
        !faasrt_testkit::expected("FAASRT_EXPECT_PKEYS"),
        "protection keys were expected here"
    );
    eprintln!("skipped: no protection keys for wasmtime on this machine");
    None
}

fn setup() -> GuestSetup {
    GuestSetup {
        args: vec!["test".into()],
        input: Faasin::Unavailable,
        output: Faasout::Capture(OutputCapture::new(1024)),
        log: LogTail::new(1024),
        memory_limit: 64 << 20,
        kv: faasrt_host_api::KvAccess::Unavailable,
    }
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio")
        .block_on(future)
}

#[test]
fn pkeys_a_guest_cannot_reach_the_memories_of_other_stripes() {
    let Some(config) = striped_config() else {
        return;
    };
    let layout = MemoryLayout::of(&config);
    let engine = FunctionEngine::new(&config).expect("engine");
    let linker = Linker::<GuestState>::new(&engine.engine);
    let module = |text: &str| {
        Module::new(&engine.engine, wat::parse_str(text).expect("wat")).expect("module")
    };
    let prober = module(
        r#"(module (memory 1)
            (func (export "load") (param i32) (result i32) (i32.load (local.get 0))))"#,
    );
    // 64 MiB from the start: the whole of each neighbour's memory is
    // readable and writable, under its own stripe's key.
    let neighbour = module(r#"(module (memory 1024) (data (i32.const 0) "neighbour"))"#);
    block_on(async {
        let mut probe_store = engine.new_store(setup(), Duration::from_secs(10));
        let instance = linker
            .instantiate_async(&mut probe_store, &prober)
            .await
            .expect("prober");
        let mut neighbours = Vec::new();
        for _ in 1..config.get_max_instances() {
            let mut store = engine.new_store(setup(), Duration::from_secs(10));
            linker
                .instantiate_async(&mut store, &neighbour)
                .await
                .expect("neighbour");
            neighbours.push(store);
        }
        let load = instance
            .get_typed_func::<i32, i32>(&mut probe_store, "load")
            .expect("load");
        assert_eq!(
            load.call_async(&mut probe_store, 0)
                .await
                .expect("own page"),
            0
        );
        // Every address past the prober's one page lies in its own
        // slot's inaccessible tail or in a neighbour's slot, which only
        // the neighbour's key opens: each load must trap.
        let mut addresses: Vec<u64> = (1..u64::from(config.get_max_instances()))
            .map(|k| k * layout.slot_bytes)
            .collect();
        addresses.extend([65_536, 64 << 20, (64 << 20) + 4096]);
        for address in addresses {
            let address = u32::try_from(address).expect("within 4 GiB") as i32;
            let result = load.call_async(&mut probe_store, address).await;
            let trap = result
                .expect_err("a load outside the prober's memory succeeded")
                .downcast::<wasmtime::Trap>()
                .expect("a trap");
            assert_eq!(trap, wasmtime::Trap::MemoryOutOfBounds, "at {address:#x}");
        }
        drop(neighbours);
    });
}

#[test]
fn pkeys_a_thread_older_than_the_striped_pool_runs_its_guests() {
    let Some(config) = striped_config() else {
        return;
    };
    // Like an async worker when the first guard-pages function builds
    // its engine: a thread started before the pool (and its keys)
    // existed, whose PKRU denies the stripes' keys.
    let (start, started) = std::sync::mpsc::channel::<Arc<FunctionEngine>>();
    let older = std::thread::spawn(move || {
        let engine = started.recv().expect("engine");
        block_on(async {
            // Pre-initialization reads the guest's memory from host code
            // to snapshot it; the invocation resets it when it ends.
            let snapshot = engine
                .preinitialize(
                    &wat::parse_str(
                        r#"(module (memory (export "memory") 1)
                            (func (export "wizer-initialize")
                                (i32.store (i32.const 16) (i32.const 7)))
                            (func (export "_start")
                                (if (i32.ne (i32.load (i32.const 16)) (i32.const 7))
                                    (then unreachable))
                                (drop (memory.grow (i32.const 1)))
                                (i32.store (i32.const 70000) (i32.const 1))))"#,
                    )
                    .expect("wat"),
                    "older",
                    64 << 20,
                    Duration::from_secs(10),
                )
                .await
                .expect("pre-initialized");
            let prepared = engine.compile(&snapshot.wasm, true).expect("compiled");
            let mut statuses = Vec::new();
            for _ in 0..3 {
                let run = RunRequest {
                    args: vec!["older".into()],
                    input: Faasin::Unavailable,
                    output: None,
                    memory_limit: 64 << 20,
                    timeout: Duration::from_secs(10),
                    kv: crate::invocation::KvUse::Refused,
                };
                statuses.push(
                    engine
                        .run(&prepared, run, faasrt_host_api::KvAccess::Unavailable)
                        .await
                        .status,
                );
            }
            statuses
        })
    });
    let engine = Arc::new(FunctionEngine::new(&config).expect("engine"));
    start.send(engine).expect("send");
    let statuses = older.join().expect("the older thread did not crash");
    assert_eq!(statuses, vec![InvocationStatus::Exited(0); 3]);
}

#[test]
fn pkeys_the_secret_stays_denied_while_a_striped_guest_calls_the_host() {
    let Some(config) = striped_config() else {
        return;
    };
    let secret = faasrt_isolation::SecretRegion::new(b"s3cret").expect("secret region");
    let engine = FunctionEngine::new(&config).expect("engine");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let mut linker = Linker::<GuestState>::new(&engine.engine);
    let record = seen.clone();
    linker
        .func_wrap("test", "probe", move || {
            record
                .lock()
                .expect("lock")
                .push(faasrt_isolation::secrets_denied_here());
        })
        .expect("probe");
    let module = Module::new(
        &engine.engine,
        wat::parse_str(
            r#"(module (import "test" "probe" (func $probe)) (memory 1)
            (func (export "_start")
                (i32.store (i32.const 0) (i32.const 7)) (call $probe) (call $probe)))"#,
        )
        .expect("wat"),
    )
    .expect("module");
    block_on(async {
        let mut store = engine.new_store(setup(), Duration::from_secs(10));
        let instance = linker
            .instantiate_async(&mut store, &module)
            .await
            .expect("instance");
        let start = instance
            .get_typed_func::<(), ()>(&mut store, ENTRY_POINT)
            .expect("_start");
        start.call_async(&mut store, ()).await.expect("run");
    });
    // wasmtime allowed every key when the guest called the host; the
    // call hook must have denied the secret's again each time.
    assert_eq!(*seen.lock().expect("lock"), vec![true, true]);
    assert!(faasrt_isolation::secrets_denied_here());
    assert_eq!(secret.read(|bytes| bytes.to_vec()), b"s3cret");
}
