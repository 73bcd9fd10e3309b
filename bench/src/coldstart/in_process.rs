//! The in-process modes of `faasrt-bench coldstart` (`ondemand`, `pooled`,
//! `preinit`): a fresh in-memory `Runtime` per mode with the subject
//! deployed under that mode's allocator and snapshot setting, then timed
//! invocations, one at a time.

use super::plan::Budget;
use super::subjects::Subject;
use crate::stats::Samples;
use anyhow::bail;
use bytes::Bytes;
use faasrt_runtime::{DeployOptions, InvokeRequest, Runtime, RuntimeConfig};
use std::time::Instant;

/// The in-process modes in the order they are measured: name, pooling
/// allocator, pre-initialized snapshot.
pub(super) const MODES: [(&str, bool, bool); 3] = [
    ("ondemand", false, false),
    ("pooled", true, false),
    ("preinit", true, true),
];

/// Invokes `subject` in process, one invocation at a time.
pub(super) async fn measure(
    subject: &Subject,
    pooling: bool,
    preinit: bool,
    budget: Budget,
) -> anyhow::Result<Samples> {
    let runtime = deploy(subject, pooling, preinit).await?;
    time_invocations(&runtime, subject, budget).await
}

/// A runtime with `subject` deployed, with the pooling allocator or not
/// and with its snapshot or not; fails if a snapshot was asked for, the
/// module wants one and none was made.
async fn deploy(subject: &Subject, pooling: bool, preinit: bool) -> anyhow::Result<Runtime> {
    let runtime = Runtime::open(
        RuntimeConfig::in_memory()
            .pooling(pooling)
            .max_instances(16),
    )?;
    let options = DeployOptions {
        code: faasrt_runtime::Code::Wasm(faasrt_runtime::WasmOptions {
            skip_preinit: !preinit,
            bounds_checks: None,
        }),
        ..Default::default()
    };
    let info = runtime
        .deploy(subject.name, Bytes::from_static(subject.wasm), options)
        .await?;
    let wants_preinit =
        faasrt_snapshots::ModuleShape::read(subject.wasm).is_ok_and(|s| s.wants_preinit());
    if preinit && wants_preinit && !info.preinitialized {
        bail!("{} was not pre-initialized", subject.name);
    }
    Ok(runtime)
}

/// Times invocations of the deployed `subject` until the budget is spent,
/// after one warm-up, checking each answer.
async fn time_invocations(
    runtime: &Runtime,
    subject: &Subject,
    budget: Budget,
) -> anyhow::Result<Samples> {
    let request = InvokeRequest {
        args: Vec::new(),
        input: subject.input.clone(),
        ..Default::default()
    };
    // One warm-up invocation: code pages and the pool slot are touched once.
    runtime.invoke(subject.name, request.clone()).await?;
    let mut samples = Samples::new();
    let started = Instant::now();
    while budget.wants_another(samples.len(), started) {
        let sent = Instant::now();
        let invocation = runtime.invoke(subject.name, request.clone()).await?;
        samples.record(sent.elapsed());
        if invocation.output != subject.expected {
            bail!(
                "{} answered {:?}",
                subject.name,
                String::from_utf8_lossy(&invocation.output)
            );
        }
    }
    Ok(samples)
}
