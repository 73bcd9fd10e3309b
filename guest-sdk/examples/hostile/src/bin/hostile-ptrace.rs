//! Tries ptrace(PTRACE_ATTACH) on its parent, then ptrace(PTRACE_TRACEME); exits 1 if both are refused.
//!
//! Guest: native.
//!
//! Prints each call's result. `PTRACE_ATTACH` on `getppid()` would stop the
//! runtime itself, so if the attach succeeds it waits (up to a second) for
//! that stop and detaches again at once, leaving the parent running.
//! `PTRACE_TRACEME` would then make the parent (the runtime) its tracer. The
//! attach comes first: the other way round the two processes would trace
//! each other, and a signal to either would stop both for good. Exits 0 if
//! either call succeeded, which a sandbox must not allow. On wasm it is an
//! empty `main`.

#[cfg(target_os = "linux")]
fn main() {
    use std::io::Write;

    use faasrt_guest::Error;

    faasrt_guest::run(|| {
        let mut output = faasrt_guest::output();
        let attached = linux::attach_parent();
        writeln!(output, "{}", attached.1)?;
        let traced = linux::trace_me();
        writeln!(output, "{}", traced.1)?;
        if attached.0 || traced.0 {
            Ok(())
        } else {
            Err(Error::failed("ptrace refused"))
        }
    });
}

#[cfg(not(target_os = "linux"))]
fn main() {}

#[cfg(target_os = "linux")]
mod linux {
    use std::io;
    use std::ptr::null_mut;
    use std::thread::sleep;
    use std::time::Duration;

    use faasrt_hostile::describe;

    /// How often, and how many times, to look for the parent's stop.
    const POLL: Duration = Duration::from_millis(10);
    const POLLS: u32 = 100;

    /// `ptrace(request, pid)` with null address and data.
    fn ptrace(request: libc::c_uint, pid: libc::pid_t) -> io::Result<()> {
        // SAFETY: the requests used here read and write no memory of ours:
        // address and data are null (data 0: no signal on detach).
        let result = unsafe { libc::ptrace(request, pid, null_mut::<u8>(), null_mut::<u8>()) };
        if result == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    /// `PTRACE_ATTACH` on the parent, and on success the detach; whether it
    /// attached, and the line that says what happened.
    pub fn attach_parent() -> (bool, String) {
        // SAFETY: getppid has no preconditions.
        let parent = unsafe { libc::getppid() };
        let call = format!("ptrace(PTRACE_ATTACH, parent {parent})");
        if let Err(error) = ptrace(libc::PTRACE_ATTACH, parent) {
            return (false, format!("{call}: {}", describe(&error)));
        }
        // Attaching sent the parent SIGSTOP; it can only be detached once it
        // has stopped.
        let mut stopped = false;
        for _ in 0..POLLS {
            let mut status = 0;
            // SAFETY: `status` is a valid place for the status.
            let waited =
                unsafe { libc::waitpid(parent, &mut status, libc::__WALL | libc::WNOHANG) };
            if waited == parent {
                stopped = true;
                break;
            }
            sleep(POLL);
        }
        let detached = match ptrace(libc::PTRACE_DETACH, parent) {
            Ok(()) => "detached".to_owned(),
            Err(error) => format!("detach: {}", describe(&error)),
        };
        let stop = if stopped {
            "stopped"
        } else {
            "never seen to stop"
        };
        (
            true,
            format!("{call}: ok, ATTACHED; parent {stop}, {detached}"),
        )
    }

    /// `PTRACE_TRACEME`: whether it worked, and the line that says so.
    pub fn trace_me() -> (bool, String) {
        match ptrace(libc::PTRACE_TRACEME, 0) {
            Ok(()) => (
                true,
                "ptrace(PTRACE_TRACEME): ok, TRACED by the parent".to_owned(),
            ),
            Err(error) => (
                false,
                format!("ptrace(PTRACE_TRACEME): {}", describe(&error)),
            ),
        }
    }
}
