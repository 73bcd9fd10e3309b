//! faasrt-load against a real server: an open-loop schedule replayed while
//! the server's journal is followed, every answered invocation joined with
//! the server's record of it by trace id, and the two views consistent;
//! the platform series followed alongside counts every one of them.

use crate::support::{TestServer, example};
use faasrt_load::platform_series::PlatformFollower;
use faasrt_load::server_journal::JournalFollower;
use faasrt_load::synthetic::{FunctionLoad, Process, Rate, Spec};
use faasrt_load::{HttpTarget, InjectOptions, Mapping, run_http};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread")]
async fn a_replayed_schedule_joins_the_servers_journal_record_for_record() {
    let server = TestServer::fresh();
    let http = server.http();
    http.deploy("hello", example("hello")).await;
    http.deploy("upper", example("upper")).await;
    let spec = Spec {
        duration_s: 1.0,
        seed: 3,
        functions: ["f1", "f2"]
            .into_iter()
            .map(|name| FunctionLoad {
                function: name.into(),
                rate: Some(Rate::Constant(150.0)),
                arrivals: Process::Poisson,
                bursts: None,
                active: None,
                input: Some("abc".into()),
                duration_ms: None,
                memory_mb: None,
                output_bytes: None,
            })
            .collect(),
    };
    let schedule = spec.schedule();
    let mapping = Mapping::new(&["f1=hello".into(), "f2=upper".into()], vec![]).unwrap();
    let target = HttpTarget {
        addr: server.addr,
        token: None,
    };
    let (run, followed, series) = tokio::task::spawn_blocking(move || {
        let follower = JournalFollower::start(&target);
        let platform = PlatformFollower::start(&target);
        // The platform follower connects before the run starts.
        std::thread::sleep(Duration::from_millis(100));
        let run = run_http(&schedule, &mapping, &target, &InjectOptions::default()).unwrap();
        let followed = follower.finish(Duration::from_millis(500));
        (run, followed, platform.finish(Duration::from_millis(200)))
    })
    .await
    .unwrap();
    assert_eq!(series.error, None);
    let samples = &series.collected.samples;
    assert!(samples.len() >= 10, "{} samples", samples.len());
    let ended: u64 = samples.iter().map(|s| s.ended["ok"]).sum();
    assert_eq!(
        ended,
        run.records.len() as u64,
        "every invocation ended in one sample"
    );
    assert!(run.aborted.is_none(), "{:?}", run.aborted);
    assert!(run.records.len() > 100, "{} sent", run.records.len());
    assert_eq!(followed.error, None);
    assert_eq!(followed.lost, 0);
    for record in &run.records {
        assert!(record.succeeded(), "{record:?}");
        let expected = if &*record.function == "upper" {
            "ABC".len()
        } else {
            "Hello, world!\n".len()
        };
        assert_eq!(record.response_bytes, expected as u64, "{record:?}");
        let server = followed
            .by_trace
            .get(&record.trace_id())
            .unwrap_or_else(|| panic!("no server record for {record:?}"));
        assert_eq!(server.outcome, "ok");
        assert!(server.arrival_ns <= server.start_ns && server.start_ns <= server.end_ns);
        // The server's time inside the runtime fits within what the
        // injector saw from sending to the whole answer.
        let inside = server.end_ns - server.arrival_ns;
        assert!(
            inside <= record.done_ns - record.sent_ns,
            "{record:?} {server:?}"
        );
    }
}
