//! The one `Linker` every function is instantiated with, and the import check
//! that runs at deploy.

use crate::guest::{GuestSetup, GuestState};
use crate::imports;
use crate::stdio::{Faasin, Faasout, LogTail, OutputCapture};
use std::collections::BTreeSet;
use wasmtime::{Engine, InstancePre, Linker, Module, Store};

/// Why a module's imports cannot be satisfied.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The module imports names that are neither WASI preview 1 nor `faasrt`.
    #[error("module imports unknown functions: {}", .names.join(", "))]
    Unknown {
        /// Each unknown import as `module::name`.
        names: Vec<String>,
    },
    /// A known import is imported with the wrong type.
    #[error("module imports a host function with the wrong type: {0}")]
    Mismatch(String),
}

/// The linker shared by all functions: WASI preview 1 (async) and the
/// `faasrt` imports, linked once at start.
pub struct HostLinker {
    linker: Linker<GuestState>,
    known: BTreeSet<(String, String)>,
}

impl HostLinker {
    /// Links every host import into a new linker for `engine`.
    ///
    /// # Errors
    /// Fails only if wasmtime refuses a definition, which would be a bug.
    pub fn new(engine: &Engine) -> wasmtime::Result<Self> {
        let mut linker = Linker::new(engine);
        wasmtime_wasi::p1::add_to_linker_async(&mut linker, GuestState::wasi)?;
        imports::add_to_linker(&mut linker)?;
        crate::kv_imports::add_to_linker(&mut linker)?;
        let known = Self::defined_names(engine, &linker);
        Ok(HostLinker { linker, known })
    }

    /// Lists what `linker` defines; `Linker::iter` needs a store, so a
    /// throw-away one with empty stdio is made for it.
    fn defined_names(engine: &Engine, linker: &Linker<GuestState>) -> BTreeSet<(String, String)> {
        let mut store = Store::new(
            engine,
            GuestState::new(GuestSetup {
                args: Vec::new(),
                input: Faasin::Bytes(bytes::Bytes::new()),
                output: Faasout::Capture(OutputCapture::new(0)),
                log: LogTail::new(0),
                memory_limit: 0,
                kv: crate::kv::KvAccess::Unavailable,
            }),
        );
        linker
            .iter(&mut store)
            .map(|(module, name, _)| (module.to_owned(), name.to_owned()))
            .collect()
    }

    /// The imports among `imports` (as `(module, name)`) that the host does
    /// not define, as `module::name`.
    pub fn unknown_imports<'a>(
        &self,
        imports: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Vec<String> {
        imports
            .into_iter()
            .filter(|(module, name)| {
                !self
                    .known
                    .contains(&((*module).to_owned(), (*name).to_owned()))
            })
            .map(|(module, name)| format!("{module}::{name}"))
            .collect()
    }

    /// Instantiates `module` in `store` directly, without a pre-resolved
    /// `InstancePre` (pre-initialization instantiates a module once).
    ///
    /// # Errors
    /// Unresolved or mistyped imports, or a trap in the start function.
    pub async fn instantiate(
        &self,
        store: &mut Store<GuestState>,
        module: &Module,
    ) -> wasmtime::Result<wasmtime::Instance> {
        self.linker.instantiate_async(store, module).await
    }

    /// Resolves `module`'s imports against the host once, so that each
    /// invocation only instantiates.
    ///
    /// # Errors
    /// [`ImportError::Unknown`] lists every import the host does not define
    /// (not only the first); [`ImportError::Mismatch`] reports a type clash.
    pub fn pre_instantiate(&self, module: &Module) -> Result<InstancePre<GuestState>, ImportError> {
        let unknown = self.unknown_imports(module.imports().map(|i| (i.module(), i.name())));
        if !unknown.is_empty() {
            return Err(ImportError::Unknown { names: unknown });
        }
        self.linker
            .instantiate_pre(module)
            .map_err(|e| ImportError::Mismatch(format!("{e:#}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compile(wat: &str) -> (Engine, Module) {
        let engine = Engine::default();
        let bytes = wat::parse_str(wat).expect("valid wat");
        let module = Module::new(&engine, bytes).expect("test module compiles");
        (engine, module)
    }

    #[test]
    fn wasi_and_faasrt_imports_are_accepted() {
        let (engine, module) = compile(
            r#"(module
                (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                (import "faasrt" "log" (func (param i32 i32)))
                (memory (export "memory") 1)
                (func (export "_start")))"#,
        );
        let linker = HostLinker::new(&engine).expect("linker");
        assert!(linker.pre_instantiate(&module).is_ok());
    }

    #[test]
    fn every_unknown_import_is_listed() {
        let (engine, module) = compile(
            r#"(module
                (import "env" "foo" (func))
                (import "faasrt" "bar" (func))
                (import "wasi_snapshot_preview1" "fd_write" (func (param i32 i32 i32 i32) (result i32)))
                (func (export "_start")))"#,
        );
        let linker = HostLinker::new(&engine).expect("linker");
        match linker.pre_instantiate(&module) {
            Err(ImportError::Unknown { names }) => {
                assert_eq!(names, vec!["env::foo".to_owned(), "faasrt::bar".to_owned()])
            }
            other => panic!("expected unknown imports, got {:?}", other.err()),
        }
    }

    #[test]
    fn a_wrongly_typed_import_is_a_mismatch() {
        let (engine, module) = compile(
            r#"(module
                (import "wasi_snapshot_preview1" "fd_write" (func (param i32)))
                (func (export "_start")))"#,
        );
        let linker = HostLinker::new(&engine).expect("linker");
        assert!(matches!(
            linker.pre_instantiate(&module),
            Err(ImportError::Mismatch(_))
        ));
    }
}
