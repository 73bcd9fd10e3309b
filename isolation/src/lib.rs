//! faasrt-isolation: seccomp filters per thread role, memory protection keys,
//! resource limits and the capability probe behind `faasrt doctor`.
//!
//! It sits at the bottom of the workspace: it knows nothing of wasm, HTTP or
//! the store. The isolation issue fills it; until then faasrt relies on the
//! wasm sandbox (bounds checks and guard regions) alone.
