//! The library end to end: runtimes opened in this process, hostile guests
//! and pipelines. One test binary for the crate (each extra binary links
//! wasmtime again, which costs minutes on two cores). The HTTP API's tests
//! live with faasrt-server, the command line's with the `faasrt` package.

mod bounds_checks;
mod hostile;
mod invocations;
mod kv;
mod pipelines;
mod store;
