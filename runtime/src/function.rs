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
}

/// Options of a deploy beyond the name and the module bytes.
#[derive(Clone, Debug, Default)]
pub struct DeployOptions {
    /// Arguments passed before each invocation's own.
    pub args: Vec<String>,
    /// Limits; what is left out takes the server's default.
    pub limits: crate::limits::RequestedLimits,
}
