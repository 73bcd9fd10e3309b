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
    /// The most keys the function's key-value state may hold.
    #[serde(default = "default_kv_max_keys")]
    pub kv_max_keys: u64,
    /// The most bytes (keys and values) the function's key-value state may
    /// hold.
    #[serde(default = "default_kv_max_bytes")]
    pub kv_max_bytes: u64,
}

/// The default of [`FunctionLimits::kv_max_keys`].
pub const DEFAULT_KV_MAX_KEYS: u64 = 100_000;
/// The default of [`FunctionLimits::kv_max_bytes`]: 64 MiB.
pub const DEFAULT_KV_MAX_BYTES: u64 = 64 << 20;

fn default_kv_max_keys() -> u64 {
    DEFAULT_KV_MAX_KEYS
}

fn default_kv_max_bytes() -> u64 {
    DEFAULT_KV_MAX_BYTES
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

    /// The key-value quota.
    pub fn kv_quota(&self) -> faasrt_host_api::KvQuota {
        faasrt_host_api::KvQuota {
            max_keys: self.kv_max_keys,
            max_bytes: self.kv_max_bytes,
        }
    }
}

impl Default for FunctionLimits {
    fn default() -> Self {
        FunctionLimits {
            memory_mb: 256,
            timeout_ms: 30_000,
            max_concurrency: None,
            kv_max_keys: DEFAULT_KV_MAX_KEYS,
            kv_max_bytes: DEFAULT_KV_MAX_BYTES,
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
    /// See [`FunctionLimits::kv_max_keys`].
    #[serde(default)]
    pub kv_max_keys: Option<u64>,
    /// See [`FunctionLimits::kv_max_bytes`].
    #[serde(default)]
    pub kv_max_bytes: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_stored_before_kv_quotas_reads_with_the_defaults() {
        let old = r#"{"memory_mb":64,"timeout_ms":1000}"#;
        let limits: FunctionLimits = serde_json::from_str(old).unwrap();
        assert_eq!(limits.kv_max_keys, DEFAULT_KV_MAX_KEYS);
        assert_eq!(limits.kv_max_bytes, DEFAULT_KV_MAX_BYTES);
    }
}
