//! Pipelines through the library API: UNIX pipe semantics end to end.

use bytes::Bytes;
use faasrt_host_api::{PipeReader, ReadOutcome, pipe};
use faasrt_runtime::pipeline::{PipelineResult, PipelineSpec};
use faasrt_runtime::{Runtime, RuntimeConfig, RuntimeError};
use faasrt_testkit::{example, shell, sleepy_module, trap_module};

/// A runtime with the examples (and `extra` fixtures) deployed.
async fn runtime_with(extra: &[(&str, Vec<u8>)]) -> Runtime {
    let runtime = Runtime::open(RuntimeConfig::in_memory()).expect("runtime");
    for name in ["cat", "grep", "wc", "head", "upper", "yes"] {
        runtime
            .deploy(name, Bytes::from_static(example(name)), Default::default())
            .await
            .expect("deploy");
    }
    for (name, wasm) in extra {
        runtime
            .deploy(name, Bytes::from(wasm.clone()), Default::default())
            .await
            .expect("deploy");
    }
    runtime
}

async fn read_all(reader: PipeReader) -> Vec<u8> {
    let mut out = Vec::new();
    while let ReadOutcome::Data(bytes) = reader.read(1 << 20).await {
        out.extend_from_slice(&bytes);
    }
    out
}

/// Runs `spec` with `input` fed as fast as the first stage takes it.
pub async fn run(runtime: &Runtime, spec: &str, input: Bytes) -> (Vec<u8>, PipelineResult) {
    let spec = PipelineSpec::parse(spec).expect("valid spec");
    let (in_writer, in_reader) = pipe(64 << 10);
    let (out_writer, out_reader) = pipe(64 << 10);
    let feed = async move {
        // A broken pipe just means the first stage stopped reading.
        let _ = in_writer.write_all(input).await;
    };
    let (_, result, output) = tokio::join!(
        feed,
        runtime.run_pipeline(&spec, in_reader, out_writer),
        read_all(out_reader)
    );
    (output, result.expect("pipeline runs"))
}

#[tokio::test(flavor = "multi_thread")]
async fn grep_and_wc_agree_with_the_shell() {
    let runtime = runtime_with(&[]).await;
    let input: String = (1..=200_000).map(|n| format!("{n}\n")).collect();
    let (output, result) = run(&runtime, "grep 7 | wc -l", Bytes::from(input)).await;
    assert_eq!(
        String::from_utf8(output).unwrap(),
        shell("seq 1 200000 | grep 7 | wc -l").trim_start()
    );
    assert_eq!(result.pipestatus(), [0, 0]);
    assert_eq!(result.stages[0].bytes_in, 1_288_895);
    assert_eq!(result.stages[0].bytes_out, result.stages[1].bytes_in);
}

