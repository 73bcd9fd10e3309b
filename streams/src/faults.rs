//! Faults injected on purpose: what the chaos tests (and an operator
//! rehearsing a failure) use to make a replica fail at a chosen batch or
//! an epoch's commit fail, through the same paths a real failure takes.

use std::sync::Mutex;

/// An injected failure of an invocation, reported as the runtime reports
/// a real one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InjectedFault {
    /// As if the function trapped.
    Trap,
    /// As if it ran past its timeout.
    Timeout,
    /// As if a native function's process was killed (SIGKILL).
    Killed,
}

impl InjectedFault {
    /// The exit code the runtime reports for this ending.
    pub fn exit_code(self) -> i32 {
        match self {
            InjectedFault::Trap => faasrt_runtime::EXIT_CODE_TRAP,
            InjectedFault::Timeout => faasrt_runtime::EXIT_CODE_TIMEOUT,
            InjectedFault::Killed => 128 + 9,
        }
    }

    /// How the failure reads in the stream's status.
    pub fn describe(self) -> &'static str {
        match self {
            InjectedFault::Trap => "function trapped: injected fault",
            InjectedFault::Timeout => "function exceeded its timeout: injected fault",
            InjectedFault::Killed => "native function killed by signal 9: injected fault",
        }
    }
}

/// Decides where faults happen. Called on the paths it can break; `None`
/// and `false` mean: run normally.
pub trait FaultInjector: Send + Sync {
    /// Before stage `stage`'s replica `replica` runs a batch of `records`
    /// records; `processed` is how many records that stage has been handed
    /// before, over every run of the stream since the injector was set.
    fn before_batch(
        &self,
        stage: usize,
        replica: usize,
        processed: u64,
        records: usize,
    ) -> Option<InjectedFault>;

    /// Before epoch `epoch` is committed: `true` fails the commit.
    fn fail_commit(&self, epoch: u64) -> bool;
}

/// Faults at fixed record positions of one stage, each once, and failing
/// commits of chosen epochs, each once.
#[derive(Debug, Default)]
pub struct FaultPlan {
    /// Stage → (record position, fault), consumed as they fire.
    at_records: Mutex<Vec<(usize, u64, InjectedFault)>>,
    commits: Mutex<Vec<u64>>,
}

impl FaultPlan {
    /// A plan with no faults.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails the batch of stage `stage` that holds its record number
    /// `position` (counted from 0 over the whole life of the plan).
    pub fn at_record(self, stage: usize, position: u64, fault: InjectedFault) -> Self {
        self.at_records
            .lock()
            .expect("plan lock")
            .push((stage, position, fault));
        self
    }

    /// Fails the commit of epoch `epoch`, once.
    pub fn at_commit(self, epoch: u64) -> Self {
        self.commits.lock().expect("plan lock").push(epoch);
        self
    }

    /// Faults not fired yet.
    pub fn pending(&self) -> usize {
        self.at_records.lock().expect("plan lock").len()
            + self.commits.lock().expect("plan lock").len()
    }
}

impl FaultInjector for FaultPlan {
    fn before_batch(
        &self,
        stage: usize,
        _replica: usize,
        processed: u64,
        records: usize,
    ) -> Option<InjectedFault> {
        let mut faults = self.at_records.lock().expect("plan lock");
        let end = processed + records as u64;
        let at = faults
            .iter()
            .position(|(s, position, _)| *s == stage && *position < end)?;
        Some(faults.remove(at).2)
    }

    fn fail_commit(&self, epoch: u64) -> bool {
        let mut commits = self.commits.lock().expect("plan lock");
        match commits.iter().position(|e| *e <= epoch) {
            Some(at) => {
                commits.remove(at);
                true
            }
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_fault_fires_once_at_its_position() {
        let plan = FaultPlan::new()
            .at_record(1, 10, InjectedFault::Trap)
            .at_commit(3);
        assert_eq!(
            plan.before_batch(1, 0, 0, 10),
            None,
            "records 0..10 do not hold 10"
        );
        assert_eq!(plan.before_batch(0, 0, 10, 5), None, "another stage");
        assert_eq!(plan.before_batch(1, 0, 10, 1), Some(InjectedFault::Trap));
        assert_eq!(plan.before_batch(1, 0, 10, 1), None, "fired once");
        assert!(!plan.fail_commit(2));
        assert!(plan.fail_commit(3));
        assert!(!plan.fail_commit(3));
        assert_eq!(plan.pending(), 0);
    }
}
