//! Makes WASI calls on descriptors it was never granted and reports what each returned.
//!
//! Guest: wasm.
//!
//! It reads fds 3 to 10, writes fd 5, opens `/etc/passwd` through std (which
//! needs a preopened directory: without one wasi-libc answers `ENOENT`
//! itself, without asking the host), calls `path_open` on fd 3 to climb out
//! of it, then closes fd 1 (`faasout`) and writes to it. Each result goes to
//! faasout, one line per call (`read fd 3: EBADF: Bad file descriptor (os
//! error 8)`), except the last two, which go to the log since faasout is
//! closed by then. It exits 0: the host is meant to refuse every call with
//! an error code, not to crash or trap. Natively it does the std part only.

use std::fs::File;
use std::io::{self, Read, Write};
use std::mem::ManuallyDrop;
use std::os::fd::{FromRawFd, RawFd};

use faasrt_hostile::describe;

/// A handle on `fd`, which this guest was never given.
///
/// `ManuallyDrop`: dropping it would close `fd`, and closing is a separate
/// probe (of fd 1 only).
fn borrow_fd(fd: RawFd) -> ManuallyDrop<File> {
    // SAFETY: this breaks `OwnedFd`'s contract on purpose: `fd` is most
    // likely not open, and if it is, it is not ours. That is the hostile
    // part; the handle is only used for one read or write, whose error (or
    // result) is reported, and is never closed, so nothing else that might
    // own the descriptor is affected.
    ManuallyDrop::new(unsafe { File::from_raw_fd(fd) })
}

/// What one call returned, as one line's worth of text.
fn outcome(result: io::Result<usize>) -> String {
    match result {
        Ok(bytes) => format!("ok, {bytes} bytes"),
        Err(error) => describe(&error),
    }
}

fn main() {
    faasrt_guest::run(|| {
        let mut output = faasrt_guest::output();
        let mut buffer = [0u8; 64];
        for fd in 3..=10 {
            let read = borrow_fd(fd).read(&mut buffer);
            writeln!(output, "read fd {fd}: {}", outcome(read))?;
        }
        let written = borrow_fd(5).write(b"hostile\n");
        writeln!(output, "write fd 5: {}", outcome(written))?;
        let opened = File::open("/etc/passwd").map(|_| 0);
        writeln!(output, "open /etc/passwd: {}", outcome(opened))?;
        #[cfg(target_os = "wasi")]
        {
            let climbed = wasi::open_outside(3);
            writeln!(output, "path_open fd 3 {}: {climbed}", wasi::OUTSIDE)?;
            writeln!(
                output,
                "fd_close fd 1 and fd_write fd 1 come next; their results go to the log"
            )?;
            output.flush()?;
            let closed = wasi::close(1);
            faasrt_guest::log!("hostile-bad-fds: fd_close fd 1: {closed}");
            let written = wasi::write(1, b"still here\n");
            faasrt_guest::log!("hostile-bad-fds: fd_write fd 1 after closing it: {written}");
        }
        Ok(())
    })
}

/// The calls std has no API for, made directly on WASI preview 1's imports,
/// so that what is reported is the host's own error code.
#[cfg(target_os = "wasi")]
mod wasi {
    use faasrt_hostile::errno_name;

    /// A path that leaves any directory it is resolved in.
    pub const OUTSIDE: &str = "../../../../etc/passwd";
    /// `rights::FD_READ`.
    const RIGHT_FD_READ: i64 = 1 << 1;

    /// `ciovec`: one buffer to write.
    #[repr(C)]
    struct Ciovec {
        buf: *const u8,
        len: usize,
    }

    // The same signatures as std's and wasi-libc's declarations of these
    // imports, which the linker merges with these.
    #[link(wasm_import_module = "wasi_snapshot_preview1")]
    unsafe extern "C" {
        fn path_open(
            fd: i32,
            dirflags: i32,
            path: *const u8,
            path_len: usize,
            oflags: i32,
            rights_base: i64,
            rights_inheriting: i64,
            fdflags: i32,
            opened: *mut i32,
        ) -> i32;
        fn fd_close(fd: i32) -> i32;
        fn fd_write(fd: i32, iovs: *const Ciovec, iovs_len: usize, written: *mut usize) -> i32;
    }

    /// `EBADF (8)`, or `ok` for 0.
    fn errno(code: i32) -> String {
        if code == 0 {
            "ok".to_owned()
        } else {
            format!("{} ({code})", errno_name(code))
        }
    }

    /// `path_open(fd, OUTSIDE)` for reading; closes what it opened, if
    /// anything.
    pub fn open_outside(fd: i32) -> String {
        let mut opened = -1;
        // SAFETY: the path and its length describe a live string, and
        // `opened` is a valid place for the host to write an fd to. The
        // descriptor is not ours: that is the probe.
        let code = unsafe {
            path_open(
                fd,
                0,
                OUTSIDE.as_ptr(),
                OUTSIDE.len(),
                0,
                RIGHT_FD_READ,
                0,
                0,
                &mut opened,
            )
        };
        if code == 0 {
            // SAFETY: `opened` is the descriptor the host just gave us.
            let closed = unsafe { fd_close(opened) };
            return format!("ok, opened fd {opened} (closed again: {})", errno(closed));
        }
        errno(code)
    }

    /// `fd_close(fd)`.
    pub fn close(fd: i32) -> String {
        // SAFETY: closing takes no pointers. Closing fd 1 pulls `faasout`
        // from under std and the SDK: nothing writes to it after this but
        // [`write`], whose failure is the point.
        errno(unsafe { fd_close(fd) })
    }

    /// `fd_write(fd, bytes)`.
    pub fn write(fd: i32, bytes: &[u8]) -> String {
        let iov = Ciovec {
            buf: bytes.as_ptr(),
            len: bytes.len(),
        };
        let mut written = 0;
        // SAFETY: one iovec describing a live slice, and a valid place for
        // the count.
        let code = unsafe { fd_write(fd, &iov, 1, &mut written) };
        if code == 0 {
            format!("ok, {written} bytes")
        } else {
            errno(code)
        }
    }
}
