//! Pre-initialization: an init hook that runs once at deploy.
//!
//! [`init!`](crate::init) exports `wizer-initialize`. At deploy, faasrt runs
//! it once and snapshots memory and globals; every invocation then starts
//! from that snapshot, so what init built (tables, parsed configuration,
//! warmed caches) costs nothing per invocation.
//!
//! A snapshot freezes what init saw. faasrt gives each invocation its own
//! arguments (Rust's `std::env::args` asks the host each time, so it is not
//! frozen), but any state init keeps is shared by every invocation's
//! starting point: a random generator seeded during init would yield the same
//! sequence in every invocation. Draw randomness per invocation with
//! [`random_u64`](crate::random_u64) or [`Rng::new`](crate::Rng::new).
//!
//! Write init so that the function also works without pre-initialization
//! (deployed with `--no-preinit`, or run natively): fill a `OnceLock` in init
//! and read it with `get_or_init` in the body, as in the example of
//! [`init!`](crate::init).

/// Declares `$hook` (a `fn()`) as the function's pre-initialization hook: on
/// `wasm32`, it is exported as `wizer-initialize`, which faasrt runs once at
/// deploy. Natively nothing is exported: the body builds its state on first
/// use, as it does when deployed without pre-initialization.
///
/// ```no_run
/// use std::collections::HashMap;
/// use std::sync::OnceLock;
///
/// static TABLE: OnceLock<HashMap<u32, u32>> = OnceLock::new();
///
/// fn build() -> HashMap<u32, u32> {
///     (0..1_000_000u32).map(|k| (k, k.wrapping_mul(3))).collect()
/// }
///
/// fn warm() {
///     TABLE.get_or_init(build);
/// }
///
/// faasrt_guest::init!(warm);
///
/// fn main() {
///     faasrt_guest::run(|| {
///         let table = TABLE.get_or_init(build); // built already when pre-initialized
///         faasrt_guest::log!("{} entries", table.len());
///         Ok(())
///     })
/// }
/// ```
#[macro_export]
macro_rules! init {
    ($hook:path) => {
        #[cfg(target_family = "wasm")]
        #[unsafe(export_name = "wizer-initialize")]
        pub extern "C" fn __faasrt_guest_wizer_initialize() {
            unsafe extern "C" {
                fn __wasm_call_ctors();
            }
            // SAFETY: `_start` has not run (pre-initialization calls this
            // export on a fresh instance), so the static constructors of the
            // C runtime under Rust's std have not run either; they must run
            // before any std code. `_start` runs them again per invocation,
            // which they are written to allow.
            unsafe { __wasm_call_ctors() };
            $hook();
        }
        // Natively nothing exports the hook; naming it keeps it type-checked
        // and keeps it from being reported as unused.
        #[cfg(not(target_family = "wasm"))]
        const _: fn() = $hook;
    };
}
