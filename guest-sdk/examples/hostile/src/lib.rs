//! faasrt-hostile: guests that misbehave on purpose, for the isolation tests.
//!
//! Each binary in `src/bin` does one hostile thing; its first `//!` line says
//! what, and a `//! Guest: wasm.` or `//! Guest: native.` line says how it is
//! meant to run. `faasrt-example-artifacts` builds them (the wasm ones for
//! `wasm32-wasip1`, the native ones for the host) and embeds them as
//! `HOSTILE` and `HOSTILE_NATIVE`, together with the hand-written modules of
//! `wat/`. Every binary builds for both targets; where a behaviour makes no
//! sense (a fork bomb on wasm), that build is an empty `main`.
//!
//! Never run the native ones outside a sandbox: `hostile-fork-bomb` is a
//! real fork bomb (with a fuse, see its source), and `hostile-ptrace` tries
//! to attach to its parent.
//!
//! This library holds what the guests share: naming the error codes they
//! report, and (natively) a page shared with the processes they fork.

use std::io;

/// A zeroed page mapped `MAP_SHARED`, so that processes forked after this
/// call see each other's writes: how a native guest's children report back.
/// `T` must be valid when all zero (atomics are) and fit in a page; the
/// page is never unmapped.
///
/// # Panics
/// When the mapping fails.
#[cfg(unix)]
pub fn shared_page<T: Sync>() -> &'static T {
    assert!(size_of::<T>() <= 4096, "one page at most");
    // SAFETY: a fresh anonymous mapping: no pointers are passed in, and the
    // result is checked before use.
    let page = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    assert!(
        page != libc::MAP_FAILED,
        "mmap: {}",
        io::Error::last_os_error()
    );
    // SAFETY: page-aligned, zeroed (valid for `T` by the contract above),
    // never unmapped; `T: Sync` makes sharing it sound.
    unsafe { &*page.cast::<T>() }
}

/// The symbolic name of an error code as the guest's platform numbers them:
/// WASI's `errno` on `wasm32-wasip1` (which wasi-libc and Rust's std use as
/// they are), the C library's elsewhere. `"E?"` for a code it does not know.
pub fn errno_name(code: i32) -> &'static str {
    imp::errno_name(code)
}

/// `EBADF: Bad file descriptor (os error 8)`: the name of an OS error's
/// code (see [`errno_name`]) and its text; just the text for an error that
/// has no OS code.
pub fn describe(error: &io::Error) -> String {
    match error.raw_os_error() {
        Some(code) => format!("{}: {error}", errno_name(code)),
        None => error.to_string(),
    }
}

#[cfg(target_os = "wasi")]
mod imp {
    /// WASI preview 1's `errno`, in order: the name of code `n` is `NAMES[n]`.
    const NAMES: [&str; 77] = [
        "SUCCESS",
        "E2BIG",
        "EACCES",
        "EADDRINUSE",
        "EADDRNOTAVAIL",
        "EAFNOSUPPORT",
        "EAGAIN",
        "EALREADY",
        "EBADF",
        "EBADMSG",
        "EBUSY",
        "ECANCELED",
        "ECHILD",
        "ECONNABORTED",
        "ECONNREFUSED",
        "ECONNRESET",
        "EDEADLK",
        "EDESTADDRREQ",
        "EDOM",
        "EDQUOT",
        "EEXIST",
        "EFAULT",
        "EFBIG",
        "EHOSTUNREACH",
        "EIDRM",
        "EILSEQ",
        "EINPROGRESS",
        "EINTR",
        "EINVAL",
        "EIO",
        "EISCONN",
        "EISDIR",
        "ELOOP",
        "EMFILE",
        "EMLINK",
        "EMSGSIZE",
        "EMULTIHOP",
        "ENAMETOOLONG",
        "ENETDOWN",
        "ENETRESET",
        "ENETUNREACH",
        "ENFILE",
        "ENOBUFS",
        "ENODEV",
        "ENOENT",
        "ENOEXEC",
        "ENOLCK",
        "ENOLINK",
        "ENOMEM",
        "ENOMSG",
        "ENOPROTOOPT",
        "ENOSPC",
        "ENOSYS",
        "ENOTCONN",
        "ENOTDIR",
        "ENOTEMPTY",
        "ENOTRECOVERABLE",
        "ENOTSOCK",
        "ENOTSUP",
        "ENOTTY",
        "ENXIO",
        "EOVERFLOW",
        "EOWNERDEAD",
        "EPERM",
        "EPIPE",
        "EPROTO",
        "EPROTONOSUPPORT",
        "EPROTOTYPE",
        "ERANGE",
        "EROFS",
        "ESPIPE",
        "ESRCH",
        "ESTALE",
        "ETIMEDOUT",
        "ETXTBSY",
        "EXDEV",
        "ENOTCAPABLE",
    ];

