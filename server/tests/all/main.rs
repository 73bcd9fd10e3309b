//! The HTTP API end to end, against a real server in this process: one test
//! binary for the crate (each extra binary links wasmtime again, which costs
//! minutes on two cores).

mod bad_input;
mod bounds_checks;
mod http_api;
mod invocations;
mod journal;
mod kv_http;
mod limits;
mod load_replay;
mod logs;
mod native;
mod observed;
mod otlp;
mod pipelines_http;
mod platform;
mod preinit;
mod resident;
mod restart;
mod streams_http;
mod support;
