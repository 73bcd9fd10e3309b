//! Giving back to the kernel the heap memory a deploy has freed
//! ([`configure_heap`], [`release_freed_heap`]).
//!
//! Compiling and pre-initializing a module allocates tens of MiB on the
//! host thread that does it and frees them at the end; glibc kept such
//! freed memory in that thread's arena, so a server that compiled its
//! functions stayed tens of MiB above one that loaded them from their
//! artifacts (measured: three arenas holding 48 MiB free each). Two causes:
//! glibc raises its mmap and trim thresholds each time a large block is
//! freed (up to 32 and 64 MiB), so the free top of an arena is never
//! returned; and `malloc_trim` returns the free pages inside an arena but
//! not the free top of any arena but the main one. Fixed thresholds keep
//! large blocks out of the arenas and let an arena's top shrink; a trim
//! after each deploy returns the rest.

/// Blocks at least this large are mapped on their own and unmapped when
/// freed. Fixed, so glibc no longer raises it (and the trim threshold)
/// after a large free; high enough that an invocation's buffers stay in
/// the arenas.
const MMAP_THRESHOLD_BYTES: i32 = 1 << 20;

/// An arena gives its free top back to the kernel once it is this large.
const TRIM_THRESHOLD_BYTES: i32 = 2 << 20;

/// Sets malloc's thresholds (once per process; a runtime calls it when it
/// opens).
pub(crate) fn configure_heap() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        static CONFIGURED: std::sync::Once = std::sync::Once::new();
        CONFIGURED.call_once(|| {
            // SAFETY: mallopt only sets glibc's own parameters, under its
            // locks; any value is valid for these two.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES);
                libc::mallopt(libc::M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES);
            }
        });
    }
}

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

    #[test]
    fn the_free_top_of_an_arena_is_returned_after_a_large_block_was_freed() {
        configure_heap();
        std::thread::spawn(|| {
            // Unconfigured, freeing a 30 MiB block would raise glibc's trim
            // threshold to 60 MiB, and the 8 MiB freed below would stay.
            drop(std::hint::black_box(vec![1u8; 30 << 20]));
            // Both lists are allocated before the blocks, so that the
            // blocks are the arena's last chunks, below its top.
            let mut pages = Vec::with_capacity(512);
            let mut blocks = Vec::with_capacity(512);
            for _ in 0..512 {
                let block = vec![1u8; 16 << 10];
                pages.push((block.as_ptr() as usize + (8 << 10)) & !(PAGE - 1));
                blocks.push(block);
            }
            assert!(pages.iter().filter(|page| resident(**page)).count() * 10 >= pages.len() * 9);
            // Freed from the last, each block merges into the arena's top.
            for block in blocks.into_iter().rev() {
                drop(block);
            }
            let left = pages.iter().filter(|page| resident(**page)).count();
            assert!(
                left * 4 <= pages.len(),
                "{left} of {} pages of the freed top still resident",
                pages.len()
            );
        })
        .join()
        .expect("the test thread");
    }
}
