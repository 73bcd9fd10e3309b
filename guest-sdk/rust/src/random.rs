//! Randomness drawn per invocation, never frozen by a snapshot.

/// 64 fresh random bits from the host (WASI `random_get`; `/dev/urandom`
/// natively).
///
/// Each call asks the host, so two invocations of a pre-initialized
/// function never see the same values.
///
/// # Panics
/// If the host refuses to provide randomness, which faasrt never does.
pub fn random_u64() -> u64 {
    let mut bytes = [0u8; 8];
    fill_random(&mut bytes);
    u64::from_le_bytes(bytes)
}

#[cfg(all(target_os = "wasi", target_env = "p1"))]
fn fill_random(bytes: &mut [u8]) {
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn random_get(buf: *mut u8, len: usize) -> u16;
    }
    // SAFETY: `bytes` is a valid, writable buffer of `bytes.len()` bytes,
    // which is what `random_get` fills.
    let errno = unsafe { random_get(bytes.as_mut_ptr(), bytes.len()) };
    assert_eq!(errno, 0, "the host refused random_get (errno {errno})");
}

#[cfg(not(all(target_os = "wasi", target_env = "p1")))]
fn fill_random(bytes: &mut [u8]) {
    use std::io::Read;
    std::fs::File::open("/dev/urandom")
        .and_then(|mut urandom| urandom.read_exact(bytes))
        .expect("reading /dev/urandom");
}

/// A small, fast pseudo-random generator (xoshiro256**), seeded from the
/// host when created.
///
/// Create it inside the invocation: a generator created during init is part
/// of the snapshot and would repeat its sequence in every invocation.
#[derive(Clone, Debug)]
pub struct Rng {
    state: [u64; 4],
}

impl Rng {
    /// A generator seeded with fresh host randomness.
    pub fn new() -> Self {
        Self::from_seed(random_u64())
    }

    /// A generator with a fixed seed, for reproducible runs and tests.
    pub fn from_seed(seed: u64) -> Self {
        // SplitMix64 spreads one seed over the four words of state.
        let mut x = seed;
        let mut next = || {
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        };
        Rng {
            state: [next(), next(), next(), next()],
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// A number in `0..bound` (`bound` > 0), without modulo bias.
    ///
    /// # Panics
    /// If `bound` is 0.
    pub fn below(&mut self, bound: u64) -> u64 {
        assert!(bound > 0, "Rng::below needs a positive bound");
        let zone = u64::MAX - u64::MAX % bound;
        loop {
            let value = self.next_u64();
            if value < zone {
                return value % bound;
            }
        }
    }
}

impl Default for Rng {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_randomness_differs_between_calls() {
        assert_ne!(random_u64(), random_u64());
    }

    #[test]
    fn generators_from_the_host_differ() {
        assert_ne!(Rng::new().next_u64(), Rng::new().next_u64());
    }

    #[test]
    fn a_fixed_seed_repeats_its_sequence() {
        let mut a = Rng::from_seed(7);
        let mut b = Rng::from_seed(7);
        let first: Vec<u64> = (0..4).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..4).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(first[0], first[1]);
    }

    #[test]
    fn below_stays_below_its_bound() {
        let mut rng = Rng::from_seed(1);
        assert!((0..1000).all(|_| rng.below(6) < 6));
    }
}
