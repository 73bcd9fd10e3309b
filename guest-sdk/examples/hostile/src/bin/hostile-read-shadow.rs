//! Tries to read /etc/shadow; exits 1 with the error, or says READ and exits 0.
//!
//! Guest: native.
//!
//! Only the outcome is reported, never the file's contents: `READ <n>
//! bytes` if it could be read (a sandbox failure unless it runs as root),
//! else the error, also on the log, with status 1. On wasm it is an empty
//! `main`.

#[cfg(unix)]
fn main() {
    use std::io::Write;

    use faasrt_guest::Error;
    use faasrt_hostile::describe;

    faasrt_guest::run(|| {
        let mut output = faasrt_guest::output();
        match std::fs::read("/etc/shadow") {
            Ok(bytes) => {
                writeln!(output, "READ {} bytes", bytes.len())?;
                Ok(())
            }
            Err(error) => {
                let error = describe(&error);
                writeln!(output, "open /etc/shadow: {error}")?;
                Err(Error::failed(format!("open /etc/shadow: {error}")))
            }
        }
    });
}

#[cfg(not(unix))]
fn main() {}
