//! The stream store's tests.

use super::*;

fn lines(texts: &[&str]) -> Batch {
    let mut batch = Batch::new();
    for text in texts {
        batch.push(b"", text.as_bytes());
    }
    batch
}

fn values(records: &Batch) -> Vec<String> {
    records
        .iter()
        .map(|r| String::from_utf8_lossy(r.value).into_owned())
        .collect()
}

#[test]
fn the_input_log_reads_back_from_any_offset_across_chunks() {
    let store = StreamStore::in_memory().expect("store");
    assert_eq!(
        store
            .append_input("s", &lines(&["a\n", "b\n"]))
            .expect("append"),
        (0, 2)
    );
    assert_eq!(
        store
            .append_input("s", &lines(&["c\n", "d\n", "e\n"]))
            .expect("append"),
        (2, 5)
    );
    assert_eq!(store.input_end("s").expect("end"), 5);
    assert_eq!(
        values(&store.read_input("s", 1, 3).expect("read")),
        ["b\n", "c\n", "d\n"]
    );
    assert_eq!(
        values(&store.read_input("s", 4, 10).expect("read")),
        ["e\n"]
    );
    assert!(store.read_input("s", 5, 10).expect("read").is_empty());
    assert!(store.read_input("other", 0, 10).expect("read").is_empty());
}

#[test]
fn an_epoch_commits_state_output_and_checkpoint_together() {
    let store = StreamStore::in_memory().expect("store");
    let put = |key: &str, value: Option<&str>| StateChange {
        stage: 1,
        key: key.into(),
        value: value.map(Into::into),
    };
    let first = Checkpoint {
        epoch: 1,
        source_offset: 10,
        output_end: 0,
        slot_tables: vec![None, Some(vec![0; 4])],
    };
    let committed = store
        .commit_epoch(
            "s",
            first,
            &[put("a", Some("1")), put("b", Some("2"))],
            &lines(&["x\n"]),
        )
        .expect("commit");
    assert_eq!(committed.output_end, 1);
    let second = Checkpoint {
        epoch: 2,
        source_offset: 12,
        ..committed.clone()
    };
    store
        .commit_epoch("s", second, &[put("a", None)], &lines(&["y\n", "z\n"]))
        .expect("commit");
    let checkpoint = store.checkpoint("s").expect("checkpoint");
    assert_eq!(
        (
            checkpoint.epoch,
            checkpoint.source_offset,
            checkpoint.output_end
        ),
        (2, 12, 3)
    );
    assert_eq!(
        store.dump_state("s").expect("state"),
        [StateEntry {
            stage: 1,
            key: b"b".to_vec(),
            value: b"2".to_vec()
        }]
    );
    assert_eq!(
        store.load_state("s", 1, &[b"a", b"b"]).expect("load"),
        [None, Some(b"2".to_vec())]
    );
    assert_eq!(
        values(&store.read_output("s", 0, 10).expect("output")),
        ["x\n", "y\n", "z\n"]
    );
}

#[test]
fn a_large_append_is_cut_into_chunks_that_read_back_as_one() {
    let store = StreamStore::in_memory().expect("store");
    let texts: Vec<String> = (0..CHUNK_RECORDS * 2 + 5)
        .map(|i| format!("{i}\n"))
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    store.append_input("s", &lines(&refs)).expect("append");
    let from = CHUNK_RECORDS - 3;
    let read = values(
        &store
            .read_input("s", from as u64, CHUNK_RECORDS + 6)
            .expect("read"),
    );
    assert_eq!(read, texts[from..from + CHUNK_RECORDS + 6]);
    let tail = values(
        &store
            .read_input("s", (texts.len() - 2) as u64, 100)
            .expect("read"),
    );
    assert_eq!(tail, texts[texts.len() - 2..]);
}

#[test]
fn frames_keep_their_keys_through_the_log() {
    let store = StreamStore::in_memory().expect("store");
    let mut frame = Batch::new();
    frame.push(b"k", b"v");
    store.append_input("s", &frame).expect("append");
    assert_eq!(store.read_input("s", 0, 1).expect("read"), frame);
}

#[test]
fn removing_a_stream_removes_everything_it_stored() {
    let store = StreamStore::in_memory().expect("store");
    let stream = StoredStream {
        spec: StreamSpec::from_json(br#"{"stages": [{"function": "cat"}]}"#).expect("spec"),
        digests: vec!["d".into()],
        running: false,
        failure: None,
        created_at: "now".into(),
        upgrade: None,
    };
    store.put_stream("s", &stream, true).expect("put");
    store.append_input("s", &lines(&["a\n"])).expect("append");
    store
        .commit_epoch("s", Checkpoint::default(), &[], &lines(&["a\n"]))
        .expect("commit");
    assert_eq!(store.stream("s").expect("get"), Some(stream.clone()));
    assert!(store.remove_stream("s").expect("remove"));
    assert_eq!(store.stream("s").expect("get"), None);
    assert_eq!(store.input_end("s").expect("end"), 0);
    assert!(store.read_output("s", 0, 10).expect("read").is_empty());
    assert_eq!(
        store.checkpoint("s").expect("checkpoint"),
        Checkpoint::default()
    );
    assert!(!store.remove_stream("s").expect("remove again"));
}

#[test]
fn a_file_sources_position_commits_with_its_records_and_goes_with_the_stream() {
    let store = StreamStore::in_memory().expect("store");
    assert_eq!(store.file_position("s").expect("position"), 0);
    store
        .append_input_at("s", &lines(&["a\n", "b\n"]), 4)
        .expect("append");
    store
        .append_input("s", &lines(&["posted\n"]))
        .expect("append");
    assert_eq!(
        store.file_position("s").expect("position"),
        4,
        "a posted append leaves the file position alone"
    );
    store
        .append_input_at("s", &lines(&["c\n"]), 6)
        .expect("append");
    assert_eq!(store.file_position("s").expect("position"), 6);
    assert_eq!(store.input_end("s").expect("end"), 4);
    store.remove_stream("s").expect("remove");
    assert_eq!(store.file_position("s").expect("position"), 0);
}
