//! Writes to its own stdin (fd 0, faasin) and reports what happened; exits 0 either way.
//!
//! Guest: native.
//!
//! The input is meant to be read-only: the write should fail (`EBADF` on the
//! read end of a pipe). If it succeeds, the bytes may end up wherever fd 0
//! leads (a terminal, a file the runtime opened, a socket), which is what a
//! test wants to know. On wasm it is an empty `main`.

#[cfg(unix)]
fn main() {
    use std::io::{self, Write};

    use faasrt_hostile::describe;

    const MESSAGE: &[u8] = b"hostile-stdin-write was here\n";

    faasrt_guest::run(|| {
        // SAFETY: the pointer and length describe `MESSAGE`.
        let written = unsafe { libc::write(0, MESSAGE.as_ptr().cast(), MESSAGE.len()) };
        let mut output = faasrt_guest::output();
        if written < 0 {
            let error = describe(&io::Error::last_os_error());
            writeln!(output, "write fd 0: {error}")?;
        } else {
            writeln!(
                output,
                "write fd 0: ok, {written} of {} bytes",
                MESSAGE.len()
            )?;
        }
        Ok(())
    });
}

#[cfg(not(unix))]
fn main() {}
