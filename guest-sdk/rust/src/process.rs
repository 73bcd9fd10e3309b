//! The invocation's arguments and how a function ends.

use std::io;

use crate::error::Error;
use crate::stdio::{flush_output, log};

/// The invocation's arguments, without the function name (`args[0]`).
///
/// Read fresh on every call, never cached: a pre-initialized module must see
/// each invocation's own arguments, not those of the snapshot. Arguments
/// that are not UTF-8 are converted lossily.
pub fn args() -> Vec<String> {
    std::env::args_os()
        .skip(1)
        .map(|arg| arg.to_string_lossy().into_owned())
        .collect()
}

/// The name the function was invoked as (`args[0]`), or an empty string if
/// the host passed no arguments at all.
///
/// A native build run from a shell sees the path of its executable here.
pub fn function_name() -> String {
    std::env::args_os()
        .next()
        .map(|arg| arg.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Flushes `faasout` and ends the function with `status` (0 = success).
///
/// If the flush fails while `status` is 0, the flush error decides the status
/// instead, as in [`run`]: a broken pipe gives
/// [`BROKEN_PIPE_STATUS`](crate::BROKEN_PIPE_STATUS), any other error 1 with
/// a message on the log. WASI hosts accept statuses 0 to 125 only.
pub fn exit(status: i32) -> ! {
    let flushed = flush_output();
    let status = if status == 0 {
        outcome(Ok(()), flushed)
    } else {
        status
    };
    std::process::exit(status)
}

/// Runs a function's body and ends the function with its status.
///
/// `Ok(())` is status 0: `run` then returns, so that `main` returns normally.
/// On WASI that ends the function without a `proc_exit` call (wasi-libc's
/// `_start` only exits explicitly for a non-zero status), which spares the
/// host an exit trap on every successful invocation. `Err(error)` writes the error's message (if it has
/// one) to the log, prefixed with the function name, and ends with
/// [`Error::exit_status`]. `faasout` is flushed in both cases; if that fails
/// after `Ok(())`, the flush error is the status. A broken pipe — the
/// consumer of `faasout` went away — ends the function quietly with
/// [`BROKEN_PIPE_STATUS`](crate::BROKEN_PIPE_STATUS).
pub fn run<F>(body: F)
where
    F: FnOnce() -> Result<(), Error>,
{
    let result = body();
    let status = outcome(result, flush_output());
    if status != 0 {
        std::process::exit(status)
    }
}

/// Decides the exit status from the body's result and the final flush, and
/// logs the message that goes with it.
fn outcome(result: Result<(), Error>, flushed: io::Result<()>) -> i32 {
    let (status, message) = status_and_message(result, flushed);
    if let Some(message) = message {
        log(&prefixed(&function_name(), &message));
    }
    status
}

/// The pure part of [`outcome`]: the status and the log message, if any.
fn status_and_message(result: Result<(), Error>, flushed: io::Result<()>) -> (i32, Option<String>) {
    // The body's own error wins: a failed flush after a failure adds nothing.
    let error = match (result, flushed) {
        (Ok(()), Ok(())) => return (0, None),
        (Ok(()), Err(flush_error)) => Error::from(flush_error),
        (Err(error), _) => error,
    };
    (error.exit_status(), error.message().map(str::to_owned))
}

/// `name: message`, with `name` reduced to its last path component, as
/// coreutils prefix their messages.
fn prefixed(name: &str, message: &str) -> String {
    let short = name.rsplit(['/', '\\']).next().unwrap_or(name);
    if short.is_empty() {
        message.to_owned()
    } else {
        format!("{short}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BROKEN_PIPE_STATUS;

    fn broken_pipe() -> io::Error {
        io::Error::from(io::ErrorKind::BrokenPipe)
    }

    #[test]
    fn ok_and_flushed_is_success() {
        assert_eq!(status_and_message(Ok(()), Ok(())), (0, None));
    }

    #[test]
    fn usage_error_is_status_2_with_its_message() {
        let (status, message) = status_and_message(Err(Error::usage("missing PATTERN")), Ok(()));
        assert_eq!(status, 2);
        assert_eq!(message.as_deref(), Some("missing PATTERN"));
    }

    #[test]
    fn broken_pipe_from_the_body_is_quiet_and_nonzero() {
        let (status, message) = status_and_message(Err(broken_pipe().into()), Ok(()));
        assert_eq!(status, BROKEN_PIPE_STATUS);
        assert_eq!(message, None);
    }

    #[test]
    fn broken_pipe_in_the_final_flush_is_quiet_and_nonzero() {
        let (status, message) = status_and_message(Ok(()), Err(broken_pipe()));
        assert_eq!(status, BROKEN_PIPE_STATUS);
        assert_eq!(message, None);
    }

    #[test]
    fn other_flush_error_fails_with_its_text() {
        let (status, message) = status_and_message(Ok(()), Err(io::Error::other("disk full")));
        assert_eq!(status, 1);
        assert_eq!(message.as_deref(), Some("disk full"));
    }

    #[test]
    fn body_error_wins_over_flush_error() {
        let (status, message) = status_and_message(Err(Error::status(1)), Err(broken_pipe()));
        assert_eq!(status, 1);
        assert_eq!(message, None);
    }

    #[test]
    fn log_prefix_is_the_last_path_component() {
        assert_eq!(prefixed("grep", "oops"), "grep: oops");
        assert_eq!(prefixed("/usr/bin/grep", "oops"), "grep: oops");
        assert_eq!(prefixed("", "oops"), "oops");
    }
}
