//! seccomp filters: each role's table of [`SyscallRule`]s
//! (`seccomp_policy.rs`) compiled to BPF with seccompiler, with the role's
//! action, and installed on a thread or before a native function's exec.

use crate::seccomp_policy::{
    ArgCondition, GUEST_THREAD_DENIED, NATIVE_CHILD_DENIED, RUNTIME_DENIED, SyscallRule, Sysno,
};
use seccompiler::{BpfProgram, SeccompAction, SeccompFilter, TargetArch};
use std::collections::{BTreeMap, BTreeSet};

/// What happens when a runtime thread makes a denied syscall.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuntimeSeccomp {
    /// Refused with `EPERM`, counted by syscall and thread role
    /// ([`crate::denials`]) and logged by the runtime: the call fails, the
    /// process lives.
    Enforce,
    /// Allowed, and logged by the kernel (`SECCOMP_RET_LOG`, in the audit
    /// log): for finding out what a new deployment needs.
    Log,
}

/// Installs the runtime filter on every thread of the process (`TSYNC`);
/// threads started later inherit it. Call it once, after start-up.
///
/// # Errors
/// The filter cannot be built or installed, or the SIGSYS handler cannot be
/// set.
pub fn install_runtime_filter(mode: RuntimeSeccomp) -> Result<(), IsolationError> {
    install_runtime_filter_allowing(mode, &[])
}

/// [`install_runtime_filter`] without the rules of the syscalls in
/// `allowed`: for a server that turned on what needs one of them
/// (hardware counters need `perf_event_open`). Native functions' own
/// filter still refuses them.
///
/// # Errors
/// As [`install_runtime_filter`].
pub fn install_runtime_filter_allowing(
    mode: RuntimeSeccomp,
    allowed: &[Sysno],
) -> Result<(), IsolationError> {
    let action = match mode {
        RuntimeSeccomp::Enforce => {
            // SAFETY: a zeroed sigaction is valid; the handler only touches
            // an atomic and the signal context (async-signal-safe).
            let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
            action.sa_sigaction = crate::denials::on_sigsys as *const () as usize;
            action.sa_flags = libc::SA_SIGINFO;
            // SAFETY: installs the handler above for SIGSYS, which nothing
            // else in faasrt uses.
            if unsafe { libc::sigaction(libc::SIGSYS, &action, std::ptr::null_mut()) } != 0 {
                return Err(IsolationError::SignalHandler(
                    std::io::Error::last_os_error(),
                ));
            }
            SeccompAction::Trap
        }
        RuntimeSeccomp::Log => SeccompAction::Log,
    };
    let table: Vec<SyscallRule> = RUNTIME_DENIED
        .iter()
        .filter(|rule| !allowed.contains(&rule.syscall))
        .copied()
        .collect();
    let program = compile_table(&table, action)?;
    seccompiler::apply_filter_all_threads(&program.0).map_err(IsolationError::Install)
}

/// How many seccomp filters the guest-thread role adds to a thread (its
/// `Seccomp_filters` in `/proc/<pid>/task/<tid>/status` grows by this).
pub const GUEST_THREAD_FILTERS: u32 = 2;

/// The two filters of the guest-thread role: [`GUEST_THREAD_DENIED`] with
/// the runtime filter's action, and `clone3` answered `ENOSYS`.
#[derive(Clone, Debug)]
pub struct GuestThreadFilter {
    denied: SeccompProgram,
    clone3: SeccompProgram,
}

impl GuestThreadFilter {
    /// Builds the role's filters; `mode` as for [`install_runtime_filter`]
    /// (in `Log` mode nothing is refused, `clone3` included).
    ///
    /// # Errors
    /// [`IsolationError`] when this architecture is not supported.
    pub fn new(mode: RuntimeSeccomp) -> Result<Self, IsolationError> {
        let action = match mode {
            RuntimeSeccomp::Enforce => SeccompAction::Trap,
            RuntimeSeccomp::Log => SeccompAction::Log,
        };
        let clone3_action = match mode {
            RuntimeSeccomp::Enforce => SeccompAction::Errno(libc::ENOSYS as u32),
            RuntimeSeccomp::Log => SeccompAction::Log,
        };
        Ok(GuestThreadFilter {
            denied: compile_table(GUEST_THREAD_DENIED, action)?,
            clone3: compile(
                BTreeMap::from([(libc::SYS_clone3, Vec::new())]),
                clone3_action,
            )?,
        })
    }

