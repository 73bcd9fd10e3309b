//! Tries execve("/bin/sh", ["sh", "-c", "echo ESCAPED"]); exits 1 with the error if exec fails.
//!
//! Guest: native.
//!
//! If the exec works, the shell replaces the guest and prints `ESCAPED` to
//! faasout (status 0): a sandbox that forbids exec must refuse the call. If
//! it fails, the error goes to faasout and the log, with status 1. On wasm
//! it is an empty `main`.

#[cfg(unix)]
fn main() {
    use std::ffi::CStr;
    use std::io::{self, Write};
    use std::ptr::null;

    use faasrt_guest::Error;
    use faasrt_hostile::describe;

    const SHELL: &CStr = c"/bin/sh";
    let argv = [
        c"sh".as_ptr(),
        c"-c".as_ptr(),
        c"echo ESCAPED".as_ptr(),
        null(),
    ];
    let envp = [null()];
    // SAFETY: the path and every argument are NUL-terminated strings that
    // outlive the call, and both arrays end with a null pointer. Nothing is
    // buffered for faasout yet, so an exec that works loses no output.
    unsafe { libc::execve(SHELL.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    // Only reached if the exec failed.
    let error = describe(&io::Error::last_os_error());
    faasrt_guest::run(|| {
        writeln!(faasrt_guest::output(), "execve /bin/sh: {error}")?;
        Err(Error::failed(format!("execve /bin/sh: {error}")))
    });
}

#[cfg(not(unix))]
fn main() {}
