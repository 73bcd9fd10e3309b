//! Memory protection keys for the runtime's secrets.
//!
//! A [`SecretRegion`] keeps bytes (the API token, say) in pages tagged with
//! a protection key whose access is disabled in every thread's PKRU register
//! except inside [`SecretRegion::read`]. The threat it answers: a bug that
//! lets guest code, or a confused part of the host, read arbitrary host
//! memory (a wasmtime escape, an out-of-bounds read in host code) finds the
//! secret's pages unreadable and faults instead of leaking it. It is a
//! boundary inside one process that nothing else gives: the wasm sandbox
//! guards guest memory, not the host's own.
//!
//! wasmtime's pooling allocator uses keys too (see the runtime's engine):
//! it stripes guest memories, and whenever a guest returns to the host it
//! writes a PKRU that allows *every* key, the secret's included. The PKRU
//! bits of every live region are therefore kept in one process-wide mask,
//! and [`reassert_secret_denials`] puts them back; the runtime calls it from
//! a wasmtime call hook each time a guest returns or calls into the host.
//!
//! Protection keys need an x86 CPU with `pku` and a kernel that enabled it
//! (`ospke`); where they are missing, [`SecretRegion::new`] says so and the
//! caller keeps the secret in ordinary memory (`faasrt doctor` reports it).

/// Why a secret region cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum PkeyError {
    /// This machine has no usable protection keys.
    #[error("memory protection keys are not available: {0}")]
    Unavailable(String),
    /// A system call failed.
    #[error("{call} failed: {error}")]
    Syscall {
        /// Which call.
        call: &'static str,
        /// The OS error.
        error: std::io::Error,
    },
}

/// The PKRU bits (access and write disable) of every live [`SecretRegion`]'s
/// key: what [`reassert_secret_denials`] sets again.
static SECRET_DENY_BITS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Whether any [`SecretRegion`] is alive, so that code which resets PKRU
/// (wasmtime's protection-key striping) must call
/// [`reassert_secret_denials`] afterwards.
pub fn secrets_protected() -> bool {
    SECRET_DENY_BITS.load(std::sync::atomic::Ordering::Acquire) != 0
}

