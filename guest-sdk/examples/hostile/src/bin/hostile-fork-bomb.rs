//! Forks without end, every child forking too, until fork fails; exits 1 then.
//!
//! Guest: native.
//!
//! Every process, the original and each child, loops on `fork()`. A process
//! whose fork fails stops forking and waits forever (`pause`), holding its
//! process slot, so the sandbox has to kill the whole tree after the
//! invocation. The original reports what it saw on faasout and exits 1 once
//! forking fails (`EAGAIN` from a process limit): the expected ending.
//!
//! A fuse, so that a sandbox without any process limit costs a test machine
//! [`FUSE`] idle processes rather than all of it: the processes share a
//! counter of fork attempts, and once it reaches [`FUSE`] they stop forking
//! too. If the original sees that without any fork having failed, it says so
//! and exits 0, which tells the test that nothing limited it. On wasm this
//! is an empty `main`.

#[cfg(unix)]
fn main() {
    bomb::run();
}

#[cfg(not(unix))]
fn main() {}

/// Fork attempts, over all processes, after which no process forks again.
#[cfg(unix)]
const FUSE: u32 = 1024;

#[cfg(unix)]
mod bomb {
    use std::io::{self, Write};
    use std::sync::atomic::{AtomicI32, AtomicU32, Ordering};

    use faasrt_guest::Error;
    use faasrt_hostile::describe;

    use super::FUSE;

    /// What all the processes share, in one `MAP_SHARED` page.
    #[repr(C)]
    struct Shared {
        /// Fork attempts so far.
        attempts: AtomicU32,
        /// The errno of the first failed fork, 0 while none has failed.
        errno: AtomicI32,
    }

    pub fn run() {
        let shared: &Shared = faasrt_hostile::shared_page();
        // SAFETY: getpid has no preconditions.
        let original = unsafe { libc::getpid() };
        let mut forked = 0u32;
        while shared.attempts.fetch_add(1, Ordering::SeqCst) < FUSE {
            // SAFETY: the process is single-threaded, so the child is a full
            // copy that may go on running Rust code. Nothing is buffered for
            // faasout yet, so no output is duplicated.
            match unsafe { libc::fork() } {
                -1 => {
                    let errno = io::Error::last_os_error().raw_os_error().unwrap_or(-1);
                    let _ =
                        shared
                            .errno
                            .compare_exchange(0, errno, Ordering::SeqCst, Ordering::SeqCst);
                    break;
                }
                // The child starts over: it forks too.
                0 => forked = 0,
                _ => forked += 1,
            }
        }
        // SAFETY: as above.
        if unsafe { libc::getpid() } != original {
            loop {
                // SAFETY: pause has no preconditions; it returns only when a
                // signal handler ran, and there are none.
                unsafe { libc::pause() };
            }
        }
        faasrt_guest::run(|| {
            let mut output = faasrt_guest::output();
            let errno = shared.errno.load(Ordering::SeqCst);
            if errno == 0 {
                writeln!(
                    output,
                    "FORKED: {FUSE} fork attempts, none refused ({forked} by the original); \
                     stopped by the fuse"
                )?;
                return Ok(());
            }
            let error = describe(&io::Error::from_raw_os_error(errno));
            writeln!(
                output,
                "fork refused after {forked} forks by the original: {error}"
            )?;
            Err(Error::failed(format!("fork refused: {error}")))
        });
    }
}
