//! Panics in its pre-initialization hook: the module traps at init and its deploy fails.
//!
//! Guest: wasm.
//!
//! On wasm the panic aborts, which traps inside `wizer-initialize`; the
//! host must reject the deploy with that trap rather than store a module
//! that never initialized. Natively (or deployed without pre-initialization)
//! the hook never runs and the function just says so.

use std::io::Write;

/// The pre-initialization hook: it refuses.
fn refuse() {
    panic!("hostile-init-trap: refusing to be initialized");
}

faasrt_guest::init!(refuse);

fn main() {
    faasrt_guest::run(|| {
        writeln!(faasrt_guest::output(), "init did not run")?;
        Ok(())
    })
}
