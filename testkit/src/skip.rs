//! Skipping a test whose machine lacks what it needs, unless the machine is
//! declared to have it.
//!
//! A skipped test passes, so a machine that silently lost a capability would
//! pass too. CI machines that do have a capability say so with
//! `FAASRT_EXPECT_<WHAT>=1` (`scripts/test-pkeys` sets
//! `FAASRT_EXPECT_PKEYS=1` in its VM), and there [`require!`] fails instead
//! of skipping.

/// Whether the environment variable `variable` is `1`: the machine is
/// declared to have the capability it names. (One definition, in
/// `faasrt-isolation`, whose own tests sit below this crate.)
pub fn expected(variable: &str) -> bool {
    faasrt_isolation::capability_expected(variable)
}

/// Returns from the calling test, printing `skipped: WHY`, unless
/// `available` holds; panics instead when the environment variable
/// `expect` is `1`.
///
/// ```
/// fn needs_landlock() {
///     let available = false;
///     faasrt_testkit::require!(available, "FAASRT_EXPECT_LANDLOCK", "no Landlock in this kernel");
///     unreachable!("the test body runs only where Landlock is");
/// }
/// # needs_landlock();
/// ```
#[macro_export]
macro_rules! require {
    ($available:expr, $expect:literal, $why:literal) => {
        if !$available {
            if $crate::expected($expect) {
                panic!(concat!(
                    $why,
                    ", but ",
                    $expect,
                    "=1 says this machine has it"
                ));
            }
            eprintln!(concat!("skipped: ", $why));
            return;
        }
    };
}
