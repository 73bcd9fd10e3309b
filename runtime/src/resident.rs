//! How much memory a deployed function keeps resident right now
//! ([`resident_bytes_of`]): what `GET /v1/functions/{name}` reports as
//! `resident_bytes` and `/metrics` as `faasrt_function_resident_bytes`.
//!
//! A wasm function holds its compiled image (code, data segments and the
//! copy-on-write memory image it is instantiated from): mapped from its
//! artifact file when the server has a data dir, else anonymous memory.
//! The pages of that range the kernel has in memory are counted, whether
//! file-backed (page cache, shared with every function of the same
//! artifact) or anonymous; pages never touched, or evicted, are not. A
//! native function holds its executable in a sealed memfd, all of it
//! resident. Instance slots are the pool's, not any one function's, and are
//! not counted here.

use crate::function::FunctionStatus;
use crate::registry::{Executable, LoadedFunction};
use std::ops::Range;

/// `function`'s stored record with its resident bytes now.
pub(crate) fn status_of(function: &LoadedFunction) -> FunctionStatus {
    FunctionStatus {
        info: function.info.clone(),
        resident_bytes: resident_bytes_of(function),
    }
}

/// Bytes of `function`'s code and data in memory now.
pub(crate) fn resident_bytes_of(function: &LoadedFunction) -> u64 {
    match &function.executable {
        Executable::Wasm(prepared) => resident_bytes_in(prepared.module().image_range()),
        Executable::Native(executable) => executable.allocated_bytes(),
    }
}

/// Bytes of the pages overlapping `range` that are resident (`mincore`).
/// An empty range, or one the kernel refuses, counts 0.
fn resident_bytes_in(range: Range<*const u8>) -> u64 {
    let page = page_size();
    let start = (range.start as usize) & !(page - 1);
    let end = range.end as usize;
    if end <= start {
        return 0;
    }
    let pages = (end - start).div_ceil(page);
    let mut residency = vec![0u8; pages];
    // SAFETY: `mincore` only reads the page tables of the range (which the
    // module keeps mapped while it is borrowed) and writes one byte per
    // page into `residency`, which has room for exactly `pages` bytes.
    let rc = unsafe {
        libc::mincore(
            start as *mut libc::c_void,
            end - start,
            residency.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return 0;
    }
    let resident = residency.iter().filter(|state| **state & 1 == 1).count();
    (resident * page) as u64
}

pub(crate) fn page_size() -> usize {
    // SAFETY: sysconf only reads a constant of the system.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_pages_touched_and_not_the_others() {
        let page = page_size();
        let length = 8 * page;
        // SAFETY: a fresh private anonymous mapping, unmapped below.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                length,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        let base = base.cast::<u8>();
        let range = |pages: usize| base.cast_const()..base.wrapping_add(pages * page).cast_const();
        assert_eq!(resident_bytes_in(range(8)), 0, "nothing touched yet");
        // SAFETY: inside the mapping.
        unsafe {
            base.write(1);
            base.add(3 * page + 17).write(1);
        }
        assert_eq!(resident_bytes_in(range(8)), 2 * page as u64);
        assert_eq!(resident_bytes_in(range(1)), page as u64);
        // A range that starts inside a page counts that page.
        let inner = base.wrapping_add(3 * page + 100).cast_const()
            ..base.wrapping_add(4 * page).cast_const();
        assert_eq!(resident_bytes_in(inner), page as u64);
        assert_eq!(resident_bytes_in(base.cast_const()..base.cast_const()), 0);
        // SAFETY: the mapping made above, no longer used.
        unsafe { libc::munmap(base.cast(), length) };
    }
}