    /// Installs the role on the calling thread only (not `TSYNC`): each
    /// thread does so before it first runs guest code. Denials trap to the
    /// runtime filter's SIGSYS handler, which counts them and returns EPERM.
    ///
    /// # Errors
    /// The `seccomp` call failed.
    pub fn install_on_this_thread(&self) -> std::io::Result<()> {
        self.clone3.install()?;
        self.denied.install()?;
        crate::denials::set_thread_role(crate::denials::ThreadRole::Guest);
        Ok(())
    }
}

/// Why a sandbox mechanism could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum IsolationError {
    /// seccompiler refused a policy (a bug in one of the tables above).
    #[error("cannot build the seccomp filter: {0}")]
    Policy(#[source] seccompiler::BackendError),
    /// The kernel refused to install a seccomp filter.
    #[error("cannot install the seccomp filter: {0}")]
    Install(#[source] seccompiler::Error),
    /// The SIGSYS handler of the runtime filter could not be set.
    #[error("cannot handle SIGSYS: {0}")]
    SignalHandler(#[source] std::io::Error),
    /// This architecture has no seccomp support in faasrt.
    #[error("seccomp filters are not supported on this architecture")]
    UnsupportedArch,
    /// The kernel has no Landlock.
    #[error("no Landlock in this kernel")]
    NoLandlock,
    /// A Landlock call failed.
    #[error("cannot build the Landlock ruleset: {what}: {source}")]
    Landlock {
        /// The call, and the path it was for.
        what: String,
        /// The kernel's answer.
        #[source]
        source: std::io::Error,
    },
}

/// A compiled filter, ready to install in a child before `exec`.
#[derive(Clone, Debug)]
pub struct SeccompProgram(BpfProgram);

impl SeccompProgram {
    /// Installs the filter on the calling thread (and what it `exec`s),
    /// setting `no_new_privs` first, as seccomp requires.
    ///
    /// Only makes system calls (no allocation), so it may run between fork
    /// and exec.
    ///
    /// # Errors
    /// The `prctl` or `seccomp` call failed.
    pub fn install(&self) -> std::io::Result<()> {
        seccompiler::apply_filter(&self.0).map_err(|e| std::io::Error::other(e.to_string()))
    }
}

/// The filter of native function processes: [`NATIVE_CHILD_DENIED`] refused
/// with `EPERM`, and no exec but one: `execve` is refused, and `execveat`
/// only passes for descriptor [`EXEC_FD`](crate::EXEC_FD) with `AT_EMPTY_PATH`, which is how
/// faasrt starts the program. Once it runs, that descriptor is closed
/// (close-on-exec) and cannot be made again, so the program can exec
/// nothing: no shell, no other binary.
///
/// # Errors
/// [`IsolationError`] when this architecture is not supported.
pub fn native_child_filter() -> Result<SeccompProgram, IsolationError> {
    compile_table(
        NATIVE_CHILD_DENIED,
        SeccompAction::Errno(libc::EPERM as u32),
    )
}

/// Compiles a role's table: a call that a rule matches gets `action`,
/// everything else is allowed. A syscall refused always in the table is
/// refused whatever its other rules say.
fn compile_table(
    table: &[SyscallRule],
    action: SeccompAction,
) -> Result<SeccompProgram, IsolationError> {
    let mut always = BTreeSet::new();
    let mut rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>> = BTreeMap::new();
    for rule in table {
        let number = rule.number();
        match rule.when {
            None => {
                always.insert(number);
                rules.insert(number, Vec::new());
            }
            Some(_) if always.contains(&number) => {}
            Some(condition) => rules
                .entry(number)
                .or_default()
                .push(seccomp_rule(condition)?),
        }
    }
    compile(rules, action)
}

/// `condition` as a seccompiler rule of one condition.
fn seccomp_rule(condition: ArgCondition) -> Result<seccompiler::SeccompRule, IsolationError> {
    let (arg, op, value) = match condition {
        ArgCondition::MaskedEq { arg, mask, value } => {
            (arg, seccompiler::SeccompCmpOp::MaskedEq(mask), value)
        }
        ArgCondition::Ne { arg, value } => (arg, seccompiler::SeccompCmpOp::Ne, value),
    };
    let condition =
        seccompiler::SeccompCondition::new(arg, seccompiler::SeccompCmpArgLen::Qword, op, value)
            .map_err(IsolationError::Policy)?;
    seccompiler::SeccompRule::new(vec![condition]).map_err(IsolationError::Policy)
}

/// Compiles `rules` (a rule matching means `action`), allowing the rest.
fn compile(
    rules: BTreeMap<i64, Vec<seccompiler::SeccompRule>>,
    action: SeccompAction,
) -> Result<SeccompProgram, IsolationError> {
    let arch = match std::env::consts::ARCH {
        "x86_64" => TargetArch::x86_64,
        "aarch64" => TargetArch::aarch64,
        _ => return Err(IsolationError::UnsupportedArch),
    };
    let filter = SeccompFilter::new(rules, SeccompAction::Allow, action, arch)
        .map_err(IsolationError::Policy)?;
    let program: BpfProgram = filter.try_into().map_err(IsolationError::Policy)?;
    Ok(SeccompProgram(program))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::denials::denied_syscalls;
    use crate::test_support::in_child;

    /// In a child process, installs the native-child filter and runs
    /// `probe`; returns the child's exit code.
    fn in_filtered_child(probe: fn() -> i32) -> i32 {
        let filter = native_child_filter().expect("filter");
        let status = in_child(|| {
            if filter.install().is_ok() {
                probe()
            } else {
                99
            }
        });
        libc::WEXITSTATUS(status)
    }

    fn errno() -> i32 {
        std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
    }

    #[test]
    fn a_native_child_cannot_open_a_socket() {
        let code = in_filtered_child(|| {
            // SAFETY: a plain socket(2) call with constant arguments.
            let fd = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
            if fd < 0 && errno() == libc::EPERM {
                0
            } else {
                1
            }
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn a_native_child_cannot_unshare_or_ptrace() {
        let code = in_filtered_child(|| {
            // SAFETY: unshare(2) and ptrace(2) with constant arguments; both
            // are refused by the filter before they do anything.
            let unshared = unsafe { libc::unshare(libc::CLONE_NEWUSER) };
            let unshare_refused = unshared < 0 && errno() == libc::EPERM;
            // SAFETY: as above.
            let traced = unsafe { libc::ptrace(libc::PTRACE_TRACEME, 0, 0, 0) };
            let ptrace_refused = traced < 0 && errno() == libc::EPERM;
            if unshare_refused && ptrace_refused {
                0
            } else {
                1
            }
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn a_native_child_can_exec_only_through_its_descriptor() {
        let code = in_filtered_child(|| {
            let sh = c"/bin/sh";
            let argv = [sh.as_ptr(), std::ptr::null()];
            // SAFETY: execve(2) with NUL-terminated strings and a
            // NULL-terminated argv; refused by the filter, so it returns.
            let direct = unsafe { libc::execve(sh.as_ptr(), argv.as_ptr(), argv[1..].as_ptr()) };
            let direct_refused = direct < 0 && errno() == libc::EPERM;
            // SAFETY: execveat(2) on another descriptor: refused as well.
            let other = unsafe {
                libc::syscall(
                    libc::SYS_execveat,
                    libc::AT_FDCWD,
                    sh.as_ptr(),
                    argv.as_ptr(),
                    argv[1..].as_ptr(),
                    0,
                )
            };
            let other_refused = other < 0 && errno() == libc::EPERM;
            if direct_refused && other_refused {
                0
            } else {
                1
            }
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn ordinary_calls_still_work_in_a_native_child() {
        let code = in_filtered_child(|| {
            let mut fds = [0; 2];
            // SAFETY: pipe(2) into a local array of two descriptors.
            let piped = unsafe { libc::pipe(fds.as_mut_ptr()) };
            // SAFETY: getpid(2) takes no arguments.
            let pid = unsafe { libc::getpid() };
            if piped == 0 && pid > 0 { 0 } else { 1 }
        });
        assert_eq!(code, 0);
    }

    #[test]
    fn the_runtime_filter_refuses_counts_and_lets_the_thread_live() {
        // The child only makes system calls and touches an atomic.
        let status = in_child(|| {
            match install_runtime_filter(RuntimeSeccomp::Enforce) {
                Ok(()) => {
                    // SAFETY: unshare(2) and mount(2) with constant arguments,
                    // both refused before they act.
                    let unshared = unsafe { libc::unshare(libc::CLONE_NEWUSER) };
                    let refused = unshared < 0 && errno() == libc::EPERM;
                    // SAFETY: socket(2) with constant arguments, refused
                    // (no new socket after start-up).
                    let socket = unsafe { libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0) };
                    let no_socket = socket < 0 && errno() == libc::EPERM;
                    // SAFETY: getpid(2) takes no arguments: allowed.
                    let alive = unsafe { libc::getpid() } > 0;
                    if refused && no_socket && alive && denied_syscalls() == 2 {
                        0
                    } else {
                        1
                    }
                }
                Err(_) => 99,
            }
        });
        assert!(
            libc::WIFEXITED(status),
            "the child died of a signal: {status}"
        );
        assert_eq!(libc::WEXITSTATUS(status), 0);
    }

    #[test]
    fn a_runtime_filter_allowing_a_syscall_lets_only_that_one_through() {
        let status = in_child(|| {
            if install_runtime_filter_allowing(RuntimeSeccomp::Enforce, &[Sysno::perf_event_open])
                .is_err()
            {
                return 99;
            }
            // SAFETY: perf_event_open(2) with a null attr: the kernel
            // answers EFAULT once the filter let it through.
            let opened = unsafe { libc::syscall(libc::SYS_perf_event_open, 0usize, 0, -1, -1, 0) };
            let through = opened < 0 && errno() != libc::EPERM;
            // SAFETY: unshare(2) with a constant argument, refused.
            let unshared = unsafe { libc::unshare(libc::CLONE_NEWUSER) };
            let still_refused = unshared < 0 && errno() == libc::EPERM;
            if through && still_refused && denied_syscalls() == 1 {
                0
            } else {
                1
            }
        });
        assert!(
            libc::WIFEXITED(status),
            "the child died of a signal: {status}"
        );
        assert_eq!(libc::WEXITSTATUS(status), 0);
    }

    #[test]
    fn a_guest_thread_makes_no_executable_memory_and_starts_nothing() {
        let role = GuestThreadFilter::new(RuntimeSeccomp::Enforce).expect("role");
        let status = in_child(|| {
            if install_runtime_filter(RuntimeSeccomp::Enforce).is_err()
                || role.install_on_this_thread().is_err()
            {
                return 99;
            }
            let map = |prot| {
                // SAFETY: an anonymous private mapping of one page.
                unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        4096,
                        prot,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                        -1,
                        0,
                    )
                }
            };
            let exec_map = map(libc::PROT_READ | libc::PROT_EXEC);
            let no_exec_map = exec_map == libc::MAP_FAILED && errno() == libc::EPERM;
            let page = map(libc::PROT_READ | libc::PROT_WRITE);
            let data_map = page != libc::MAP_FAILED;
            // SAFETY: mprotect(2) of the page mapped above.
            let protected =
                unsafe { libc::mprotect(page, 4096, libc::PROT_READ | libc::PROT_EXEC) };
            let no_exec_protect = protected < 0 && errno() == libc::EPERM;
            // SAFETY: fork(2) is refused before it creates anything.
            let forked = unsafe { libc::fork() };
            if forked == 0 {
                // SAFETY: ends a child that should not exist.
                unsafe { libc::_exit(0) };
            }
            let no_fork = forked < 0 && errno() == libc::EPERM;
            // SAFETY: execve(2) of a NUL-terminated path with empty argv
            // and envp, refused before it acts.
            let exec = unsafe {
                let argv = [std::ptr::null::<libc::c_char>()];
                libc::execve(c"/bin/true".as_ptr(), argv.as_ptr(), argv.as_ptr())
            };
            let no_exec = exec < 0 && errno() == libc::EPERM;
            // SAFETY: clone3(2) with no arguments: answered ENOSYS by the
            // role before the kernel reads them.
            let clone3 = unsafe { libc::syscall(libc::SYS_clone3, 0usize, 0usize) };
            let no_clone3 = clone3 < 0 && errno() == libc::ENOSYS;
            let checks = [
                no_exec_map,
                data_map,
                no_exec_protect,
                no_fork,
                no_exec,
                no_clone3,
                denied_syscalls() == 4,
            ];
            // The exit code says which check failed (bit n: check n).
            checks
                .iter()
                .enumerate()
                .filter(|(_, ok)| !**ok)
                .map(|(n, _)| 1 << n)
                .sum()
        });
        assert!(libc::WIFEXITED(status), "died: {status}");
        assert_eq!(libc::WEXITSTATUS(status), 0, "failed checks (bits)");
    }
}
