//! The data directory and its store, opened by the library.

use faasrt_runtime::{Runtime, RuntimeConfig, RuntimeError};

#[tokio::test(flavor = "multi_thread")]
async fn a_store_in_use_is_refused_with_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let _first = Runtime::open(RuntimeConfig::new(dir.path())).expect("open");
    match Runtime::open(RuntimeConfig::new(dir.path())) {
        Err(RuntimeError::DataDir { reason, .. }) => {
            assert!(reason.contains("another faasrt process"))
        }
        Err(other) => panic!("unexpected error {other}"),
        Ok(_) => panic!("a second runtime opened the same store"),
    }
}