#[tokio::test(flavor = "multi_thread")]
async fn eof_flows_down_a_chain() {
    let runtime = runtime_with(&[]).await;
    let (output, result) = run(
        &runtime,
        "cat | cat | upper | cat | wc -c",
        Bytes::from_static(b"hello, pipes\n"),
    )
    .await;
    assert_eq!(output, b"13\n");
    assert_eq!(result.pipestatus(), [0, 0, 0, 0, 0]);
    assert_eq!(result.exit_code(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_early_consumer_exit_stops_the_producer() {
    let runtime = runtime_with(&[]).await;
    // `yes` never ends by itself: only the broken pipe stops it.
    let (output, result) = run(&runtime, "yes hi | head -n 5", Bytes::new()).await;
    assert_eq!(output, b"hi\nhi\nhi\nhi\nhi\n");
    assert_eq!(result.stages[1].exit_code, 0);
    assert_eq!(
        result.stages[0].exit_code, 32,
        "yes ends on EPIPE: {:?}",
        result.stages[0]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_consumer_holds_the_producer_and_memory_stays_bounded() {
    // The consumer reads nothing for 300 ms, then exits.
    let runtime = runtime_with(&[("slow", sleepy_module(300, ""))]).await;
    let (_, result) = run(&runtime, "yes | slow", Bytes::new()).await;
    let written = result.stages[0].bytes_out;
    assert!(
        written <= 64 << 10,
        "yes wrote {written} bytes into a 64 KiB pipe nobody read"
    );
    assert!(
        result.stages[0].duration_us >= 300_000,
        "yes was held until the consumer left"
    );
    assert_eq!(result.stages[0].exit_code, 32);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trapping_middle_stage_ends_the_pipeline_with_its_status() {
    let runtime = runtime_with(&[("boom", trap_module())]).await;
    let input = Bytes::from(vec![b'x'; 1 << 20]);
    let (output, result) = run(&runtime, "cat | boom | wc -c", input).await;
    assert_eq!(output, b"0\n");
    assert_eq!(result.stages[1].exit_code, 134);
    assert_eq!(result.stages[1].outcome, faasrt_runtime::Outcome::Trap);
    assert!(
        result.stages[1]
            .message
            .as_deref()
            .unwrap()
            .contains("unreachable")
    );
    // cat found its reader gone before it could write its megabyte.
    assert_eq!(result.stages[0].exit_code, 32);
    assert_eq!(result.pipestatus(), [32, 134, 0]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gibibyte_passes_three_stages_intact() {
    let runtime = runtime_with(&[]).await;
    let spec = PipelineSpec::parse("cat | cat | cat").unwrap();
    let (in_writer, in_reader) = pipe(64 << 10);
    let (out_writer, out_reader) = pipe(64 << 10);
    const TOTAL: usize = 1 << 30;
    let block: Bytes = (0..(64 << 10))
        .map(|i: usize| (i * 31 % 251) as u8)
        .collect::<Vec<u8>>()
        .into();
    let feed = async move {
        let mut sent = 0;
        while sent < TOTAL {
            in_writer
                .write_all(block.clone())
                .await
                .expect("cat reads it all");
            sent += block.len();
        }
    };
    let digest = async move {
        let mut hasher = xxhash_rust::xxh3::Xxh3::new();
        let mut received = 0usize;
        while let ReadOutcome::Data(bytes) = out_reader.read(1 << 20).await {
            hasher.update(&bytes);
            received += bytes.len();
        }
        (received, hasher.digest128())
    };
    let (_, result, (received, got)) = tokio::join!(
        feed,
        runtime.run_pipeline(&spec, in_reader, out_writer),
        digest
    );
    let result = result.expect("runs");
    let mut expected = xxhash_rust::xxh3::Xxh3::new();
    let block: Vec<u8> = (0..(64 << 10))
        .map(|i: usize| (i * 31 % 251) as u8)
        .collect();
    for _ in 0..TOTAL / block.len() {
        expected.update(&block);
    }
    assert_eq!(received, TOTAL);
    assert_eq!(got, expected.digest128());
    assert_eq!(result.pipestatus(), [0, 0, 0]);
    assert!(
        result
            .stages
            .iter()
            .all(|s| s.bytes_in == TOTAL as u64 && s.bytes_out == TOTAL as u64)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn many_pipelines_run_at_once() {
    let runtime = runtime_with(&[]).await;
    let runs = (0..24).map(|i| {
        let runtime = runtime.clone();
        tokio::spawn(async move {
            let input = format!("{i}\n").repeat(1000 + i);
            let (output, result) = run(&runtime, "cat | upper | wc -l", Bytes::from(input)).await;
            (i, output, result.pipestatus())
        })
    });
    for run in runs.collect::<Vec<_>>() {
        let (i, output, statuses) = run.await.expect("task");
        assert_eq!(
            String::from_utf8(output).unwrap(),
            format!("{}\n", 1000 + i)
        );
        assert_eq!(statuses, [0, 0, 0]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_functions_and_busy_pools_start_nothing() {
    let runtime = runtime_with(&[]).await;
    let spec = PipelineSpec::parse("cat | nope | wc").unwrap();
    let (_, in_reader) = pipe(16);
    let (out_writer, _) = pipe(16);
    match runtime.run_pipeline(&spec, in_reader, out_writer).await {
        Err(RuntimeError::InvalidPipeline { reason }) => {
            assert!(reason.contains("stage 2"), "{reason}")
        }
        other => panic!("unexpected {other:?}"),
    }
    let small = Runtime::open(RuntimeConfig::in_memory().max_instances(2)).expect("runtime");
    small
        .deploy(
            "cat",
            Bytes::from_static(example("cat")),
            Default::default(),
        )
        .await
        .unwrap();
    let spec = PipelineSpec::parse("cat | cat | cat").unwrap();
    let (_, in_reader) = pipe(16);
    let (out_writer, _) = pipe(16);
    assert!(matches!(
        small.run_pipeline(&spec, in_reader, out_writer).await,
        Err(RuntimeError::Busy { .. })
    ));
}