    pub fn errno_name(code: i32) -> &'static str {
        usize::try_from(code)
            .ok()
            .and_then(|index| NAMES.get(index))
            .copied()
            .unwrap_or("E?")
    }
}

#[cfg(unix)]
mod imp {
    /// The codes the guests can meet, by name.
    const NAMES: &[(i32, &str)] = &[
        (libc::EPERM, "EPERM"),
        (libc::ENOENT, "ENOENT"),
        (libc::ESRCH, "ESRCH"),
        (libc::EINTR, "EINTR"),
        (libc::EIO, "EIO"),
        (libc::E2BIG, "E2BIG"),
        (libc::ENOEXEC, "ENOEXEC"),
        (libc::EBADF, "EBADF"),
        (libc::ECHILD, "ECHILD"),
        (libc::EAGAIN, "EAGAIN"),
        (libc::ENOMEM, "ENOMEM"),
        (libc::EACCES, "EACCES"),
        (libc::EFAULT, "EFAULT"),
        (libc::EBUSY, "EBUSY"),
        (libc::EEXIST, "EEXIST"),
        (libc::ENOTDIR, "ENOTDIR"),
        (libc::EISDIR, "EISDIR"),
        (libc::EINVAL, "EINVAL"),
        (libc::ENFILE, "ENFILE"),
        (libc::EMFILE, "EMFILE"),
        (libc::ETXTBSY, "ETXTBSY"),
        (libc::ENOSPC, "ENOSPC"),
        (libc::EROFS, "EROFS"),
        (libc::EPIPE, "EPIPE"),
        (libc::ENAMETOOLONG, "ENAMETOOLONG"),
        (libc::ENOSYS, "ENOSYS"),
        (libc::ELOOP, "ELOOP"),
        (libc::ENOTSOCK, "ENOTSOCK"),
        (libc::EPROTONOSUPPORT, "EPROTONOSUPPORT"),
        (libc::ENOTSUP, "ENOTSUP"),
        (libc::EAFNOSUPPORT, "EAFNOSUPPORT"),
        (libc::EADDRNOTAVAIL, "EADDRNOTAVAIL"),
        (libc::ENETUNREACH, "ENETUNREACH"),
        (libc::ECONNRESET, "ECONNRESET"),
        (libc::ETIMEDOUT, "ETIMEDOUT"),
        (libc::ECONNREFUSED, "ECONNREFUSED"),
        (libc::EHOSTUNREACH, "EHOSTUNREACH"),
    ];

    pub fn errno_name(code: i32) -> &'static str {
        NAMES
            .iter()
            .find(|(known, _)| *known == code)
            .map_or("E?", |(_, name)| name)
    }
}

#[cfg(not(any(unix, target_os = "wasi")))]
mod imp {
    pub fn errno_name(_code: i32) -> &'static str {
        "E?"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(unix)]
    fn names_the_codes_of_the_c_library() {
        assert_eq!(errno_name(libc::EBADF), "EBADF");
        assert_eq!(errno_name(libc::EACCES), "EACCES");
        assert_eq!(errno_name(-1), "E?");
    }

    #[test]
    #[cfg(unix)]
    fn describes_an_os_error_by_name_and_text() {
        let error = io::Error::from_raw_os_error(libc::EBADF);
        let text = describe(&error);
        assert!(text.starts_with("EBADF: "), "{text}");
        assert!(
            text.ends_with(&format!("(os error {})", libc::EBADF)),
            "{text}"
        );
    }

    #[test]
    fn describes_an_error_without_a_code_by_its_text() {
        assert_eq!(describe(&io::Error::other("no code")), "no code");
    }
}
