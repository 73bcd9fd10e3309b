//! faasrt-load: workload injection for faasrt, in the spirit of FaaSLoad.
//!
//! This part reads public traces ([`trace`]: Azure Functions 2019 and 2021,
//! FaaSLoad's per-user files) and turns them into a [`Schedule`]: every
//! invocation of a run with the time it is meant to be sent, generated
//! before the run from a seed ([`arrival`]) and saved, so that a run can be
//! repeated and its latency measured from the scheduled send time.
//! [`run_http`] sends a schedule to a faasrt server, open loop, and keeps a
//! [`Record`] of each invocation; [`run_closed_loop`] measures the most it
//! sustains; [`synthetic`] specs describe workloads no trace has. During a
//! run, [`server_journal`] follows the server's journal (its own record of
//! each invocation) and [`platform_series`] its platform samples. The
//! `faasrt-load` binary drives all of it. The library speaks to faasrt
//! over HTTP and depends on no other faasrt crate; the binary's
//! `--in-process` mode runs the runtime itself behind a [`Target`].

pub mod arrival;
mod closed_loop;
pub mod cpus;
pub mod dataset;
mod error;
pub mod feed_follower;
pub mod inject;
mod mapping;
pub mod platform_series;
pub mod record;
mod schedule;
pub mod server_journal;
pub mod synthetic;
mod table;
pub mod trace;

pub use arrival::{ArrivalLaw, Spread};
pub use closed_loop::{ClosedLoop, run_closed_loop};
pub use error::TraceError;
pub use inject::{
    Answer, HttpTarget, InjectError, InjectOptions, NullTarget, Progress, Run, Target, TraceIds,
    deployed_functions, run_http, run_open_loop,
};
pub use mapping::{Mapping, MappingError};
pub use record::{Percentiles, Record};
pub use schedule::{Schedule, ScheduledInvocation, Summary};
