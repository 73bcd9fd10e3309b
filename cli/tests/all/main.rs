//! The `faasrt` binary end to end: `serve` as it runs in production, the
//! client commands against it, and local runs. One test binary for the
//! crate (each extra binary links wasmtime again).

mod cli;
mod kv;
mod logs;
mod otlp;
mod pipe;
mod server_under_load;
mod stream;
mod support;
