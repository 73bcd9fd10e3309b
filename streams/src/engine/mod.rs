//! Running streams: a supervisor per running stream (`supervisor`), one
//! run of it from a checkpoint (`run`: the tasks, their edges and the
//! coordinator loop that commits epochs), and the tasks themselves: the
//! source, the replicas and the sink, with aligned inputs and routed
//! outputs.

pub(crate) mod change;
mod context;
mod hand_off;
mod inputs;
mod keyed_state;
mod messages;
mod outputs;
pub(crate) mod pinned;
mod replica;
pub(crate) mod run;
mod sink;
mod source;
pub(crate) mod stats;
pub(crate) mod status;
pub(crate) mod supervisor;
