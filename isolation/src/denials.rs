//! What the server's seccomp filters refused: which syscall, on a thread of
//! which role, how many times.
//!
//! The runtime filter and the guest-thread role refuse with
//! `SECCOMP_RET_TRAP`: the kernel sends the thread `SIGSYS`, whose handler
//! ([`on_sigsys`]) reads the syscall's number from the signal's `siginfo`
//! (as Firecracker's `signal_handler.rs` does), counts it under the
//! thread's [`ThreadRole`] and makes the call return `EPERM`. A handler may
//! only touch atomics and the signal context, so it counts into a fixed
//! table; [`denials`] turns the table into named rows for the log and
//! `/metrics`.

use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};

/// What a thread of the server is for, which decides its seccomp filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum ThreadRole {
    /// A thread with the runtime filter only that does not run guest code
    /// (the main thread, the HTTP threads before their first guest, the
    /// epoch ticker).
    Server = 0,
    /// A host thread: compiles, pre-initializes, writes the store, forks
    /// native functions, relays spliced pipes. Runtime filter only, and
    /// created only by threads that never run guests.
    Host = 1,
    /// A thread that runs guest code: the runtime filter and the
    /// guest-thread role on top.
    Guest = 2,
}

impl ThreadRole {
    /// Every role, in table order.
    pub const ALL: [ThreadRole; 3] = [ThreadRole::Server, ThreadRole::Host, ThreadRole::Guest];

    /// The role's name in logs and metric labels: `server`, `host`, `guest`.
    pub fn label(self) -> &'static str {
        match self {
            ThreadRole::Server => "server",
            ThreadRole::Host => "host",
            ThreadRole::Guest => "guest",
        }
    }

    fn from_tag(tag: u8) -> Self {
        match tag {
            1 => ThreadRole::Host,
            2 => ThreadRole::Guest,
            _ => ThreadRole::Server,
        }
    }
}

thread_local! {
    /// This thread's role, as the SIGSYS handler reports it. Const-
    /// initialized and without a destructor: reading it in a signal
    /// handler is a plain TLS load, with no lazy set-up.
    static ROLE: Cell<u8> = const { Cell::new(ThreadRole::Server as u8) };
}

/// Records the calling thread's role, for the denials it may cause.
pub fn set_thread_role(role: ThreadRole) {
    ROLE.with(|tag| tag.set(role as u8));
}

/// The calling thread's role ([`ThreadRole::Server`] unless set).
pub fn thread_role() -> ThreadRole {
    ThreadRole::from_tag(ROLE.with(Cell::get))
}

/// Syscall numbers counted one by one; a refusal of a higher number (none
/// of faasrt's tables has one) is counted in the last entry.
const SYSCALLS: usize = 512;

/// Refusals by role and syscall number.
static BY_ROLE_AND_SYSCALL: [[AtomicU64; SYSCALLS]; 3] =
    [const { [const { AtomicU64::new(0) }; SYSCALLS] }; 3];

/// All refusals.
static TOTAL: AtomicU64 = AtomicU64::new(0);

/// How many syscalls the server's filters refused since start.
pub fn denied_syscalls() -> u64 {
    TOTAL.load(Ordering::Relaxed)
}

/// One row of the refusals: a syscall refused on threads of one role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Denial {
    /// The role of the threads that made it.
    pub role: ThreadRole,
    /// The syscall's number on this architecture.
    pub number: i64,
    /// Its name (`unknown` for a number the kernel has no syscall for).
    pub name: &'static str,
    /// How many times it was refused since start.
    pub count: u64,
}

/// Every syscall refused at least once, by role, in role then number order.
pub fn denials() -> Vec<Denial> {
    let mut rows = Vec::new();
    for role in ThreadRole::ALL {
        for (number, count) in BY_ROLE_AND_SYSCALL[role as usize].iter().enumerate() {
            let count = count.load(Ordering::Relaxed);
            if count > 0 {
                rows.push(Denial {
                    role,
                    number: number as i64,
                    name: syscall_name(number as i64),
                    count,
                });
            }
        }
    }
    rows
}

/// The name of syscall `number` on this architecture (`unknown` for a
/// number the kernel has no syscall for).
pub fn syscall_name(number: i64) -> &'static str {
    usize::try_from(number)
        .ok()
        .and_then(syscalls::Sysno::new)
        .map_or("unknown", |syscall| syscall.name())
}

