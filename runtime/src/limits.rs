//! Per-function resource limits, set at deploy.

use serde::{Deserialize, Serialize};
use std::time::Duration;

/// What one invocation of a function may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionLimits {
    /// The most linear memory an instance may grow to, in MiB.
    pub memory_mb: u32,
    /// Wall-clock time an invocation may run before it is stopped, in ms.
    pub timeout_ms: u64,
    /// The most invocations of this function that run at once (each
    /// pipeline stage counts); more get 429. `None`: only the server-wide
    /// limit applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
}

impl FunctionLimits {
    /// The memory limit in bytes.
    pub fn memory_bytes(&self) -> usize {
        (self.memory_mb as usize) << 20
    }

    /// The timeout as a `Duration`.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }
}

impl Default for FunctionLimits {
    fn default() -> Self {
        FunctionLimits {
            memory_mb: 256,
            timeout_ms: 30_000,
            max_concurrency: None,
        }
    }
}

/// Limits asked for at deploy; what is left out takes the server's default.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestedLimits {
    /// See [`FunctionLimits::memory_mb`].
    pub memory_mb: Option<u32>,
    /// See [`FunctionLimits::timeout_ms`].
    pub timeout_ms: Option<u64>,
    /// See [`FunctionLimits::max_concurrency`].
    pub max_concurrency: Option<u32>,
}
