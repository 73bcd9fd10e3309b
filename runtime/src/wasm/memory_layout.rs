//! How the pooling allocator lays out guest linear memories: the
//! bounds-check mode, protection-key striping, and the address space each
//! instance slot reserves. The engine configures wasmtime from it, and
//! `faasrt doctor` reports it.
//!
//! With guard pages, each slot is its memory's reservation plus a guard
//! region, and an out-of-bounds access faults in the guard. With protection
//! keys, wasmtime colours consecutive slots with different keys (stripes)
//! and lets a running guest access only its own colour, so the neighbouring
//! slots of other colours act as its guard region and each slot shrinks.
//! With explicit bounds checks there is no guard region to replace.

use crate::bounds_checks::BoundsChecks;
use crate::config::RuntimeConfig;
use crate::error::RuntimeError;

/// This process's address space: `RLIMIT_AS` where set, else the 47-bit
/// user space of x86_64.
fn address_space_limit() -> u64 {
    match rustix::process::getrlimit(rustix::process::Resource::As).current {
        Some(limit) => limit.min(USER_ADDRESS_SPACE),
        None => USER_ADDRESS_SPACE,
    }
}

/// wasmtime's default reservation for a 32-bit linear memory on a 64-bit
/// host (`Config::memory_reservation`), kept with guard pages: then a
/// bounds check can be left out only when the whole 4 GiB an index can
/// reach is reserved. With explicit checks the reservation is the memory
/// cap instead.
const RESERVATION_BYTES: u64 = 4 << 30;

/// The largest linear memory of a 32-bit wasm module.
pub(crate) const MAX_MEMORY_BYTES: u64 = 4 << 30;

/// User address space of an x86_64 process (47 bits), where no
/// `RLIMIT_AS` is lower.
const USER_ADDRESS_SPACE: u64 = 1 << 47;

/// Address space left over for everything but the pool: the heap, stacks,
/// compiled code, the store's memory map.
const HEADROOM_BYTES: u64 = 64 << 30;

/// wasmtime's default guard region after each reservation
/// (`Config::memory_guard_size`) in guard-pages mode.
const GUARD_BYTES: u64 = 32 << 20;

/// The most protection keys the pooling allocator may take. A process has
/// 15; the rest stay free for the runtime's secret region (the API token)
/// and for anything else that needs one.
pub(crate) const MAX_STRIPE_KEYS: usize = 12;

/// The layout a configuration gets on this machine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MemoryLayout {
    /// Wasm code checks its bounds itself: no guard region, no protection
    /// change per instance.
    pub explicit_bounds_checks: bool,
    /// Protection-key colours the slots cycle through (1: no striping).
    pub stripes: usize,
    /// The linear-memory reservation in a slot (see
    /// [`RESERVATION_BYTES`]): the memory cap with explicit checks.
    pub reservation_bytes: u64,
    /// Address space one slot reserves, guard region included.
    pub slot_bytes: u64,
    /// What a slot would reserve without striping.
    pub unstriped_slot_bytes: u64,
}

impl MemoryLayout {
    /// The layout of `config` on this machine. Mirrors the arithmetic of
    /// wasmtime's pooling allocator (`memory_pool::calculate`) so that it can
    /// be reported without building an engine.
    pub(crate) fn of(config: &RuntimeConfig) -> Self {
        let max_memory = (u64::from(config.get_max_memory_mb()) << 20).max(1);
        let explicit = config.get_explicit_bounds_checks();
        let (reservation, guard) = if explicit {
            (max_memory, 0)
        } else {
            (RESERVATION_BYTES, GUARD_BYTES)
        };
        let faulting = reservation.max(max_memory) + guard;
        let stripes = if explicit || !Self::striping_wanted(config) {
            1
        } else {
            let needed = faulting.div_ceil(max_memory) as usize;
            let stripes = MAX_STRIPE_KEYS
                .min(needed)
                .min(config.get_max_instances() as usize);
            if stripes < 2 { 1 } else { stripes }
        };
        MemoryLayout {
            explicit_bounds_checks: explicit,
            stripes,
            reservation_bytes: reservation,
            slot_bytes: (faulting / stripes as u64).max(max_memory),
            unstriped_slot_bytes: faulting,
        }
    }

    /// Whether `config` asks for protection keys and the CPU and kernel
    /// offer them.
    pub(crate) fn striping_wanted(config: &RuntimeConfig) -> bool {
        config.get_pooling()
            && config.get_memory_protection_keys()
            && wasmtime::PoolingAllocationConfig::are_memory_protection_keys_available()
    }

