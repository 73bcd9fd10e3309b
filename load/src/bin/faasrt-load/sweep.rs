//! `faasrt-load dataset`: a sweep of every function x input x parameter
//! values, checkpointed cell by cell, written as `dataset.{csv,parquet}`.

use super::DatasetArgs;
use anyhow::Context;
use faasrt_load::sweep::journal::JournalSource;
use faasrt_load::sweep::spec::SweepSpec;
use faasrt_load::sweep::{self, SweepSummary, functions_of};
use faasrt_load::{HttpTarget, InjectOptions, RuntimeTarget, open_runtime};

pub(super) fn dataset(args: DatasetArgs) -> anyhow::Result<()> {
    anyhow::ensure!(
        args.timeout.is_finite() && args.timeout > 0.0,
        "--timeout must be a positive number of seconds"
    );
    let spec = SweepSpec::read(&args.spec)?;
    let base = args.spec.parent().map_or_else(
        || std::path::PathBuf::from("."),
        std::path::Path::to_path_buf,
    );
    let cells = spec.cells(&base);
    let functions = functions_of(&cells);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting an async runtime")?;
    let summary = if args.in_process {
        let library = open_runtime(&args.modules)?;
        let target = RuntimeTarget {
            runtime: library.clone(),
            functions: functions.clone(),
        };
        let mut journal = JournalSource::in_process(library);
        runtime.block_on(sweep::sweep(
            &spec,
            &base,
            &target,
            &mut journal,
            &args.out,
            args.resume,
        ))?
    } else {
        let token = match &args.token_file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the token file {}", path.display()))?
                    .trim()
                    .to_owned(),
            ),
            None => None,
        };
        let server = HttpTarget {
            addr: args.target,
            token,
        };
        let options = InjectOptions {
            request_timeout: std::time::Duration::from_secs_f64(args.timeout),
            ..InjectOptions::default()
        };
        let mut journal = JournalSource::http(server.clone());
        let summary = runtime.block_on(async {
            let target = faasrt_load::inject::http_sender(&server, &functions, &options);
            sweep::sweep(&spec, &base, &target, &mut journal, &args.out, args.resume).await
        })?;
        if let Some(error) = journal.error() {
            eprintln!(
                "warning: the server's journal could not be read ({error}); rows carry no server columns"
            );
        }
        summary
    };
    report(&summary, &args.out);
    Ok(())
}

fn report(summary: &SweepSummary, out: &std::path::Path) {
    let resumed = if summary.resumed_from > 0 {
        format!(" (resumed after cell {})", summary.resumed_from)
    } else {
        String::new()
    };
    println!(
        "{} cells{resumed}: {} invocations, {} failed, {} joined with the server's record; {}",
        summary.cells,
        summary.rows,
        summary.failed,
        summary.joined,
        out.join("dataset.parquet").display()
    );
}
