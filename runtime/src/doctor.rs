//! `faasrt doctor`: each isolation mechanism, and the hardware counters
//! of the journal, whether this machine offers it, whether faasrt uses it,
//! and why not when it does not.

use crate::config::RuntimeConfig;
use crate::wasm::memory_layout::MemoryLayout;
use serde::Serialize;

/// One mechanism in the report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mechanism {
    /// Stable name (`seccomp`, `landlock`, `pkeys`, `cgroup-v2`, `user-namespaces`,
    /// `address-space`, `pagemap-scan`, `hw-counters`).
    pub name: String,
    /// Whether the machine offers it.
    pub available: bool,
    /// Whether faasrt uses it with this configuration.
    pub active: bool,
    /// What was found, and how faasrt uses it or why not.
    pub detail: String,
}

/// Probes the machine and says what faasrt does with each mechanism.
pub fn report(config: &RuntimeConfig) -> Vec<Mechanism> {
    let layout = MemoryLayout::of(config);
    let mut mechanisms: Vec<Mechanism> = faasrt_isolation::probe()
        .into_iter()
        .map(|probed| {
            let (active, usage) = match probed.name {
                "seccomp" if probed.available => (
                    true,
                    format!(
                        "native functions run under a filter refusing {} syscalls; `faasrt serve` puts one refusing {} on its own threads (--seccomp), and each thread that runs guest code adds {} more rules (no executable memory, no exec, no process creation)",
                        faasrt_isolation::NATIVE_CHILD_DENIED.len(),
                        faasrt_isolation::RUNTIME_DENIED.len(),
                        faasrt_isolation::GUEST_THREAD_DENIED.len()
                    ),
                ),
                "seccomp" => (false, "native functions run without a seccomp filter".to_owned()),
                "landlock" if probed.available => (
                    true,
                    "native functions may read the shared libraries and /dev/null, nothing else".to_owned(),
                ),
                "landlock" => (
                    false,
                    "native functions see the host filesystem (as nobody when faasrt is root)".to_owned(),
                ),
                "pkeys" if probed.available => (
                    true,
                    format!(
                        "the API token is kept in pages only the token check can read; {}",
                        MemoryLayout::pkeys_usage(config)
                    ),
                ),
                "pkeys" => (
                    false,
                    "the API token is kept in ordinary memory, and guest memories are not striped".to_owned(),
                ),
                "cgroup-v2" if probed.available => (
                    true,
                    "each native function runs in a cgroup of its own under faasrt-native/ (memory.max = its memory limit, swap off, pids.max 256, cpu.max one CPU), killed as a whole when it ends; faasrt moves itself to faasrt-server/".to_owned(),
                ),
                "cgroup-v2" => (false, "native functions are limited by rlimits only".to_owned()),
                "user-namespaces" => (false, "not used".to_owned()),
                "address-space" => (
                    config.get_pooling(),
                    format!(
                        "the pooling allocator reserves about {} GiB of address space for {} instance slots ({} MiB each, {})",
                        (u64::from(config.get_max_instances()) * layout.slot_bytes) >> 30,
                        config.get_max_instances(),
                        layout.slot_bytes >> 20,
                        if layout.explicit_bounds_checks {
                            "explicit bounds checks"
                        } else if layout.striped() {
                            "guard pages shared across key stripes"
                        } else {
                            "guard pages"
                        }
                    ),
                ),
                _ => (false, String::new()),
            };
            Mechanism {
                name: probed.name.to_owned(),
                available: probed.available,
                active,
                detail: format!("{}; {usage}", probed.detail),
            }
        })
        .collect();
    let pagemap = wasmtime::PoolingAllocationConfig::is_pagemap_scan_available();
    mechanisms.push(Mechanism {
        name: "pagemap-scan".into(),
        available: pagemap,
        active: pagemap && config.get_pooling(),
        detail: if pagemap {
            "PAGEMAP_SCAN works: pool slots are reset by rewriting only their dirty pages".into()
        } else {
            "no PAGEMAP_SCAN (Linux 6.7+): pool slots are reset with madvise".into()
        },
    });
    mechanisms.push(hw_counters(config));
    mechanisms
}

/// Whether `perf_event_open` counts cycles, instructions and LLC misses
/// here, and whether the journal gets them.
fn hw_counters(config: &RuntimeConfig) -> Mechanism {
    let (available, detail) = match crate::hw_counters::probe() {
        Ok(()) => (
            true,
            if config.get_hw_counters() {
                "perf_event_open counts user-space cycles, instructions and LLC misses: each invocation's and pipeline stage's are in the journal".to_owned()
            } else {
                "perf_event_open counts user-space cycles, instructions and LLC misses; off (faasrt serve --hw-counters)".to_owned()
            },
        ),
        Err(error) => (
            false,
            format!(
                "{}: the journal's cycles, instructions and llc_misses are null",
                crate::error_chain(error)
            ),
        ),
    };
    Mechanism {
        name: "hw-counters".into(),
        available,
        active: available && config.get_hw_counters(),
        detail,
    }
}

/// Whether `probed` (the result of `faasrt_isolation::probe`) found the
/// mechanism called `name` (`seccomp`, `cgroup-v2`, ...).
pub fn available(probed: &[faasrt_isolation::Probed], name: &str) -> bool {
    probed.iter().any(|p| p.name == name && p.available)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_says_whether_hardware_counters_count_and_why_not() {
        let config = RuntimeConfig::in_memory().hw_counters(true);
        let report = report(&config);
        let counters = report
            .iter()
            .find(|m| m.name == "hw-counters")
            .expect("reported");
        assert_eq!(counters.available, crate::hw_counters::probe().is_ok());
        assert_eq!(counters.active, counters.available);
        if !counters.available {
            assert!(counters.detail.starts_with("cannot count "), "{counters:?}");
            assert!(counters.detail.ends_with("are null"), "{counters:?}");
        }
        let off = hw_counters(&RuntimeConfig::in_memory());
        assert!(!off.active);
    }
}
