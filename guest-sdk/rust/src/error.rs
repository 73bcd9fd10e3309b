//! The error a function returns from [`run`](crate::run), and the exit status it maps to.

use std::fmt;
use std::io;

/// The status of a function that ends because its consumer closed `faasout`.
///
/// A broken pipe is not the function's fault, so [`run`](crate::run) ends such
/// a function quietly (no message on the log) but still with a non-zero status,
/// as a shell reports `yes` in `yes | head` as killed by `SIGPIPE`. The value is
/// Linux's `EPIPE`; it stays below 126 because WASI hosts such as wasmtime
/// reject `proc_exit` statuses of 126 and above.
pub const BROKEN_PIPE_STATUS: i32 = 32;

/// Why a function failed: an exit status and, unless quiet, a message for the log.
///
/// Build one with [`Error::usage`] (bad arguments, status 2), [`Error::failed`]
/// (status 1), [`Error::with_status`] or [`Error::status`] (no message), or
/// convert an [`io::Error`] with `?`.
#[derive(Debug)]
pub struct Error {
    status: i32,
    message: Option<String>,
    source: Option<io::Error>,
}

impl Error {
    /// The status of a usage error (bad or missing arguments), as in coreutils and grep.
    pub const USAGE_STATUS: i32 = 2;
    /// The status of a general failure.
    pub const FAILED_STATUS: i32 = 1;

    /// A usage error: the invocation's arguments are wrong. Exit status 2.
    pub fn usage(message: impl Into<String>) -> Self {
        Self::with_status(Self::USAGE_STATUS, message)
    }

    /// A general failure with a message for the log. Exit status 1.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::with_status(Self::FAILED_STATUS, message)
    }

    /// A failure with the given exit status and a message for the log.
    ///
    /// A status of 0 would report success, so it is replaced by 1.
    pub fn with_status(status: i32, message: impl Into<String>) -> Self {
        Self {
            status: nonzero(status),
            message: Some(message.into()),
            source: None,
        }
    }

    /// Ends the function with the given status and nothing on the log, as
    /// `grep` ends with status 1 when no line matched.
    ///
    /// A status of 0 would report success, so it is replaced by 1.
    pub fn status(status: i32) -> Self {
        Self {
            status: nonzero(status),
            message: None,
            source: None,
        }
    }

    /// The exit status this error ends the function with; never 0.
    pub fn exit_status(&self) -> i32 {
        self.status
    }

    /// The message [`run`](crate::run) writes to the log, if any.
    pub fn message(&self) -> Option<&str> {
        self.message.as_deref()
    }

    /// Whether this error is a broken pipe on `faasout`: the consumer went away.
    pub fn is_broken_pipe(&self) -> bool {
        self.source
            .as_ref()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    }
}

fn nonzero(status: i32) -> i32 {
    if status == 0 { 1 } else { status }
}

impl From<io::Error> for Error {
    /// A broken pipe becomes a quiet error with [`BROKEN_PIPE_STATUS`]; any
    /// other I/O error a failure (status 1) whose message is the error's text.
    fn from(error: io::Error) -> Self {
        if error.kind() == io::ErrorKind::BrokenPipe {
            Self {
                status: BROKEN_PIPE_STATUS,
                message: None,
                source: Some(error),
            }
        } else {
            Self {
                status: Self::FAILED_STATUS,
                message: Some(error.to_string()),
                source: Some(error),
            }
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.message, &self.source) {
            (Some(message), _) => f.write_str(message),
            (None, Some(source)) => write!(f, "{source}"),
            (None, None) => write!(f, "exit status {}", self.status),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_ref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usage_error_has_status_2_and_a_message() {
        let e = Error::usage("missing PATTERN");
        assert_eq!(e.exit_status(), 2);
        assert_eq!(e.message(), Some("missing PATTERN"));
        assert_eq!(e.to_string(), "missing PATTERN");
    }

    #[test]
    fn failed_error_has_status_1() {
        assert_eq!(Error::failed("boom").exit_status(), 1);
    }

    #[test]
    fn quiet_status_has_no_message() {
        let e = Error::status(1);
        assert_eq!(e.exit_status(), 1);
        assert_eq!(e.message(), None);
    }

    #[test]
    fn status_zero_is_never_success() {
        assert_eq!(Error::status(0).exit_status(), 1);
        assert_eq!(Error::with_status(0, "x").exit_status(), 1);
    }

    #[test]
    fn broken_pipe_is_quiet_and_nonzero() {
        let e = Error::from(io::Error::from(io::ErrorKind::BrokenPipe));
        assert_eq!(e.exit_status(), BROKEN_PIPE_STATUS);
        assert_ne!(e.exit_status(), 0);
        assert!(e.is_broken_pipe());
        assert_eq!(e.message(), None);
    }

    #[test]
    fn other_io_error_fails_with_its_text() {
        let e = Error::from(io::Error::other("disk on fire"));
        assert_eq!(e.exit_status(), 1);
        assert!(!e.is_broken_pipe());
        assert_eq!(e.message(), Some("disk on fire"));
    }
}
