//! The source of a run: it reads the input log from the last checkpoint's
//! offset, sends batches to the first stage, and every checkpoint interval
//! (or when asked) puts a barrier after the last record it sent, telling
//! the coordinator the offset the next epoch starts at.

use super::context::RunContext;
use super::messages::{Failure, Message, Report};
use super::outputs::Outputs;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// What the coordinator asks of the source.
#[derive(Debug)]
pub(crate) enum SourceCommand {
    /// Put a barrier now (a rescale waits for it).
    Checkpoint,
    /// Put a final barrier after what the log holds now, then end.
    Drain,
}

/// The source task.
pub(crate) struct Source {
    pub ctx: Arc<RunContext>,
    pub outputs: Outputs,
    /// The next input offset to send.
    pub offset: u64,
    /// The epoch the next barrier closes.
    pub epoch: u64,
    pub commands: mpsc::UnboundedReceiver<SourceCommand>,
    pub interval: Duration,
}

impl Source {
    /// Runs until drained or torn down.
    pub(crate) async fn run(mut self) {
        let mut deadline = Instant::now() + self.interval;
        let mut sent_since_barrier = 0usize;
        // Set by a drain: the input end to reach before the final barrier.
        let mut drain_at: Option<u64> = None;
        loop {
            let appended = self.ctx.appended.clone();
            let notified = appended.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let records = match self.ctx.store.read_input(
                &self.ctx.name,
                self.offset,
                self.ctx.spec.batch_records as usize,
            ) {
                Ok(records) => records,
                Err(error) => {
                    self.fail(format!("cannot read the input log: {error}"));
                    return;
                }
            };
            let got = records.len();
            if got > 0 {
                let count = got;
                let bytes = records.bytes();
                self.ctx.source_stats.received(count, bytes);
                match self.outputs.send(records).await {
                    Ok(()) => {}
                    Err(Ok(failure)) => {
                        self.fail(failure.message);
                        return;
                    }
                    Err(Err(_closed)) => return,
                }
                self.offset += count as u64;
                sent_since_barrier += count;
                if count == self.ctx.spec.batch_records as usize {
                    // A full batch: the log likely holds more, so let the
                    // replica just sent to run elsewhere (`hand_off.rs`).
                    super::hand_off::hand_off().await;
                }
            }
            let mut barrier = Instant::now() >= deadline && sent_since_barrier > 0;
            match self.commands.try_recv() {
                Ok(SourceCommand::Checkpoint) => barrier = true,
                Ok(SourceCommand::Drain) => match self.drain_point() {
                    Some(end) => drain_at = Some(end),
                    None => return,
                },
                Err(_) => {}
            }
            let mut drain = drain_at.is_some_and(|end| self.offset >= end);
            if !barrier && !drain && got == 0 {
                // Nothing new: wait for an append, the deadline or a command.
                tokio::select! {
                    () = &mut notified => {}
                    () = tokio::time::sleep_until(deadline) => {
                        barrier = sent_since_barrier > 0;
                        if !barrier {
                            deadline = Instant::now() + self.interval;
                        }
                    }
                    command = self.commands.recv() => match command {
                        Some(SourceCommand::Checkpoint) => barrier = true,
                        Some(SourceCommand::Drain) => match self.drain_point() {
                            Some(end) => drain_at = Some(end),
                            None => return,
                        },
                        None => return,
                    },
                }
                drain = drain_at.is_some_and(|end| self.offset >= end);
            }
            if barrier || drain {
                if self.barrier().await.is_err() {
                    return;
                }
                sent_since_barrier = 0;
                deadline = Instant::now() + self.interval;
            }
            if drain {
                let _ = self.outputs.broadcast(|| Message::End).await;
                return;
            }
        }
    }

    /// Where a drain asked for now ends: the input log's end, or `None`
    /// (reported as a failure) when it cannot be read.
    fn drain_point(&self) -> Option<u64> {
        match self.ctx.store.input_end(&self.ctx.name) {
            Ok(end) => Some(end),
            Err(error) => {
                self.fail(format!("cannot read the input log's end: {error}"));
                None
            }
        }
    }

    /// Puts barrier `self.epoch` after the records sent so far.
    async fn barrier(&mut self) -> Result<(), ()> {
        let epoch = self.epoch;
        self.epoch += 1;
        let _ = self.ctx.reports.send(Report::SourceBarrier {
            epoch,
            offset: self.offset,
        });
        self.outputs
            .broadcast(|| Message::Barrier(epoch))
            .await
            .map_err(|_| ())
    }

    fn fail(&self, message: String) {
        let _ = self.ctx.reports.send(Report::Failed {
            stage: 0,
            replica: 0,
            failure: Failure {
                message: format!("source: {message}"),
                exit_code: None,
                permanent: false,
            },
        });
    }
}
