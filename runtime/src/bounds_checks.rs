//! [`BoundsChecks`]: how a function's wasm code stays inside its linear
//! memory, as the API, the CLI and the store spell it. The engine turns it
//! into a configuration (`wasm/memory_layout.rs`, `wasm/engines.rs`).

use serde::{Deserialize, Serialize};

/// How a function's wasm code stays inside its linear memory: chosen per
/// server (`faasrt serve --bounds-checks`) and per function (`faasrt deploy
/// --bounds-checks`, `bounds_checks` on `PUT /v1/functions/{name}`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BoundsChecks {
    /// The code checks every access itself: no guard region, no memory
    /// protection change per instance, so starts stay fast under
    /// concurrency; compute pays for the checks.
    #[default]
    Explicit,
    /// Guard regions and signals catch out-of-bounds accesses: the fastest
    /// compute, but each instance whose memory grew costs a protection
    /// change and a TLB shoot-down of every core running faasrt. Memories
    /// are striped with protection keys where wasmtime finds them.
    GuardPages,
}

impl BoundsChecks {
    /// `explicit` or `guard-pages`, as the API and CLI spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            BoundsChecks::Explicit => "explicit",
            BoundsChecks::GuardPages => "guard-pages",
        }
    }

    /// Parses the API spelling.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "explicit" => Some(BoundsChecks::Explicit),
            "guard-pages" => Some(BoundsChecks::GuardPages),
            _ => None,
        }
    }
}

impl std::fmt::Display for BoundsChecks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
