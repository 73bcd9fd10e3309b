//! Giving back to the kernel the heap memory a deploy has freed
//! ([`release_freed_heap`]).
//!
//! Compiling and pre-initializing a module allocates tens of MiB on the
//! host thread that does it and frees them at the end; glibc keeps such
//! freed memory in that thread's arena, so a server that compiled its
//! functions stayed tens of MiB above one that loaded them from their
//! artifacts. Trimming after each deploy returns it.

/// Returns the free pages of every malloc arena to the kernel.
pub(crate) fn release_freed_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own arenas under their locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    const PAGE: usize = 4096;

    fn resident(page: usize) -> bool {
        let mut state = 0u8;
        // SAFETY: mincore reads the page table of one page (mapped: it is
        // inside an arena that malloc keeps mapped) and writes one byte.
        let rc = unsafe { libc::mincore(page as *mut libc::c_void, PAGE, &mut state) };
        rc == 0 && state & 1 == 1
    }

    #[test]
    fn freed_blocks_inside_an_arena_leave_memory() {
        // 16 KiB blocks: below the mmap threshold, so they come from an
        // arena. Every eighth stays allocated, so the arena cannot simply
        // shrink from its top: only a trim frees the pages between.
        let mut blocks: Vec<Vec<u8>> = (0..2048).map(|_| vec![1u8; 16 << 10]).collect();
        let freed_pages: Vec<usize> = blocks
            .iter()
            .enumerate()
            .filter(|(index, _)| index % 8 != 0)
            .map(|(_, block)| (block.as_ptr() as usize + (8 << 10)) & !(PAGE - 1))
            .collect();
        let mut kept = Vec::new();
        for (index, block) in blocks.drain(..).enumerate() {
            if index % 8 == 0 {
                kept.push(block);
            }
        }
        let before = freed_pages.iter().filter(|page| resident(**page)).count();
        assert!(
            before * 10 >= freed_pages.len() * 9,
            "freed blocks stay resident until trimmed: {before} of {}",
            freed_pages.len()
        );
        release_freed_heap();
        let after = freed_pages.iter().filter(|page| resident(**page)).count();
        assert!(
            after * 10 <= freed_pages.len(),
            "{after} of {} freed pages still resident after the trim",
            freed_pages.len()
        );
        assert!(kept.iter().all(|block| block[0] == 1));
    }
}