/// `si_code` of a SIGSYS sent by a seccomp filter.
const SYS_SECCOMP: libc::c_int = 1;

/// The SIGSYS part of `siginfo_t` on Linux (`_sigsys` in the kernel's
/// `siginfo.h`): after the three ints, the union starts at pointer
/// alignment.
#[repr(C)]
struct SigsysInfo {
    signo: libc::c_int,
    errno: libc::c_int,
    code: libc::c_int,
    call_addr: *mut libc::c_void,
    syscall: libc::c_int,
    arch: libc::c_uint,
}

/// The SIGSYS handler of the runtime filter in `Enforce` mode: counts the
/// refusal under its syscall and the thread's role, and makes the syscall
/// return `-EPERM`, as if the filter had said so.
pub(crate) extern "C" fn on_sigsys(
    _signal: libc::c_int,
    info: *mut libc::siginfo_t,
    context: *mut libc::c_void,
) {
    // SAFETY: the kernel passes a valid siginfo for an SA_SIGINFO handler,
    // and for SIGSYS its union holds `_sigsys`, laid out as `SigsysInfo`.
    let (code, number) = unsafe {
        let info = info.cast::<SigsysInfo>();
        ((*info).code, (*info).syscall)
    };
    let number = if code == SYS_SECCOMP {
        (number.max(0) as usize).min(SYSCALLS - 1)
    } else {
        SYSCALLS - 1
    };
    let role = ROLE.try_with(Cell::get).unwrap_or(0) as usize;
    BY_ROLE_AND_SYSCALL[role.min(2)][number].fetch_add(1, Ordering::Relaxed);
    TOTAL.fetch_add(1, Ordering::Relaxed);
    #[cfg(target_arch = "x86_64")]
    {
        let context = context.cast::<libc::ucontext_t>();
        // SAFETY: the kernel passes a valid ucontext for an SA_SIGINFO
        // handler; RAX holds the syscall's return value when the handler
        // returns.
        unsafe {
            (*context).uc_mcontext.gregs[libc::REG_RAX as usize] = -(libc::EPERM as i64);
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = context;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::in_child;

    #[test]
    fn names_come_from_the_syscall_numbers() {
        assert_eq!(syscall_name(libc::SYS_fork), "fork");
        assert_eq!(syscall_name(libc::SYS_mount), "mount");
        assert_eq!(syscall_name(libc::SYS_getpid), "getpid");
        assert_eq!(syscall_name(100_000), "unknown");
        assert_eq!(syscall_name(-1), "unknown");
    }

    #[test]
    fn a_thread_keeps_its_role_and_others_do_not_see_it() {
        set_thread_role(ThreadRole::Host);
        assert_eq!(thread_role(), ThreadRole::Host);
        let other = std::thread::spawn(thread_role).join().expect("thread");
        assert_eq!(other, ThreadRole::Server);
    }

    #[test]
    fn a_refusal_is_counted_under_its_syscall_and_role() {
        // The child only makes system calls and touches atomics.
        let status = in_child(|| {
            if crate::install_runtime_filter(crate::RuntimeSeccomp::Enforce).is_err() {
                return 99;
            }
            set_thread_role(ThreadRole::Host);
            // SAFETY: unshare(2) with a constant argument, refused.
            unsafe { libc::unshare(libc::CLONE_NEWUSER) };
            set_thread_role(ThreadRole::Guest);
            // SAFETY: as above, twice; and mount(2) with null arguments.
            unsafe {
                libc::unshare(libc::CLONE_NEWUSER);
                libc::unshare(libc::CLONE_NEWUSER);
            }
            let rows = denials();
            let expected = [
                (ThreadRole::Host, libc::SYS_unshare, "unshare", 1),
                (ThreadRole::Guest, libc::SYS_unshare, "unshare", 2),
            ];
            let same = rows.len() == expected.len()
                && rows
                    .iter()
                    .zip(expected)
                    .all(|(row, (role, number, name, count))| {
                        row.role == role
                            && row.number == number
                            && row.name == name
                            && row.count == count
                    });
            if same && denied_syscalls() == 3 { 0 } else { 1 }
        });
        assert!(libc::WIFEXITED(status), "the child died: {status}");
        assert_eq!(libc::WEXITSTATUS(status), 0);
    }
}
