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
//! `faasrt-load` binary drives all of it. It speaks to faasrt over HTTP,
//! or runs the runtime itself in process ([`RuntimeTarget`], the one
//! faasrt crate it depends on).

pub mod arrival;
pub mod calibration;
mod closed_loop;
pub mod cpus;
pub mod dataset;
pub mod demand;
pub mod downscale;
mod error;
pub mod feed_follower;
pub mod inject;
mod mapping;
pub mod platform_series;
pub mod record;
mod schedule;
pub mod server_journal;
pub mod sweep;
pub mod synthetic;
mod table;
pub mod trace;
mod trace_ids;

pub use arrival::{ArrivalLaw, Spread};
pub use closed_loop::{ClosedLoop, run_closed_loop};
pub use error::TraceError;
pub use inject::{
    Answer, HttpTarget, InProcessError, InjectError, InjectOptions, ModuleArg, NullTarget,
    Progress, Run, RuntimeTarget, Target, TraceIds, deployed_functions, open_runtime, run_http,
    run_open_loop,
};
pub use mapping::{Mapping, MappingError};
pub use record::{Percentiles, Record};
pub use schedule::{Schedule, ScheduledInvocation, Summary};
