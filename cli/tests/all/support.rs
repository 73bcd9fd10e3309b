//! The CLI's test helpers: the fixtures and the raw HTTP client of
//! faasrt-testkit (the server under test is the `faasrt` binary itself,
//! started by `cli::Serve`).

pub use faasrt_testkit::http::Http;
pub use faasrt_testkit::*;
