//! What the runtime knows about a deployed function.

use crate::limits::FunctionLimits;
use serde::{Deserialize, Serialize};

/// A deployed function as stored and as shown by `GET /v1/functions/{name}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionInfo {
    /// The function's name.
    pub name: String,
    /// Content digest of the module, `sha256:<hex>`.
    pub digest: String,
    /// Size of the module in bytes.
    pub size: u64,
    /// Arguments given at deploy, passed before each invocation's own.
    pub args: Vec<String>,
    /// Resource limits of each invocation.
    pub limits: FunctionLimits,
    /// When it was deployed, RFC 3339 in UTC.
    pub deployed_at: String,
    /// `wasm` or `native` (an executable run as a child process).
    #[serde(default)]
    pub kind: FunctionKind,
    /// How invocations enter it: `command` (`_start`, or a native
    /// executable) or `reactor` (`handle`).
    #[serde(default)]
    pub entry: EntryKind,
    /// Whether its `wizer-initialize` ran at deploy and invocations start
    /// from the snapshot.
    #[serde(default)]
    pub preinitialized: bool,
    /// How long pre-initialization took at deploy, in microseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preinit_us: Option<u64>,
    /// Digest of the pre-initialized module that invocations run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_digest: Option<String>,
    /// How its wasm code stays inside its memory (`explicit` or
    /// `guard-pages`); absent for native functions. A record stored before
    /// this existed takes the server's default when it is loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bounds_checks: Option<crate::BoundsChecks>,
}

/// A deployed function as `GET /v1/functions/{name}` shows it: its
/// stored [`FunctionInfo`] and what it costs in memory right now.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionStatus {
    /// What was deployed (the fields of [`FunctionInfo`], inline).
    #[serde(flatten)]
    pub info: FunctionInfo,
    /// Bytes of its code and data that are in memory now: a wasm function's
    /// compiled image (mapped from its artifact file where there is one,
    /// shared with every function of the same artifact), a native
    /// function's sealed executable. Instance slots are the pool's and are
    /// not counted.
    pub resident_bytes: u64,
}

/// What a function is made of; serialized as `wasm` or `native`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FunctionKind {
    /// A WebAssembly module (the default of records stored before kinds).
    #[default]
    Wasm,
    /// An executable run as a child process.
    Native,
}

/// How invocations enter a function; serialized as `command` or `reactor`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// `_start` runs (a WASI command), or a native executable starts.
    #[default]
    Command,
    /// The `handle` export is called (a WASI reactor).
    Reactor,
}

impl FunctionInfo {
    /// Whether it runs as a native child process.
    pub fn is_native(&self) -> bool {
        self.kind == FunctionKind::Native
    }

    /// The digest of the module that invocations actually run: the
    /// snapshot's when pre-initialized, else the deployed module's.
    pub fn executed_digest(&self) -> &str {
        self.snapshot_digest.as_deref().unwrap_or(&self.digest)
    }
}

/// Options of a deploy beyond the name and the module bytes.
#[derive(Clone, Debug, Default)]
pub struct DeployOptions {
    /// Arguments passed before each invocation's own.
    pub args: Vec<String>,
    /// Limits; what is left out takes the server's default.
    pub limits: crate::limits::RequestedLimits,
    /// What the bytes are, with the options of that kind.
    pub code: Code,
}

/// What a deploy's bytes are, with the options only that kind has: a
/// native function cannot be given bounds checks.
#[derive(Clone, Debug)]
pub enum Code {
    /// A wasm module.
    Wasm(WasmOptions),
    /// An x86_64 Linux executable.
    Native,
}

impl Default for Code {
    fn default() -> Self {
        Code::Wasm(WasmOptions::default())
    }
}

impl Code {
    /// The kind described by the separate settings of a request or a
    /// command line (`kind=native`, `preinit=false`, `bounds_checks=`).
    /// Pre-initialization is a wasm notion: a native function ignores
    /// `skip_preinit`.
    ///
    /// # Errors
    /// [`crate::RuntimeError::InvalidLimit`] for bounds checks on a native
    /// function.
    pub fn from_settings(
        native: bool,
        skip_preinit: bool,
        bounds_checks: Option<crate::BoundsChecks>,
    ) -> Result<Self, crate::RuntimeError> {
        match (native, bounds_checks) {
            (true, Some(mode)) => Err(crate::RuntimeError::InvalidLimit(format!(
                "bounds_checks={mode} applies to wasm functions only, not native ones"
            ))),
            (true, None) => Ok(Code::Native),
            (false, bounds_checks) => Ok(Code::Wasm(WasmOptions {
                skip_preinit,
                bounds_checks,
            })),
        }
    }

    /// Whether the bytes are a native executable.
    pub fn is_native(&self) -> bool {
        matches!(self, Code::Native)
    }
}

/// Options of a wasm deploy.
#[derive(Clone, Copy, Debug, Default)]
pub struct WasmOptions {
    /// Do not pre-initialize even if the module exports `wizer-initialize`
    /// (its init then runs in every invocation, as the module itself does).
    pub skip_preinit: bool,
    /// Bounds checks of this function's wasm code; `None`: the server's
    /// default.
    pub bounds_checks: Option<crate::BoundsChecks>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_serialize_to_the_api_strings() {
        fn json(value: impl Serialize) -> String {
            serde_json::to_string(&value).expect("kinds serialize")
        }
        assert_eq!(json(FunctionKind::Wasm), "\"wasm\"");
        assert_eq!(json(FunctionKind::Native), "\"native\"");
        assert_eq!(json(EntryKind::Command), "\"command\"");
        assert_eq!(json(EntryKind::Reactor), "\"reactor\"");
    }

    #[test]
    fn a_record_without_kinds_reads_as_a_wasm_command() {
        let record = r#"{"name":"old","digest":"sha256:00","size":1,"args":[],
            "limits":{"memory_mb":64,"timeout_ms":1000},"deployed_at":"2026-01-01T00:00:00Z"}"#;
        let info: FunctionInfo = serde_json::from_str(record).expect("an old record reads");
        assert_eq!(
            (info.kind, info.entry),
            (FunctionKind::Wasm, EntryKind::Command)
        );
    }

    #[test]
    fn a_native_function_cannot_have_bounds_checks() {
        let refused = Code::from_settings(true, false, Some(crate::BoundsChecks::GuardPages));
        assert!(
            matches!(&refused, Err(crate::RuntimeError::InvalidLimit(m)) if m.contains("wasm functions only")),
            "{refused:?}"
        );
        assert!(Code::from_settings(true, true, None).is_ok_and(|code| code.is_native()));
        assert!(matches!(
            Code::from_settings(false, true, Some(crate::BoundsChecks::Explicit)),
            Ok(Code::Wasm(WasmOptions {
                skip_preinit: true,
                bounds_checks: Some(crate::BoundsChecks::Explicit)
            }))
        ));
    }

    #[test]
    fn an_unknown_kind_is_refused() {
        assert!(serde_json::from_str::<FunctionKind>("\"java\"").is_err());
    }
}
