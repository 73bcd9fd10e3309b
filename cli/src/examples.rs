//! `faasrt serve --examples`: the example functions, deployed in the
//! background once the server listens.
//!
//! The first start compiles and pre-initializes every example (tens of
//! seconds on two loaded cores, most of it the Go snapshots); later starts
//! find them in the store and skip them. The server answers from its first
//! moment: `/healthz` lists the examples still being prepared, and an
//! invocation of one answers 503 `not_ready` with `Retry-After` instead of
//! 404. They are deployed as many at a time as half the machine's cores.

use bytes::Bytes;
use faasrt_runtime::{Code, DeployOptions, Runtime};
use futures::StreamExt;
use std::time::Instant;

/// One example to deploy: its name, bytes and what they are.
struct Pending {
    name: &'static str,
    bytes: &'static [u8],
    code: Code,
}

/// The examples that are missing from the store or differ from the bytes
/// built into this binary.
fn pending(runtime: &Runtime) -> Vec<Pending> {
    let wasm = faasrt_example_artifacts::EXAMPLES.iter().map(|e| Pending {
        name: e.name,
        bytes: e.wasm,
        code: Code::default(),
    });
    let native = faasrt_example_artifacts::NATIVE_EXAMPLES
        .iter()
        .map(|e| Pending {
            name: e.name,
            bytes: e.executable,
            code: Code::Native,
        });
    wasm.chain(native)
        .filter(|example| {
            let digest = faasrt_snapshots::ModuleDigest::of(example.bytes).to_string();
            !runtime.get(example.name).is_ok_and(|f| f.digest == digest)
        })
        .collect()
}

/// Marks the examples that need deploying as being prepared and deploys
/// them on a task of their own; says on the terminal what it does and
/// when it is done. A failed example is logged and left out; the others
/// and the server go on.
pub(super) fn prepare_in_background(runtime: &Runtime) {
    let pending = pending(runtime);
    if pending.is_empty() {
        tracing::info!("example functions ready (all in the store)");
        return;
    }
    runtime.preparing(pending.iter().map(|example| example.name));
    // Half the cores, the rest left to requests: pre-initialization has a
    // wall-clock limit that a starved deploy can miss.
    let at_once = std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1));
    tracing::info!(
        "preparing {} example functions in the background, {at_once} at a time: a first start \
         compiles and pre-initializes them (about 40 s on 2 cores), later starts load them from \
         the store; GET /healthz lists those not ready yet",
        pending.len()
    );
    let runtime = runtime.clone();
    tokio::spawn(async move {
        let started = Instant::now();
        let total = pending.len();
        let failed = futures::stream::iter(pending)
            .map(|example| deploy(&runtime, example))
            .buffer_unordered(at_once)
            .filter(|deployed| std::future::ready(!deployed))
            .count()
            .await;
        let seconds = started.elapsed().as_secs_f64();
        if failed == 0 {
            tracing::info!("example functions ready: {total} deployed in {seconds:.1} s");
        } else {
            tracing::error!(
                "example functions: {} of {total} deployed in {seconds:.1} s, {failed} failed (see above)",
                total - failed
            );
        }
    });
}

/// Deploys one example; whether it worked.
async fn deploy(runtime: &Runtime, example: Pending) -> bool {
    let options = DeployOptions {
        code: example.code,
        ..DeployOptions::default()
    };
    let outcome = runtime
        .deploy(example.name, Bytes::from_static(example.bytes), options)
        .await;
    runtime.prepared(example.name);
    match outcome {
        Ok(_) => {
            tracing::info!(function = example.name, "deployed example");
            true
        }
        Err(error) => {
            tracing::error!(function = example.name, %error, "cannot deploy example");
            false
        }
    }
}
