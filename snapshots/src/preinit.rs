//! Pre-initialization: run a module's `wizer-initialize` once and snapshot
//! its memory and globals into a new module, with wasmtime-wizer.
//!
//! This module only drives wizer and reads modules; the caller provides the
//! store (with WASI, limits and a time limit) and instantiates, so that
//! pre-initialization sees the same host as an invocation does.

use std::time::{Duration, Instant};
use wasmtime::{Instance, Module, Store};

/// The export that marks a module for pre-initialization.
pub const INIT_EXPORT: &str = "wizer-initialize";

/// What a module imports and exports, read without compiling it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ModuleShape {
    /// Every import as `(module, name)`.
    pub imports: Vec<(String, String)>,
    /// Every export name.
    pub exports: Vec<String>,
}

impl ModuleShape {
    /// Reads the import and export sections of `wasm`.
    ///
    /// # Errors
    /// The bytes are not a well-formed module (wasmparser's message). Full
    /// validation is left to the engine.
    pub fn read(wasm: &[u8]) -> Result<Self, String> {
        let mut shape = ModuleShape::default();
        for payload in wasmparser::Parser::new(0).parse_all(wasm) {
            match payload.map_err(|e| e.to_string())? {
                wasmparser::Payload::ImportSection(reader) => {
                    for import in reader.into_imports() {
                        let import = import.map_err(|e| e.to_string())?;
                        shape
                            .imports
                            .push((import.module.to_owned(), import.name.to_owned()));
                    }
                }
                wasmparser::Payload::ExportSection(reader) => {
                    for export in reader {
                        shape
                            .exports
                            .push(export.map_err(|e| e.to_string())?.name.to_owned());
                    }
                }
                _ => {}
            }
        }
        Ok(shape)
    }

    /// Whether the module asks to be pre-initialized.
    pub fn wants_preinit(&self) -> bool {
        self.exports.iter().any(|name| name == INIT_EXPORT)
    }
}

/// A pre-initialized module.
pub struct Snapshot {
    /// The new module's bytes: the original with memory and globals as the
    /// init function left them, and without the init export.
    pub wasm: Vec<u8>,
    /// How long instrumenting, running init and snapshotting took.
    pub duration: Duration,
}

/// Runs `wasm`'s `wizer-initialize` (after `_initialize`, for a reactor) in
/// `store`, instantiating with `instantiate`, and snapshots the result.
///
/// # Errors
/// Whatever wizer, instantiation or the init function raised: the caller
/// tells a trap, a timeout or a forbidden call apart by downcasting.
pub async fn preinitialize<T: Send>(
    store: &mut Store<T>,
    wasm: &[u8],
    instantiate: impl AsyncFnOnce(&mut Store<T>, &Module) -> wasmtime::Result<Instance>,
) -> wasmtime::Result<Snapshot> {
    let started = Instant::now();
    let wasm = wasmtime_wizer::Wizer::new()
        .init_func(INIT_EXPORT)
        .run(store, wasm, instantiate)
        .await?;
    Ok(Snapshot {
        wasm,
        duration: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wasm(text: &str) -> Vec<u8> {
        wat::parse_str(text).expect("valid wat")
    }

    #[test]
    fn shape_lists_imports_and_exports() {
        let shape = ModuleShape::read(&wasm(
            r#"(module (import "m" "f" (func)) (func (export "_start")) (func (export "wizer-initialize")))"#,
        ))
        .expect("parses");
        assert_eq!(shape.imports, vec![("m".to_owned(), "f".to_owned())]);
        assert!(shape.wants_preinit());
        assert!(
            !ModuleShape::read(&wasm("(module)"))
                .unwrap()
                .wants_preinit()
        );
    }

    #[test]
    fn shape_of_garbage_is_an_error() {
        assert!(ModuleShape::read(b"not wasm").is_err());
    }

    #[test]
    fn init_state_is_kept_in_the_snapshot() {
        let engine = wasmtime::Engine::default();
        let mut store = Store::new(&engine, ());
        let original = wasm(
            r#"(module
                (global $g (export "g") (mut i32) (i32.const 1))
                (memory (export "memory") 1)
                (func (export "wizer-initialize")
                    (global.set $g (i32.const 42))
                    (i32.store (i32.const 8) (i32.const 7))))"#,
        );
        let snapshot = futures_executor(preinitialize(
            &mut store,
            &original,
            async |store, module| Instance::new_async(store, module, &[]).await,
        ))
        .expect("pre-initializes");
        let module = Module::new(&engine, &snapshot.wasm).expect("snapshot compiles");
        assert!(
            module.get_export(INIT_EXPORT).is_none(),
            "init export removed"
        );
        let mut store = Store::new(&engine, ());
        let instance = Instance::new(&mut store, &module, &[]).expect("instantiates");
        let g = instance
            .get_global(&mut store, "g")
            .expect("g")
            .get(&mut store);
        assert_eq!(g.i32(), Some(42));
        let memory = instance.get_memory(&mut store, "memory").expect("memory");
        assert_eq!(memory.data(&store)[8], 7);
    }

    /// Drives a future to completion on a current-thread tokio runtime.
    fn futures_executor<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime")
            .block_on(future)
    }
}
