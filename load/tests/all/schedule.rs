//! Schedules built from the fixtures: counts kept, order, determinism, and
//! the saved CSV read back as it was written.

use super::{fixture, write};
use faasrt_load::trace::{azure2019, azure2021, faasload};
use faasrt_load::{ArrivalLaw, Schedule, Spread};

fn azure2019_schedule(law: ArrivalLaw, minutes: std::ops::Range<usize>, seed: u64) -> Schedule {
    let rows = azure2019::read_invocations(&fixture("azure2019-invocations.csv")).unwrap();
    Schedule::from_minute_counts(&rows, minutes, Spread { law, shift: true }, seed)
}

#[test]
fn a_uniform_schedule_has_the_traces_invocations_in_send_order() {
    let schedule = azure2019_schedule(ArrivalLaw::Uniform, 0..5, 1);
    // f1: 3+0+2+0+1, f2: 5, f3 never invoked (and left out).
    assert_eq!(schedule.entries().len(), 11);
    assert_eq!(schedule.functions(), ["o1/a1/f1", "o1/a1/f2"]);
    assert!(schedule.entries().is_sorted_by_key(|e| e.at_ns));
    assert!(schedule.entries().iter().all(|e| e.at_ns < 300_000_000_000));
    let summary = schedule.summary(11);
    assert_eq!((summary.functions, summary.scheduled), (2, 11));
}

#[test]
fn a_window_of_minutes_starts_at_its_first_minute() {
    let schedule = azure2019_schedule(ArrivalLaw::Equidistant, 2..4, 5);
    // Minutes 3 and 4: f1 has 2 then 0, f2 has 1 and 1.
    assert_eq!(schedule.entries().len(), 4);
    assert!(schedule.entries().iter().all(|e| e.at_ns < 120_000_000_000));
}

#[test]
fn the_same_seed_gives_the_same_schedule_and_another_seed_another() {
    for law in [
        ArrivalLaw::Poisson,
        ArrivalLaw::Uniform,
        ArrivalLaw::Equidistant,
    ] {
        assert_eq!(
            azure2019_schedule(law, 0..5, 42),
            azure2019_schedule(law, 0..5, 42),
            "{law:?}"
        );
        assert_ne!(
            azure2019_schedule(law, 0..5, 42),
            azure2019_schedule(law, 0..5, 43),
            "{law:?}"
        );
    }
}

#[test]
fn azure2021_invocations_are_sent_from_the_first_start() {
    let rows = azure2021::read_invocations(&fixture("azure2021.csv")).unwrap();
    let schedule = Schedule::from_invocations(&rows, None);
    let times: Vec<u64> = schedule.entries().iter().map(|e| e.at_ns).collect();
    assert_eq!(times, vec![0, 2_000_000_000, 3_000_000_000]);
    assert_eq!(
        Schedule::from_invocations(&rows, Some(2.5)).entries().len(),
        2
    );
}

#[test]
fn faasload_waits_accumulate_per_user_file() {
    let entries = faasload::read_entries(&fixture("alice.faasload")).unwrap();
    let schedule = Schedule::from_faasload(&[("alice".into(), entries)]);
    let sent: Vec<(u64, Option<&str>)> = schedule
        .entries()
        .iter()
        .map(|e| (e.at_ns, e.input.as_deref()))
        .collect();
    assert_eq!(
        sent,
        vec![
            (500_000_000, Some("input-a.txt")),
            (1_750_000_000, Some("input-b.txt")),
            (1_750_000_000, Some("inline")),
        ]
    );
}

#[test]
fn a_saved_schedule_reads_back_equal() {
    let dir = tempfile::tempdir().unwrap();
    let mut schedule = azure2019_schedule(ArrivalLaw::Poisson, 0..5, 7);
    let path = dir.path().join("schedule.csv");
    schedule.write_csv(&path).unwrap();
    assert_eq!(Schedule::read_csv(&path).unwrap(), schedule);
    let entries = faasload::read_entries(&fixture("alice.faasload")).unwrap();
    schedule = Schedule::from_faasload(&[("alice".into(), entries)]);
    schedule.write_csv(&path).unwrap();
    assert_eq!(Schedule::read_csv(&path).unwrap(), schedule);
}

#[test]
fn a_schedule_that_goes_back_in_time_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(&dir, "s.csv", "scheduled_ns,function,input\n5,f,\n4,f,\n");
    let error = Schedule::read_csv(&path).unwrap_err().to_string();
    assert!(
        error.contains("line 3") && error.contains("before the previous"),
        "{error}"
    );
}

#[test]
fn demands_are_saved_and_read_back_and_older_schedules_have_none() {
    let dir = tempfile::tempdir().unwrap();
    let rows = azure2021::read_invocations(&fixture("azure2021.csv")).unwrap();
    let schedule = Schedule::from_invocations(&rows, None);
    // The fixture's durations in send order (starts 8.0, 10.0, 11.0 s).
    let durations: Vec<u64> = schedule
        .entries()
        .iter()
        .map(|e| e.demand.unwrap().duration_us)
        .collect();
    assert_eq!(durations, vec![2_500_000, 500_000, 1_000_000]);
    let path = dir.path().join("schedule.csv");
    schedule.write_csv(&path).unwrap();
    assert_eq!(Schedule::read_csv(&path).unwrap(), schedule);

    let old = write(&dir, "old.csv", "scheduled_ns,function,input\n5,f,x\n");
    let read = Schedule::read_csv(&old).unwrap();
    assert_eq!(read.entries()[0].demand, None);
    assert_eq!(read.entries()[0].input.as_deref(), Some("x"));

    let bad = write(
        &dir,
        "bad.csv",
        "scheduled_ns,function,input,duration_us,memory_bytes,input_bytes,output_bytes\n5,f,,12,x,0,0\n",
    );
    let error = Schedule::read_csv(&bad).unwrap_err().to_string();
    assert!(
        error.contains("line 2") && error.contains("memory_bytes"),
        "{error}"
    );
}

#[test]
fn huawei2025_requests_are_sent_from_the_first_arrival_with_their_demands() {
    use faasrt_load::trace::huawei2025;
    let rows = huawei2025::read_requests(&fixture("huawei2025-requests.csv")).unwrap();
    let schedule = Schedule::from_requests(
        rows.iter()
            .map(|r| (r.function.id(), r.arrival_s, Some(r.demand))),
        None,
    );
    let sent: Vec<(u64, u64)> = schedule
        .entries()
        .iter()
        .map(|e| (e.at_ns, e.demand.unwrap().duration_us))
        .collect();
    // Arrivals 2600186.101, .995 and 2600187.498.
    assert_eq!(
        sent,
        vec![
            (0, 1_499_800),
            (894_000_000, 23_637),
            (1_397_000_000, 9_900)
        ]
    );
    assert_eq!(schedule.functions().len(), 2);
}