    /// Checks that `config` can work here: a memory cap a wasm32 memory can
    /// reach, and a pool that fits this process's address space.
    ///
    /// # Errors
    /// [`RuntimeError::InvalidConfig`] saying which setting to lower.
    pub(crate) fn check(&self, config: &RuntimeConfig) -> Result<(), RuntimeError> {
        let max_memory = u64::from(config.get_max_memory_mb()) << 20;
        if max_memory == 0 || max_memory > MAX_MEMORY_BYTES {
            return Err(RuntimeError::InvalidConfig(format!(
                "the memory cap must be between 1 MiB and 4 GiB (a wasm32 memory cannot grow past 4 GiB), got {} MiB",
                config.get_max_memory_mb()
            )));
        }
        if !config.get_pooling() {
            return Ok(());
        }
        let slots = u64::from(config.get_max_instances());
        let needed = slots.saturating_mul(self.slot_bytes);
        let available = address_space_limit().saturating_sub(HEADROOM_BYTES);
        if needed > available {
            return Err(RuntimeError::InvalidConfig(format!(
                "{slots} instance slots of {} MiB need {} GiB of address space, more than the {} GiB this process can give the pool: lower --max-instances, {}",
                self.slot_bytes >> 20,
                needed >> 30,
                available >> 30,
                if self.explicit_bounds_checks {
                    "or --max-memory"
                } else {
                    "or use --bounds-checks explicit, where a slot is only as large as --max-memory"
                }
            )));
        }
        Ok(())
    }

    /// Whether guest memories are striped with protection keys.
    pub(crate) fn striped(&self) -> bool {
        self.stripes > 1
    }

    /// One line for `faasrt doctor`: how guest memories use protection
    /// keys. Keys only stripe guard-pages memories (explicit checks leave no
    /// guard region to replace), so it speaks of the guard-pages engine,
    /// whatever the server's default mode.
    pub(crate) fn pkeys_usage(config: &RuntimeConfig) -> String {
        const MIB: u64 = 1 << 20;
        let guard = config.clone().bounds_checks(BoundsChecks::GuardPages);
        let layout = Self::of(&guard);
        let scope = if config.get_explicit_bounds_checks() {
            "functions deployed with --bounds-checks guard-pages"
        } else {
            "functions with guard pages (this server's default)"
        };
        if layout.striped() {
            format!(
                "{scope} get memories striped over {} keys: {} MiB of address space per slot instead of {} MiB, and a running guest can touch only its own stripe (explicit bounds checks leave no guard region to stripe)",
                layout.stripes,
                layout.slot_bytes / MIB,
                layout.unstriped_slot_bytes / MIB
            )
        } else if !config.get_memory_protection_keys() {
            "guest memories are not striped (--memory-protection-keys off)".to_owned()
        } else if !Self::striping_wanted(config) {
            "guest memories are not striped: wasmtime finds no usable protection keys (wasmtime 48 uses them on Intel CPUs only)".to_owned()
        } else {
            format!(
                "guest memories are not striped: with a {} MiB memory cap (--max-memory) keys would save no address space",
                config.get_max_memory_mb()
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_bounds_checks_never_stripe_and_reserve_only_the_cap() {
        let layout = MemoryLayout::of(&RuntimeConfig::in_memory().explicit_bounds_checks(true));
        assert_eq!(layout.stripes, 1);
        assert_eq!(layout.slot_bytes, 4096 << 20);
        let capped = RuntimeConfig::in_memory()
            .explicit_bounds_checks(true)
            .max_memory_mb(256);
        let layout = MemoryLayout::of(&capped);
        assert_eq!(layout.slot_bytes, 256 << 20);
        assert_eq!(layout.reservation_bytes, 256 << 20);
    }

    #[test]
    fn a_cap_past_4_gib_or_a_pool_past_the_address_space_is_refused() {
        let too_big = RuntimeConfig::in_memory().max_memory_mb(8192);
        let error = MemoryLayout::of(&too_big).check(&too_big).unwrap_err();
        assert!(error.to_string().contains("4 GiB"), "{error}");
        // 100000 slots of 4 GiB: 400 TiB, past 128 TiB.
        let too_many = RuntimeConfig::in_memory().max_instances(100_000);
        let error = MemoryLayout::of(&too_many).check(&too_many).unwrap_err();
        assert!(error.to_string().contains("--max-instances"), "{error}");
        // The same slots at 256 MiB each fit (25 TiB).
        let capped = too_many.max_memory_mb(256);
        assert!(MemoryLayout::of(&capped).check(&capped).is_ok());
        let default = RuntimeConfig::in_memory();
        assert!(MemoryLayout::of(&default).check(&default).is_ok());
    }

    #[test]
    fn guard_pages_without_keys_reserve_memory_and_guard() {
        let config = RuntimeConfig::in_memory()
            .explicit_bounds_checks(false)
            .memory_protection_keys(false);
        let layout = MemoryLayout::of(&config);
        assert_eq!(layout.stripes, 1);
        assert_eq!(layout.slot_bytes, RESERVATION_BYTES + GUARD_BYTES);
    }

    #[test]
    fn striping_divides_the_slot_when_keys_exist() {
        let config = RuntimeConfig::in_memory()
            .explicit_bounds_checks(false)
            .max_memory_mb(256);
        let layout = MemoryLayout::of(&config);
        if MemoryLayout::striping_wanted(&config) {
            assert_eq!(layout.stripes, MAX_STRIPE_KEYS);
            assert_eq!(
                layout.slot_bytes,
                (RESERVATION_BYTES + GUARD_BYTES) / MAX_STRIPE_KEYS as u64
            );
        } else {
            assert_eq!(layout.stripes, 1);
            assert!(MemoryLayout::pkeys_usage(&config).contains("not striped"));
        }
    }
}
