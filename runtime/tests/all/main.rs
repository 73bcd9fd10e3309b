//! End-to-end tests of faasrt, gathered into one test binary (each extra
//! binary links wasmtime again, which costs minutes on two cores).

mod bad_input;
mod bounds_checks;
mod cli;
mod hostile;
mod http_api;
mod invocations;
mod limits;
mod native;
mod pipelines;
mod pipelines_http;
mod preinit;
mod restart;
mod server_under_load;
mod support;
