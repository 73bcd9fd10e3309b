//! Prints one random 64-bit number per invocation, even when pre-initialized.
//!
//! A faasrt function and a test fixture: its init hook draws randomness too,
//! which the snapshot freezes; what it prints is drawn per invocation.

use std::io::Write;
use std::sync::OnceLock;

/// Drawn during init, so the same in every invocation of a snapshot.
static DRAWN_AT_INIT: OnceLock<u64> = OnceLock::new();

fn warm() {
    DRAWN_AT_INIT.get_or_init(faasrt_guest::random_u64);
}

faasrt_guest::init!(warm);

fn main() {
    faasrt_guest::run(|| {
        let at_init = *DRAWN_AT_INIT.get_or_init(faasrt_guest::random_u64);
        let mut output = faasrt_guest::output();
        writeln!(output, "{} {at_init}", faasrt_guest::Rng::new().next_u64())?;
        Ok(())
    })
}
