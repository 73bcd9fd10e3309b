//! What the runtime observes, as the API reads it: the journal of
//! invocations, each function's logs and the platform's time series
//! (recorded by `journal`, `function_logs` and `platform`).

use crate::error::RuntimeError;
use crate::function_logs::LogEntry;
use crate::journal::InvocationRecord;
use crate::name::FunctionName;
use crate::runtime::Runtime;

impl Runtime {
    /// Up to `limit` of `function`'s logs of invocations after `since` (a
    /// journal `seq`), oldest first; only that of `invocation` when given.
    /// Only invocations that wrote to their log are kept, the newest
    /// [`crate::FUNCTION_LOG_BYTES`] of them per function.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidName`], [`RuntimeError::NotFound`] when no
    /// function has that name.
    pub fn logs(
        &self,
        function: &str,
        since: u64,
        invocation: Option<u64>,
        limit: usize,
    ) -> Result<Vec<LogEntry>, RuntimeError> {
        let name = FunctionName::parse(function)?;
        self.inner.registry.lookup(name.as_str())?;
        Ok(self
            .inner
            .logs
            .recent(name.as_str(), since, invocation, limit))
    }

    /// A live follower of every function's logs from now on.
    pub fn follow_logs(&self) -> crate::LogFeed {
        self.inner.logs.follow()
    }

    /// Up to `limit` journal records after `since` (a `seq`), oldest
    /// first, of `function` only when given: the last
    /// [`crate::JOURNAL_CAPACITY`] invocations at most.
    pub fn invocations(
        &self,
        function: Option<&str>,
        since: u64,
        limit: usize,
    ) -> Vec<InvocationRecord> {
        self.inner.journal.recent(function, since, limit)
    }

    /// A live follower of the journal: every invocation from now on.
    pub fn follow_invocations(&self) -> crate::JournalFeed {
        self.inner.journal.follow()
    }

    /// Now on the journal's monotonic clock, in nanoseconds: the clock of
    /// every record's `arrival_ns`, `start_ns`, `ready_ns` and `end_ns`,
    /// for relating them to wall time (the OTLP exporter does, once).
    pub fn journal_now_ns(&self) -> u64 {
        self.inner.journal.nanos(std::time::Instant::now())
    }

    /// Samples the platform: what happened since the previous sample and
    /// what the runtime holds now ([`crate::PlatformSample`]); the sample is
    /// kept for [`Runtime::platform_samples`] and sent to followers.
    /// `faasrt serve` calls it every `--sample-interval`.
    pub fn sample_platform(&self) -> crate::PlatformSample {
        let inner = &self.inner;
        let resources = self.resources();
        let (live_pipes, pipe_buffered_bytes) = inner.live_pipes.occupancy();
        let in_flight = inner
            .registry
            .functions()
            .iter()
            .filter(|f| f.in_flight() > 0)
            .map(|f| (f.info.name.clone(), f.in_flight()))
            .collect();
        let holdings = crate::platform::Holdings {
            instance_slots: inner.config.get_max_instances() as usize,
            instance_slots_in_use: resources.instance_slots,
            in_flight,
            native_processes: resources.native_processes,
            open_fds: resources.open_fds,
            live_pipes,
            pipe_buffered_bytes,
        };
        let now = inner.journal.nanos(std::time::Instant::now());
        inner.platform.sample(holdings, now)
    }

    /// Up to `limit` platform samples after `since` (a sample's `seq`),
    /// oldest first: the last [`crate::PLATFORM_CAPACITY`] at most.
    pub fn platform_samples(&self, since: u64, limit: usize) -> Vec<crate::PlatformSample> {
        self.inner.platform.recent(since, limit)
    }

    /// The `seq` of the latest platform sample (0 before the first).
    pub fn latest_platform_sample(&self) -> u64 {
        self.inner.platform.latest()
    }

    /// A live follower of the platform's samples from now on.
    pub fn follow_platform(&self) -> crate::Follower<crate::PlatformSample> {
        self.inner.platform.follow()
    }
}