/// Disables access to every live [`SecretRegion`]'s pages on the calling
/// thread again, after something else rewrote its PKRU. Does nothing when
/// no region is alive (and so never touches PKRU on a machine without keys).
#[inline]
pub fn reassert_secret_denials() {
    let bits = SECRET_DENY_BITS.load(std::sync::atomic::Ordering::Acquire);
    #[cfg(target_arch = "x86_64")]
    if bits != 0 {
        let pkru = read_pkru();
        if pkru & bits != bits {
            write_pkru(pkru | bits);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bits;
}

/// Allows the calling thread every protection key but those of the live
/// [`SecretRegion`]s: the state in which host code may touch memories that
/// wasmtime striped with keys (it resets, snapshots and copies into them
/// outside any guest call), while the secrets stay out of reach.
///
/// Call it only where the CPU has protection keys (`WRPKRU` is an invalid
/// instruction elsewhere): the runtime does so only when its pool stripes.
pub fn allow_all_keys_but_secrets() {
    let bits = SECRET_DENY_BITS.load(std::sync::atomic::Ordering::Acquire);
    #[cfg(target_arch = "x86_64")]
    write_pkru(bits);
    #[cfg(not(target_arch = "x86_64"))]
    let _ = bits;
}

/// Whether the calling thread's PKRU denies access to every live
/// [`SecretRegion`] (true when none is alive).
pub fn secrets_denied_here() -> bool {
    let bits = SECRET_DENY_BITS.load(std::sync::atomic::Ordering::Acquire);
    #[cfg(target_arch = "x86_64")]
    if bits != 0 {
        return read_pkru() & bits == bits;
    }
    let _ = bits;
    true
}

/// Bytes in pages that only [`SecretRegion::read`] can access.
pub struct SecretRegion {
    pages: *mut u8,
    size: usize,
    len: usize,
    key: i32,
}

// SAFETY: the region's pages are owned by this value alone; access is
// gated per thread by PKRU, which `read` switches on and off around its
// closure on the calling thread only.
unsafe impl Send for SecretRegion {}
// SAFETY: as above; `read` only reads the pages.
unsafe impl Sync for SecretRegion {}

const PAGE: usize = 4096;

#[cfg(target_arch = "x86_64")]
fn read_pkru() -> u32 {
    let pkru: u32;
    // SAFETY: RDPKRU reads the calling thread's PKRU register; it needs
    // ecx = 0 and clobbers edx. Only called where the CPU has pku.
    unsafe {
        std::arch::asm!("rdpkru", in("ecx") 0, out("eax") pkru, out("edx") _, options(nomem, nostack));
    }
    pkru
}

#[cfg(target_arch = "x86_64")]
fn write_pkru(pkru: u32) {
    // SAFETY: WRPKRU sets the calling thread's PKRU register (ecx = edx = 0).
    // Only called where the CPU has pku.
    unsafe {
        std::arch::asm!("wrpkru", in("eax") pkru, in("ecx") 0, in("edx") 0, options(nostack));
    }
}

/// PKRU bits that disable all access through `key`.
fn deny_bits(key: i32) -> u32 {
    0b11 << (2 * key)
}

impl SecretRegion {
    /// Copies `secret` into fresh pages under a new protection key and
    /// disables access to them on the calling thread. Other threads are
    /// denied too when they start with the process default PKRU, which the
    /// kernel sets to deny new keys' access for threads created later.
    ///
    /// # Errors
    /// [`PkeyError::Unavailable`] without protection keys; [`PkeyError::Syscall`]
    /// when mapping or tagging the pages fails.
    pub fn new(secret: &[u8]) -> Result<Self, PkeyError> {
        if !cfg!(target_arch = "x86_64") {
            return Err(PkeyError::Unavailable("not an x86_64 machine".into()));
        }
        let probed = crate::probe::probe();
        let pkeys = probed
            .iter()
            .find(|p| p.name == "pkeys")
            .expect("pkeys is probed");
        if !pkeys.available {
            return Err(PkeyError::Unavailable(pkeys.detail.clone()));
        }
        let size = secret.len().div_ceil(PAGE).max(1) * PAGE;
        // SAFETY: an anonymous private mapping of `size` bytes.
        let pages = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                size,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if pages == libc::MAP_FAILED {
            return Err(syscall("mmap"));
        }
        let pages = pages.cast::<u8>();
        // SAFETY: the mapping is `size` bytes, writable, and `secret` fits.
        unsafe { std::ptr::copy_nonoverlapping(secret.as_ptr(), pages, secret.len()) };
        // SAFETY: pkey_alloc(2) with no flags and no access restriction yet.
        let key = unsafe { libc::syscall(libc::SYS_pkey_alloc, 0, 0) } as i32;
        if key < 0 {
            let error = syscall("pkey_alloc");
            // SAFETY: unmaps the pages mapped above.
            unsafe { libc::munmap(pages.cast(), size) };
            return Err(error);
        }
        // SAFETY: tags the pages mapped above with the key just allocated.
        let tagged =
            unsafe { libc::syscall(libc::SYS_pkey_mprotect, pages, size, libc::PROT_READ, key) };
        let region = SecretRegion {
            pages,
            size,
            len: secret.len(),
            key,
        };
        if tagged != 0 {
            return Err(syscall("pkey_mprotect"));
        }
        SECRET_DENY_BITS.fetch_or(deny_bits(key), std::sync::atomic::Ordering::AcqRel);
        region.deny();
        Ok(region)
    }

    fn deny(&self) {
        #[cfg(target_arch = "x86_64")]
        write_pkru(read_pkru() | deny_bits(self.key));
    }

    /// Gives `f` the secret, with access enabled on this thread only for
    /// the duration of the call.
    pub fn read<T>(&self, f: impl FnOnce(&[u8]) -> T) -> T {
        #[cfg(target_arch = "x86_64")]
        write_pkru(read_pkru() & !deny_bits(self.key));
        // SAFETY: the pages hold `len` initialized bytes and live as long as
        // `self`; access is enabled for this thread right above.
        let bytes = unsafe { std::slice::from_raw_parts(self.pages, self.len) };
        let result = f(bytes);
        self.deny();
        result
    }

    /// The address of the secret's first byte: for tests that check a read
    /// outside [`SecretRegion::read`] faults.
    pub fn address(&self) -> *const u8 {
        self.pages
    }
}

impl Drop for SecretRegion {
    fn drop(&mut self) {
        SECRET_DENY_BITS.fetch_and(!deny_bits(self.key), std::sync::atomic::Ordering::AcqRel);
        // SAFETY: unmaps the region's own pages and frees its key; nothing
        // else refers to them.
        unsafe {
            libc::munmap(self.pages.cast(), self.size);
            libc::syscall(libc::SYS_pkey_free, self.key);
        }
    }
}

fn syscall(call: &'static str) -> PkeyError {
    PkeyError::Syscall {
        call,
        error: std::io::Error::last_os_error(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Set to 1 by the harness that runs these tests in a VM with pkeys.
    fn pkeys_expected() -> bool {
        crate::capability_expected("FAASRT_EXPECT_PKEYS")
    }

    #[test]
    fn a_secret_is_readable_only_inside_read() {
        let region = match SecretRegion::new(b"s3cret-token") {
            Ok(region) => region,
            Err(PkeyError::Unavailable(why)) => {
                assert!(!pkeys_expected(), "pkeys were expected here: {why}");
                eprintln!("skipped: {why}");
                return;
            }
            Err(other) => panic!("{other}"),
        };
        assert_eq!(region.read(|bytes| bytes.to_vec()), b"s3cret-token");
        // Outside `read`, touching the pages faults (SIGSEGV, SEGV_PKUERR):
        // try it in a forked child and look at how it died.
        let address = region.address();
        let status = crate::test_support::in_child(|| {
            // SAFETY: a volatile read of a mapped page; the protection key
            // makes it fault, which is the point.
            let byte = unsafe { std::ptr::read_volatile(address) };
            i32::from(byte == b's')
        });
        assert!(
            libc::WIFSIGNALED(status) && libc::WTERMSIG(status) == libc::SIGSEGV,
            "reading the secret outside `read` did not fault (status {status})"
        );
    }

    #[test]
    fn the_probe_finds_pkeys_where_the_harness_expects_them() {
        let probed = crate::probe::probe();
        // The whole probe, for the record of what ran where.
        for mechanism in &probed {
            eprintln!(
                "probe: {} available={} ({})",
                mechanism.name, mechanism.available, mechanism.detail
            );
        }
        let found = probed
            .into_iter()
            .find(|p| p.name == "pkeys")
            .expect("pkeys is probed");
        if pkeys_expected() {
            assert!(found.available, "{}", found.detail);
        }
        eprintln!("pkeys: available={} ({})", found.available, found.detail);
    }
}
