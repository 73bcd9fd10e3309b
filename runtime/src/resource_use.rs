//! What a runtime holds at one moment ([`ResourceUse`]): reported by
//! [`crate::Runtime::resources`] and exported as gauges by `metrics`.

/// Resources a runtime holds at one moment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceUse {
    /// Instance slots held by running invocations and pipeline stages.
    pub instance_slots: usize,
    /// File descriptors open in the process (all of it, not only faasrt's).
    pub open_fds: usize,
    /// Native function processes not yet reaped.
    pub native_processes: usize,
}
