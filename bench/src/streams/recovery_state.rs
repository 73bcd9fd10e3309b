//! Recovery against the size of a stream's state: a keyed stream whose
//! stage already holds `bytes` of state (keys the run never touches, seeded
//! straight into `streams.redb` before the server opens it) gets one
//! injected trap; detection and the time back to committed output are
//! measured as in `recovery`, once per run, for each size.
//!
//! Recovery reads no state eagerly (replicas read a key when they meet it),
//! so these should stay flat as the state grows: this is what measures it.

use super::cases::{OneFault, open, records};
use anyhow::Context;
use faasrt_streams::store::{Checkpoint, StateChange, StreamStore};
use faasrt_streams::{RestartPolicy, Streams};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bytes of one seeded entry: a 12-byte key and an 88-byte value.
const ENTRY_BYTES: usize = 100;
/// Entries per seeding commit, so that 1 GB is never in memory at once.
const SEED_BATCH: usize = 100_000;

const SPEC: &str = r#"{"stages": [{"function": "cat"}, {"function": "word-count", "key": {"field": 0}}], "checkpoint_interval_ms": 100}"#;

/// One measurement: how long detection took and how long until output.
pub(super) struct Recovery {
    pub detection: Duration,
    pub back_to_output: Duration,
}

/// `runs` recoveries of a stream whose keyed stage holds `bytes` of state,
/// on a data directory of its own under `dir`.
pub(super) fn recoveries(
    io: &tokio::runtime::Runtime,
    dir: &Path,
    bytes: u64,
    runs: usize,
) -> anyhow::Result<Vec<Recovery>> {
    let dir = dir.join(format!("state-{bytes}"));
    std::fs::create_dir_all(&dir)?;
    // The stream is created by a server, which is then closed...
    io.block_on(async {
        let (_runtime, streams) = open(&dir).await?;
        streams.create("seeded", SPEC.as_bytes())?;
        anyhow::Ok(())
    })?;
    // ...its state written straight into its database...
    seed(&dir, bytes)?;
    // ...and a new server starts it with that state.
    io.block_on(async {
        let (_runtime, streams) = open(&dir).await?;
        let fault = Arc::new(OneFault::default());
        streams.set_faults(Some(fault.clone()));
        // Each run's fault is the first of its window (the runs are
        // hundreds of ms apart), so each restart waits the first backoff
        // (10 ms), as in `recovery` on a fresh stream; with the default
        // window the backoff would double from run to run.
        streams.set_restart_policy(RestartPolicy {
            max_failures: 1_000,
            window: Duration::from_millis(50),
            ..RestartPolicy::default()
        });
        streams.start("seeded")?;
        let mut measured = Vec::with_capacity(runs);
        for _ in 0..runs {
            measured.push(one_recovery(&streams, &fault).await?);
        }
        streams.stop("seeded").await?;
        Ok(measured)
    })
}

/// Writes `bytes` of stage-1 state for stream `seeded`, in commits of
/// [`SEED_BATCH`] entries, as epochs 1, 2, ... at source offset 0.
fn seed(dir: &Path, bytes: u64) -> anyhow::Result<()> {
    let data = faasrt_runtime::DataDir::open(dir)?;
    let store = StreamStore::open(&data)?;
    let entries = (bytes as usize).div_ceil(ENTRY_BYTES);
    let value = vec![b'v'; ENTRY_BYTES - 12];
    let mut written = 0;
    let mut epoch = 0;
    while written < entries {
        let count = SEED_BATCH.min(entries - written);
        let changes: Vec<StateChange> = (written..written + count)
            .map(|i| StateChange {
                stage: 1,
                key: format!("seed{i:08}").into_bytes(),
                value: Some(value.clone()),
            })
            .collect();
        epoch += 1;
        let checkpoint = Checkpoint {
            epoch,
            slot_tables: vec![None, None],
            ..Checkpoint::default()
        };
        store.commit_epoch(
            "seeded",
            checkpoint,
            &changes,
            &faasrt_streams::batch::Batch::new(),
        )?;
        written += count;
    }
    Ok(())
}

/// Appends records until an epoch commits them, then arms one trap and
/// appends again: (trap .. restart counted, trap .. new output committed).
async fn one_recovery(streams: &Streams, fault: &OneFault) -> anyhow::Result<Recovery> {
    let lines = records(2_000, 1_000).concat();
    let before = streams.status("seeded")?;
    streams.append("seeded", &lines)?;
    let target = before.input.end + 2_000;
    wait_until(streams, |s| s.checkpoint.source_offset >= target).await?;
    let before = streams.status("seeded")?;
    fault.arm();
    streams.append("seeded", &lines)?;
    let detected = loop {
        if streams.status("seeded")?.restarts > before.restarts {
            break Instant::now();
        }
        super::cases::poll_pause();
    };
    let fired = fault.fired_at().context("the fault fired")?;
    wait_until(streams, |s| {
        s.checkpoint.output_end > before.checkpoint.output_end
    })
    .await?;
    let back = Instant::now();
    // Let the rest of the replayed input commit before the next run.
    let end = before.input.end + 2_000;
    wait_until(streams, |s| s.checkpoint.source_offset >= end).await?;
    Ok(Recovery {
        detection: detected - fired,
        back_to_output: back - fired,
    })
}

async fn wait_until(
    streams: &Streams,
    done: impl Fn(&faasrt_streams::StreamStatus) -> bool,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status = streams.status("seeded")?;
        if done(&status) {
            return Ok(());
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the seeded stream did not get there: {status:?}"
        );
        super::cases::poll_pause();
    }
}
