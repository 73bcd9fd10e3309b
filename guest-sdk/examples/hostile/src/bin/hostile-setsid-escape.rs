//! Leaves its process group (`setsid`, then `setpgid`) in a child that then waits; exits 1 if both are refused.
//!
//! Guest: native.
//!
//! faasrt kills a native function's process group as a whole when the
//! invocation ends; a process that left the group would outlive it. The
//! original forks a child that tries `setsid()` and then `setpgid(0, 0)`,
//! records both results in a shared page, and, if either call succeeded,
//! waits there (`pause`) as the process that got away. The original prints
//! both results and exits 0 with `ESCAPED` when one succeeded, 1 when both
//! were refused. A fuse: the child's `alarm(10)` ends it after 10 s, so a
//! sandbox that lets it go costs a test machine one idle process for a
//! while, not forever. On wasm this is an empty `main`.

#[cfg(unix)]
fn main() {
    escape::run();
}

#[cfg(not(unix))]
fn main() {}

#[cfg(unix)]
mod escape {
    use std::io::{self, Write};
    use std::sync::atomic::{AtomicI32, Ordering};
    use std::time::{Duration, Instant};

    use faasrt_guest::Error;
    use faasrt_hostile::describe;

    /// What the child reports, in one `MAP_SHARED` page: for each call, 1
    /// when it succeeded, `-errno` when it failed, 0 until it ran.
    #[repr(C)]
    struct Shared {
        setsid: AtomicI32,
        setpgid: AtomicI32,
    }

    fn outcome(result: libc::c_int) -> i32 {
        if result >= 0 {
            1
        } else {
            -io::Error::last_os_error().raw_os_error().unwrap_or(1)
        }
    }

    fn describe_outcome(value: i32) -> String {
        match value {
            1 => "ok".to_owned(),
            0 => "did not run".to_owned(),
            errno => describe(&io::Error::from_raw_os_error(-errno)),
        }
    }

    pub fn run() {
        let shared: &Shared = faasrt_hostile::shared_page();
        // SAFETY: the process is single-threaded, so the child is a full
        // copy; it only makes system calls and never returns.
        match unsafe { libc::fork() } {
            0 => {
                // SAFETY: plain system calls without pointers.
                unsafe {
                    libc::alarm(10);
                    shared
                        .setsid
                        .store(outcome(libc::setsid()), Ordering::SeqCst);
                    shared
                        .setpgid
                        .store(outcome(libc::setpgid(0, 0)), Ordering::SeqCst);
                    loop {
                        libc::pause();
                    }
                }
            }
            -1 => panic!("fork: {}", io::Error::last_os_error()),
            _ => {}
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        while shared.setpgid.load(Ordering::SeqCst) == 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        faasrt_guest::run(|| {
            let mut output = faasrt_guest::output();
            let setsid = shared.setsid.load(Ordering::SeqCst);
            let setpgid = shared.setpgid.load(Ordering::SeqCst);
            writeln!(output, "setsid: {}", describe_outcome(setsid))?;
            writeln!(output, "setpgid: {}", describe_outcome(setpgid))?;
            if setsid == 1 || setpgid == 1 {
                writeln!(output, "ESCAPED: a child left the process group")?;
                return Ok(());
            }
            Err(Error::failed("the child could not leave its process group"))
        });
    }
}
