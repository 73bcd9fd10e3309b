//! Each trace reader on a well-formed fixture and on malformed rows, which
//! must fail with the file's line.

use super::{fixture, write};
use faasrt_load::TraceError;
use faasrt_load::trace::{azure2019, azure2021, faasload};
use std::time::Duration;

fn bad_line(error: TraceError) -> (u64, String) {
    match error {
        TraceError::BadRow { line, reason, .. } => (line, reason),
        other => panic!("expected a bad row, got {other}"),
    }
}

#[test]
fn azure2019_invocations_are_read_per_function_and_minute() {
    let rows = azure2019::read_invocations(&fixture("azure2019-invocations.csv")).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].function.id(), "o1/a1/f1");
    assert_eq!(rows[0].trigger, "http");
    assert_eq!(rows[0].per_minute, vec![3, 0, 2, 0, 1]);
    assert_eq!(rows[1].per_minute, vec![1; 5]);
}

#[test]
fn azure2019_invocations_of_a_whole_day_have_1440_minutes() {
    let dir = tempfile::tempdir().unwrap();
    let minutes: Vec<String> = (1..=1440).map(|m| m.to_string()).collect();
    let counts: Vec<String> = (1..=1440).map(|m| (m % 7).to_string()).collect();
    let text = format!(
        "HashOwner,HashApp,HashFunction,Trigger,{}\no,a,f,http,{}\n",
        minutes.join(","),
        counts.join(",")
    );
    let rows = azure2019::read_invocations(&write(&dir, "day.csv", &text)).unwrap();
    assert_eq!(rows[0].per_minute.len(), 1440);
    assert_eq!(rows[0].per_minute[1439], 1440 % 7);
}

#[test]
fn azure2019_columns_are_matched_by_name_not_position() {
    let dir = tempfile::tempdir().unwrap();
    let text = "2,Trigger,HashFunction,1,HashApp,HashOwner\n5,http,f,4,a,o\n";
    let rows = azure2019::read_invocations(&write(&dir, "moved.csv", text)).unwrap();
    assert_eq!(rows[0].per_minute, vec![4, 5]);
    assert_eq!(rows[0].function.id(), "o/a/f");
}

#[test]
fn a_bad_count_is_reported_with_its_line_and_minute() {
    let dir = tempfile::tempdir().unwrap();
    let text = "HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,1,2\no,a,g,http,1,x\n";
    let error = azure2019::read_invocations(&write(&dir, "bad.csv", text)).unwrap_err();
    let message = error.to_string();
    let (line, reason) = bad_line(error);
    assert_eq!(line, 3, "{message}");
    assert!(
        reason.contains("minute 2") && reason.contains("\"x\""),
        "{message}"
    );
    assert!(message.contains("bad.csv: line 3:"), "{message}");
}

#[test]
fn a_negative_count_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = "HashOwner,HashApp,HashFunction,Trigger,1\no,a,f,http,-1\n";
    let (line, _) =
        bad_line(azure2019::read_invocations(&write(&dir, "neg.csv", text)).unwrap_err());
    assert_eq!(line, 2);
}

#[test]
fn a_row_with_too_few_fields_is_reported_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "HashOwner,HashApp,HashFunction,Trigger,1,2\no,a,f,http,1,2\n\no,a,g,http,1\n";
    let (line, reason) =
        bad_line(azure2019::read_invocations(&write(&dir, "short.csv", text)).unwrap_err());
    assert_eq!(line, 4, "{reason}");
    assert!(
        reason.contains("5 fields where the header has 6"),
        "{reason}"
    );
}

#[test]
fn a_gap_in_the_minute_columns_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = "HashOwner,HashApp,HashFunction,Trigger,1,3\no,a,f,http,1,2\n";
    let (line, reason) =
        bad_line(azure2019::read_invocations(&write(&dir, "gap.csv", text)).unwrap_err());
    assert_eq!(line, 1);
    assert!(reason.contains("after 1 comes 3"), "{reason}");
}

#[test]
fn a_missing_column_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let text = "HashOwner,HashApp,Trigger,1\no,a,http,1\n";
    match azure2019::read_invocations(&write(&dir, "nofn.csv", text)).unwrap_err() {
        TraceError::MissingColumn { column, .. } => assert_eq!(column, "HashFunction"),
        other => panic!("expected a missing column, got {other}"),
    }
}

#[test]
fn a_header_without_rows_is_an_empty_trace() {
    let dir = tempfile::tempdir().unwrap();
    let text = "HashOwner,HashApp,HashFunction,Trigger,1\n";
    let error = azure2019::read_invocations(&write(&dir, "empty.csv", text)).unwrap_err();
    assert!(matches!(error, TraceError::Empty { .. }), "{error}");
}

