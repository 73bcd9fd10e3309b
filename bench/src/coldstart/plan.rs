//! How many samples `faasrt-bench coldstart` takes: the budgets of a full
//! run and of a `--quick` one, and which budget each subject's mode gets
//! (expensive starts get the slow one, so that they finish in time).

use super::subjects::Subject;
use std::time::{Duration, Instant};

/// How many samples each mode takes: up to `max`, within `time`, at least
/// `min`.
#[derive(Clone, Copy)]
pub(super) struct Budget {
    min: u64,
    max: u64,
    time: Duration,
}

impl Budget {
    /// Whether another sample is due, with `taken` samples taken since
    /// `started`.
    pub(super) fn wants_another(&self, taken: u64, started: Instant) -> bool {
        taken < self.max && (taken < self.min || started.elapsed() < self.time)
    }
}

/// The sample budgets of one run, the duration of each `http` load and the
/// size of the restart case.
pub(super) struct Plan {
    fast: Budget,
    slow: Budget,
    /// How long each subject's `http` load runs.
    pub(super) http: Duration,
    /// How many times the data directory is reopened (each way).
    pub(super) restart_runs: u64,
    /// How many functions the restarted data directory holds.
    pub(super) restart_functions: usize,
}

impl Plan {
    /// The plan of a `--quick` run (`quick`) or of a full one.
    pub(super) fn for_run(quick: bool) -> Plan {
        if quick {
            Plan {
                fast: Budget {
                    min: 20,
                    max: 2_000,
                    time: Duration::from_millis(700),
                },
                slow: Budget {
                    min: 5,
                    max: 200,
                    time: Duration::from_millis(1_500),
                },
                http: Duration::from_millis(700),
                restart_runs: 2,
                restart_functions: 50,
            }
        } else {
            Plan {
                fast: Budget {
                    min: 100,
                    max: 20_000,
                    time: Duration::from_secs(3),
                },
                slow: Budget {
                    min: 20,
                    max: 1_000,
                    time: Duration::from_secs(8),
                },
                http: Duration::from_secs(3),
                restart_runs: 5,
                restart_functions: 50,
            }
        }
    }

    /// The budget of `mode` for `subject`: expensive starts (init-heavy
    /// and Go subjects, except in `preinit`) get the slow budget.
    pub(super) fn budget_for(&self, subject: &Subject, mode: &str) -> Budget {
        let heavy = subject.name.contains("init-heavy") || subject.name.starts_with("go-");
        if heavy && mode != "preinit" {
            self.slow
        } else {
            self.fast
        }
    }
}
