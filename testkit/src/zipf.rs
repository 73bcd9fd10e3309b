//! A seeded Zipf-like key generator, shared by the streams tests and the
//! streams benchmark so that both draw the same workload from a seed.

/// Ranks in `1..=keys` drawn from a log-uniform law (a Zipf-like law: rank
/// `r` comes up about in proportion to `1/r`, so a few keys are hot and
/// most are rare), from a xorshift64* generator seeded by `seed`. The same
/// seed gives the same ranks on every machine and build.
#[derive(Clone, Debug)]
pub struct ZipfRanks {
    state: u64,
    keys: u64,
}

impl ZipfRanks {
    /// Ranks over `keys` keys (at least 1), from `seed`.
    pub fn new(seed: u64, keys: u64) -> Self {
        ZipfRanks {
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            keys: keys.max(1),
        }
    }
}

impl Iterator for ZipfRanks {
    type Item = u64;

    fn next(&mut self) -> Option<u64> {
        self.state ^= self.state >> 12;
        self.state ^= self.state << 25;
        self.state ^= self.state >> 27;
        let unit =
            (self.state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64;
        Some(((self.keys as f64).powf(unit) as u64).clamp(1, self.keys))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_ranks_and_another_seed_others() {
        let a: Vec<u64> = ZipfRanks::new(7, 1000).take(100).collect();
        let b: Vec<u64> = ZipfRanks::new(7, 1000).take(100).collect();
        let c: Vec<u64> = ZipfRanks::new(8, 1000).take(100).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn ranks_stay_in_range_and_low_ranks_are_hot() {
        let ranks: Vec<u64> = ZipfRanks::new(3, 100).take(100_000).collect();
        assert!(ranks.iter().all(|r| (1..=100).contains(r)));
        let count = |rank: u64| ranks.iter().filter(|r| **r == rank).count();
        // Log-uniform: rank 1..2 takes about log(2)/log(100) of the mass,
        // ranks 50..100 about the same; a single rare rank far less.
        assert!(count(1) > 10 * count(90), "{} vs {}", count(1), count(90));
    }
}