#[test]
fn azure2019_durations_and_memory_are_read_with_their_percentiles() {
    let durations = azure2019::read_durations(&fixture("azure2019-durations.csv")).unwrap();
    assert_eq!(durations[0].function.id(), "o1/a1/f1");
    assert_eq!(durations[0].count, 6);
    assert_eq!(durations[0].average_ms, 120.5);
    assert_eq!(durations[0].percentiles[3], (50, 100.0));
    assert_eq!(durations[0].percentiles.len(), 7);
    let memory = azure2019::read_memory(&fixture("azure2019-memory.csv")).unwrap();
    assert_eq!(memory[0].app, "a1");
    assert_eq!(memory[0].sample_count, 32);
    assert_eq!(memory[0].percentiles[5], (95, 180.0));
}

#[test]
fn azure2021_invocations_start_at_end_minus_duration_in_start_order() {
    let rows = azure2021::read_invocations(&fixture("azure2021.csv")).unwrap();
    let starts: Vec<(String, f64)> = rows.iter().map(|r| (r.function.id(), r.start_s)).collect();
    assert_eq!(
        starts,
        vec![
            ("a1/f2".into(), 8.0),
            ("a1/f1".into(), 10.0),
            ("a2/f1".into(), 11.0)
        ]
    );
}

#[test]
fn an_azure2021_duration_past_its_end_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let text = "app,func,end_timestamp,duration\na,f,1.0,0.5\na,f,1.0,2.0\n";
    let (line, reason) =
        bad_line(azure2021::read_invocations(&write(&dir, "t.csv", text)).unwrap_err());
    assert_eq!(line, 3);
    assert!(reason.contains("longer than end_timestamp"), "{reason}");
}

#[test]
fn faasload_entries_keep_waits_inputs_and_parameters() {
    let entries = faasload::read_entries(&fixture("alice.faasload")).unwrap();
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0].wait, Duration::from_millis(500));
    assert_eq!(entries[0].input, "input-a.txt");
    assert_eq!(
        entries[0].parameters,
        vec![("size".to_owned(), "10".to_owned())]
    );
    assert_eq!(entries[1].parameters, vec![]);
    assert_eq!(entries[2].wait, Duration::ZERO);
    assert_eq!(entries[2].parameters.len(), 2);
}

#[test]
fn faasload_malformed_lines_are_reported_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    for (text, line, words) in [
        ("1\ta\n-2\tb\n", 2, "WAIT is \"-2\""),
        ("1\ta\nsoon\tb\n", 2, "WAIT is \"soon\""),
        ("# c\n1\n", 2, "no INPUT"),
        ("1\ta\tsize=3\n", 1, "not PARAM:VALUE"),
    ] {
        let (got, reason) =
            bad_line(faasload::read_entries(&write(&dir, "u.faasload", text)).unwrap_err());
        assert_eq!(got, line, "{text:?}: {reason}");
        assert!(reason.contains(words), "{text:?}: {reason}");
    }
}

#[test]
fn huawei2025_requests_give_arrivals_functions_and_demands() {
    use faasrt_load::trace::huawei2025;
    let rows = huawei2025::read_requests(&fixture("huawei2025-requests.csv")).unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].function.id(), "224/pool22-300-128/296");
    // Two pods of one pool are one function.
    assert_eq!(rows[1].function, rows[0].function);
    assert_eq!(rows[0].arrival_s, 2600186.995);
    assert_eq!(rows[0].demand.duration_us, 23_637);
    assert_eq!(
        rows[0].demand.memory_bytes,
        (32.308594f64 * 1048576.0).round() as u64
    );
    assert_eq!(rows[0].demand.input_bytes, 1018);
    assert_eq!(rows[2].demand.duration_us, 1_499_800);
}

#[test]
fn huawei2025_columns_are_found_by_name_and_the_worker_time_stands_in() {
    use faasrt_load::trace::huawei2025;
    let dir = tempfile::tempdir().unwrap();
    let text = "podID,funcName,time_worker,userID\npool1-100-64-0001,7,5.5,3\n";
    let rows = huawei2025::read_requests(&write(&dir, "few.csv", text)).unwrap();
    assert_eq!(rows[0].function.id(), "3/pool1-100-64/7");
    assert_eq!(rows[0].arrival_s, 5.5);
    assert_eq!(rows[0].demand, faasrt_load::demand::Demand::default());
}

#[test]
fn a_bad_huawei2025_row_is_reported_with_its_line() {
    use faasrt_load::trace::huawei2025;
    let dir = tempfile::tempdir().unwrap();
    let text = "time_frontend,funcName,userID,podID,runtimeCost\n1.0,7,3,pool1-1,0.5\n2.0,7,3,pool1-1,-1\n";
    let (line, reason) =
        bad_line(huawei2025::read_requests(&write(&dir, "bad.csv", text)).unwrap_err());
    assert_eq!(line, 3);
    assert!(reason.contains("runtimeCost"), "{reason}");
    let text = "funcName,userID,podID\n7,3,pool1-1\n";
    let error = huawei2025::read_requests(&write(&dir, "none.csv", text)).unwrap_err();
    assert!(error.to_string().contains("time_worker"), "{error}");
}
