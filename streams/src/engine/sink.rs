//! The sink of a run: it stages what the last stage emits, and when a
//! barrier is aligned across the last stage's replicas it hands the epoch's
//! output to the coordinator, which commits it with the epoch's state.
//! Nothing is visible in the output log before its epoch commits.

use super::context::RunContext;
use super::inputs::{AlignedInputs, Event};
use super::messages::Report;
use crate::batch::Batch;
use std::sync::Arc;

/// Runs the sink until the stream ends or the run is torn down.
pub(crate) async fn run_sink(ctx: Arc<RunContext>, mut inputs: AlignedInputs) {
    let mut staged = Batch::new();
    loop {
        let Ok(event) = inputs.next().await else {
            return;
        };
        match event {
            Event::Records(records) => {
                if staged.is_empty() {
                    staged = records;
                } else {
                    staged.extend(&records);
                }
            }
            Event::Aligned(epoch) => {
                let records = std::mem::take(&mut staged);
                let _ = ctx.reports.send(Report::EpochOutput { epoch, records });
            }
            Event::Ended => {
                let _ = ctx.reports.send(Report::Ended);
                return;
            }
        }
    }
}
