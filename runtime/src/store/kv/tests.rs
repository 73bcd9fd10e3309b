use super::*;
use crate::store::DeployWrite;
use faasrt_host_api::KvTransaction;

const ROOMY: KvQuota = KvQuota {
    max_keys: 1000,
    max_bytes: 1 << 20,
};

fn store_with(functions: &[&str]) -> FunctionStore {
    let store = FunctionStore::in_memory().unwrap();
    for name in functions {
        let module = format!("module of {name}").into_bytes();
        let info = crate::store::tests::info(name, &module);
        store
            .deploy(DeployWrite {
                info: &info,
                module: &module,
                snapshot: None,
                artifact: None,
            })
            .unwrap();
    }
    store
}

fn writes(entries: &[(&str, Option<&str>)]) -> KvWrites {
    entries
        .iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.map(|v| v.as_bytes().to_vec())))
        .collect()
}

#[test]
fn a_commit_is_read_back_and_counted_per_function() {
    let store = store_with(&["a", "b"]);
    let usage = store
        .kv_commit("a", &writes(&[("x", Some("1")), ("y", Some("22"))]), ROOMY)
        .unwrap();
    assert_eq!(usage, KvUsage { keys: 2, bytes: 5 });
    assert_eq!(store.kv_get("a", b"x").unwrap(), Some(b"1".to_vec()));
    assert_eq!(
        store.kv_get("b", b"x").unwrap(),
        None,
        "state is per function"
    );
    store
        .kv_commit("a", &writes(&[("x", None), ("y", Some("3"))]), ROOMY)
        .unwrap();
    assert_eq!(store.kv_usage("a").unwrap(), KvUsage { keys: 1, bytes: 2 });
    assert_eq!(store.kv_usage("b").unwrap(), KvUsage::default());
}

#[test]
fn a_commit_over_the_quota_writes_nothing() {
    let store = store_with(&["f"]);
    let quota = KvQuota {
        max_keys: 2,
        max_bytes: 100,
    };
    store
        .kv_commit("f", &writes(&[("a", Some("1"))]), quota)
        .unwrap();
    // Two invocations that each saw one key free: the second loses.
    store
        .kv_commit("f", &writes(&[("b", Some("2"))]), quota)
        .unwrap();
    let error = store
        .kv_commit("f", &writes(&[("a", Some("9")), ("c", Some("3"))]), quota)
        .unwrap_err();
    assert!(
        matches!(error, RuntimeError::KvQuotaExceeded { keys: 3, .. }),
        "{error}"
    );
    assert_eq!(store.kv_get("f", b"a").unwrap(), Some(b"1".to_vec()));
    assert_eq!(store.kv_get("f", b"c").unwrap(), None);
    assert_eq!(store.kv_usage("f").unwrap().keys, 2);
}

#[test]
fn the_state_of_a_removed_function_is_gone_and_not_written_again() {
    let store = store_with(&["f", "g"]);
    store
        .kv_commit("f", &writes(&[("a", Some("1"))]), ROOMY)
        .unwrap();
    store
        .kv_commit("g", &writes(&[("a", Some("1"))]), ROOMY)
        .unwrap();
    store.remove("f").unwrap();
    assert_eq!(store.kv_get("f", b"a").unwrap(), None);
    assert_eq!(store.kv_usage("f").unwrap(), KvUsage::default());
    assert_eq!(store.kv_get("g", b"a").unwrap(), Some(b"1".to_vec()));
    // An invocation that was running when it was removed commits nothing.
    assert!(matches!(
        store.kv_commit("f", &writes(&[("b", Some("2"))]), ROOMY),
        Err(RuntimeError::NotFound { .. })
    ));
    assert!(store.kv_list("f", b"", None, 10).unwrap().is_empty());
}

#[test]
fn a_listing_pages_by_prefix_in_key_order() {
    let store = store_with(&["f", "fa"]);
    store
        .kv_commit(
            "f",
            &writes(&[
                ("user:2", Some("bb")),
                ("user:1", Some("a")),
                ("user:3", Some("ccc")),
                ("zone", Some("z")),
            ]),
            ROOMY,
        )
        .unwrap();
    store
        .kv_commit("fa", &writes(&[("user:0", Some("x"))]), ROOMY)
        .unwrap();
    let keys = |entries: Vec<KvEntry>| -> Vec<String> {
        entries
            .into_iter()
            .map(|e| String::from_utf8(e.key).unwrap())
            .collect()
    };
    let first = store.kv_list("f", b"user:", None, 2).unwrap();
    assert_eq!(first[1].value_bytes, 2);
    assert_eq!(keys(first), ["user:1", "user:2"]);
    let rest = store.kv_list("f", b"user:", Some(b"user:2"), 2).unwrap();
    assert_eq!(keys(rest), ["user:3"]);
    assert_eq!(keys(store.kv_list("f", b"", None, 10).unwrap()).len(), 4);
}

#[test]
fn an_invocation_reads_the_store_through_its_transaction() {
    let store = Arc::new(store_with(&["f"]));
    store
        .kv_commit("f", &writes(&[("seen", Some("1"))]), ROOMY)
        .unwrap();
    let reader = Arc::new(StoreKvReader {
        store: store.clone(),
        function: "f".into(),
    });
    let txn = KvTransaction::new(reader, ROOMY);
    assert_eq!(txn.get(b"seen").unwrap(), Some(b"1".to_vec()));
    txn.write(b"seen", Some(b"2")).unwrap();
    assert_eq!(
        store.kv_get("f", b"seen").unwrap(),
        Some(b"1".to_vec()),
        "nothing is committed before the invocation ends"
    );
    store.kv_commit("f", &txn.take_writes(), ROOMY).unwrap();
    assert_eq!(store.kv_get("f", b"seen").unwrap(), Some(b"2".to_vec()));
}
