//! Streams end to end, on runtimes opened in this process with the example
//! functions deployed: lifecycle, keyed state, faults and their recovery,
//! rescaling, restarts of the whole server, and bad input. One test binary
//! for the crate (each binary links wasmtime again).

mod bad_input;
mod chaos;
mod file_source;
mod languages;
mod lifecycle;
mod placement;
mod support;
mod upgrade;
