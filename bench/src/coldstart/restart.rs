//! `restart-50` of `faasrt-bench coldstart`: how long opening a data
//! directory holding 50 functions takes, from their artifacts
//! (`artifacts`) and with the artifacts deleted so that every function is
//! recompiled (`recompile`). Each function's module is made distinct with a
//! custom section, so that none shares another's artifact.

use super::results::Measured;
use crate::stats::Samples;
use anyhow::bail;
use bytes::Bytes;
use faasrt_runtime::{DeployOptions, Runtime, RuntimeConfig};
use std::path::Path;
use std::time::Instant;

/// Opens a data directory holding `count` functions, from their artifacts
/// and after deleting them (every function recompiled), `runs` times each.
pub(super) fn restart(
    dir: &Path,
    count: usize,
    runs: u64,
    io: &tokio::runtime::Runtime,
) -> anyhow::Result<Vec<Measured>> {
    deploy_distinct_functions(dir, count, io)?;
    let (from_artifacts, recompiling) = time_reopening(dir, count, runs)?;
    Ok(vec![
        Measured {
            subject: "restart-50".into(),
            mode: "artifacts",
            samples: from_artifacts,
            peak_rss_kib: None,
        },
        Measured {
            subject: "restart-50".into(),
            mode: "recompile",
            samples: recompiling,
            peak_rss_kib: None,
        },
    ])
}

/// Deploys `count` functions `f00`, `f01`, ... into `dir`, cycling through
/// the Rust examples, each module tagged to be distinct.
fn deploy_distinct_functions(
    dir: &Path,
    count: usize,
    io: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    let bases: Vec<_> = faasrt_example_artifacts::EXAMPLES
        .iter()
        .filter(|e| !e.name.starts_with("go-"))
        .collect();
    io.block_on(async {
        let runtime = Runtime::open(RuntimeConfig::new(dir))?;
        for i in 0..count {
            let base = bases[i % bases.len()];
            // A custom section makes each module distinct, so none shares
            // another's artifact.
            let wasm = with_custom_section(base.wasm, &format!("faasrt-bench-{i}"));
            runtime
                .deploy(
                    &format!("f{i:02}"),
                    Bytes::from(wasm),
                    DeployOptions::default(),
                )
                .await?;
        }
        anyhow::Ok(())
    })
}

/// Reopens `dir` `runs` times from its artifacts and as many times after
/// deleting them; returns both sets of latencies, in that order.
fn time_reopening(dir: &Path, count: usize, runs: u64) -> anyhow::Result<(Samples, Samples)> {
    let artifacts = dir.join(faasrt_runtime::ARTIFACTS_DIR);
    let mut from_artifacts = Samples::new();
    let mut recompiling = Samples::new();
    for _ in 0..runs {
        let started = Instant::now();
        let runtime = Runtime::open(RuntimeConfig::new(dir))?;
        from_artifacts.record(started.elapsed());
        if runtime.list().len() != count {
            bail!("the restart lost functions");
        }
        drop(runtime);
        for entry in std::fs::read_dir(&artifacts)? {
            std::fs::remove_file(entry?.path())?;
        }
        let started = Instant::now();
        let runtime = Runtime::open(RuntimeConfig::new(dir))?;
        recompiling.record(started.elapsed());
        drop(runtime);
    }
    Ok((from_artifacts, recompiling))
}

/// Appends a custom section named `name` (empty payload) to `wasm`.
fn with_custom_section(wasm: &[u8], name: &str) -> Vec<u8> {
    let mut payload = leb128(name.len() as u64);
    payload.extend_from_slice(name.as_bytes());
    let mut out = wasm.to_vec();
    out.push(0);
    out.extend(leb128(payload.len() as u64));
    out.extend(payload);
    out
}

/// `value` as unsigned LEB128, the integer encoding of wasm binaries.
fn leb128(mut value: u64) -> Vec<u8> {
    let mut bytes = Vec::new();
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            bytes.push(byte);
            return bytes;
        }
        bytes.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb128_encodes_like_the_spec() {
        assert_eq!(leb128(0), [0]);
        assert_eq!(leb128(127), [127]);
        assert_eq!(leb128(128), [0x80, 1]);
        assert_eq!(leb128(624_485), [0xe5, 0x8e, 0x26]);
    }

    #[test]
    fn a_custom_section_keeps_the_module_valid_and_changes_its_bytes() {
        let hello = faasrt_example_artifacts::get("hello").expect("hello").wasm;
        let tagged = with_custom_section(hello, "tag");
        assert_ne!(tagged, hello);
        let shape = faasrt_snapshots::ModuleShape::read(&tagged).expect("still parses");
        assert_eq!(
            shape,
            faasrt_snapshots::ModuleShape::read(hello).expect("parses")
        );
    }
}
