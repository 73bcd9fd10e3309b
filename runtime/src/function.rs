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
    #[serde(default = "wasm")]
    pub kind: String,
    /// How invocations enter it: `command` (`_start`, or a native
    /// executable) or `reactor` (`handle`).
    #[serde(default = "command")]
    pub entry: String,
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

fn command() -> String {
    "command".into()
}

fn wasm() -> String {
    "wasm".into()
}

impl FunctionInfo {
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
    /// Do not pre-initialize even if the module exports `wizer-initialize`
    /// (its init then runs in every invocation, as the module itself does).
    pub skip_preinit: bool,
    /// The bytes are an x86_64 Linux executable, not a wasm module.
    pub native: bool,
    /// Bounds checks of this function's wasm code; `None`: the server's
    /// default. Only for wasm functions.
    pub bounds_checks: Option<crate::BoundsChecks>,
}
