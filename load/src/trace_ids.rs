//! The W3C trace identity the injector gives each invocation it sends, so
//! that the server's journal record of it joins the injector's.

/// The W3C trace identity of invocation `index` of run `run_id`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceIds {
    /// The run: the first half of every trace id it sends.
    pub run_id: u64,
    /// The invocation: the second half, and its span id less one.
    pub index: u64,
}

impl TraceIds {
    /// The trace id: 32 hex digits.
    pub fn trace_id(&self) -> String {
        format!("{:016x}{:016x}", self.run_id, self.index)
    }

    /// The `traceparent` header: its trace id, a span id that is its index
    /// plus one (never zero), sampled.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{:016x}-01", self.trace_id(), self.index + 1)
    }
}
