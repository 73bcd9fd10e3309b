//! A native function's executable: checked to be an ELF executable for
//! this machine, then held in a sealed memfd that nobody can name or change,
//! and executed through `/proc/self/fd/N`.

use crate::error::RuntimeError;
use rustix::fs::{MemfdFlags, SealFlags};
use std::io::Write;
use std::os::fd::AsRawFd;

/// An executable held in a sealed memfd.
pub(crate) struct NativeExecutable {
    memfd: std::fs::File,
}

/// Checks that `bytes` are a 64-bit little-endian ELF executable for this
/// machine's architecture.
pub(crate) fn validate_executable(bytes: &[u8]) -> Result<(), RuntimeError> {
    let invalid = |reason: &str| RuntimeError::InvalidExecutable {
        reason: reason.to_owned(),
    };
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" {
        return Err(invalid("not an ELF executable"));
    }
    if bytes[4] != 2 || bytes[5] != 1 {
        return Err(invalid("not a 64-bit little-endian ELF file"));
    }
    let kind = u16::from_le_bytes([bytes[16], bytes[17]]);
    if kind != 2 && kind != 3 {
        return Err(invalid("an ELF object, not an executable"));
    }
    let machine = u16::from_le_bytes([bytes[18], bytes[19]]);
    let expected = match std::env::consts::ARCH {
        "x86_64" => 62,
        "aarch64" => 183,
        _ => {
            return Err(invalid(
                "native functions are not supported on this architecture",
            ));
        }
    };
    if machine != expected {
        return Err(invalid(&format!(
            "built for another architecture (ELF machine {machine}), not {}",
            std::env::consts::ARCH
        )));
    }
    Ok(())
}

impl NativeExecutable {
    /// Validates `bytes` and seals them into a memfd.
    pub(crate) fn new(bytes: &[u8]) -> Result<Self, RuntimeError> {
        validate_executable(bytes)?;
        let fail = |what: &'static str| {
            move |errno: rustix::io::Errno| RuntimeError::NativeExecutable {
                what,
                source: errno.into(),
            }
        };
        let fd = rustix::fs::memfd_create(
            c"faasrt-native",
            MemfdFlags::CLOEXEC | MemfdFlags::ALLOW_SEALING,
        )
        .map_err(fail("memfd_create"))?;
        let mut memfd = std::fs::File::from(fd);
        memfd
            .write_all(bytes)
            .map_err(|source| RuntimeError::NativeExecutable {
                what: "write",
                source,
            })?;
        let seals = SealFlags::SHRINK | SealFlags::GROW | SealFlags::WRITE | SealFlags::SEAL;
        rustix::fs::fcntl_add_seals(&memfd, seals).map_err(fail("seal"))?;
        Ok(NativeExecutable { memfd })
    }

    /// The path that executes it.
    pub(super) fn path(&self) -> String {
        format!("/proc/self/fd/{}", self.memfd.as_raw_fd())
    }

    /// The bytes its memfd holds in memory (all of it: a memfd is not
    /// swapped out unless the host has swap).
    pub(crate) fn allocated_bytes(&self) -> u64 {
        rustix::fs::fstat(&self.memfd).map_or(0, |stat| stat.st_blocks as u64 * 512)
    }

    /// Its descriptor, which the child duplicates to exec from.
    pub(super) fn raw_fd(&self) -> std::os::fd::RawFd {
        self.memfd.as_raw_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn its_memfd_holds_the_whole_executable() {
        let own = std::fs::read(std::env::current_exe().expect("test binary")).expect("read");
        let executable = NativeExecutable::new(&own).expect("seal");
        assert!(executable.allocated_bytes() >= own.len() as u64);
        assert!(executable.allocated_bytes() < own.len() as u64 + (1 << 20));
    }

    #[test]
    fn only_elf_executables_for_this_machine_are_accepted() {
        let own = std::fs::read(std::env::current_exe().expect("test binary")).expect("read");
        assert!(validate_executable(&own).is_ok());
        for bad in [&b"#!/bin/sh\necho hi\n"[..], b"\x7fELF", &[0u8; 100]] {
            assert!(matches!(
                validate_executable(bad),
                Err(RuntimeError::InvalidExecutable { .. })
            ));
        }
        let mut other_machine = own.clone();
        other_machine[18] = 0x28; // ARM
        other_machine[19] = 0;
        assert!(validate_executable(&other_machine).is_err());
    }
}
