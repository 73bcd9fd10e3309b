//! The seccomp policy of each thread role, as data: one table of
//! [`SyscallRule`]s per role (the syscall as a typed [`Sysno`], the
//! arguments it is refused for, why), in the manner of Firecracker's
//! per-role JSON filters. `seccomp.rs` compiles a table to BPF with the
//! role's action; nothing else here knows about BPF.

pub use syscalls::Sysno;

/// The descriptor a native child's executable sits at when it is started:
/// above the child's `RLIMIT_NOFILE`, so the program, once running, can never
/// put another file there (open and dup only give descriptors below it).
pub const EXEC_FD: i32 = 1000;

/// When a rule applies, by one argument of the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgCondition {
    /// `args[arg] & mask == value`.
    MaskedEq {
        /// The argument's index (0-5).
        arg: u8,
        /// The bits looked at.
        mask: u64,
        /// What they must be.
        value: u64,
    },
    /// `args[arg] != value`.
    Ne {
        /// The argument's index (0-5).
        arg: u8,
        /// The value it must not have.
        value: u64,
    },
}

/// A syscall a role refuses, for which arguments, and why. A syscall may
/// have several rules in one table: any that matches refuses the call.
#[derive(Debug, Clone, Copy)]
pub struct SyscallRule {
    /// The syscall.
    pub syscall: Sysno,
    /// The arguments it is refused for; `None`: always.
    pub when: Option<ArgCondition>,
    /// Why it is refused.
    pub reason: &'static str,
}

impl SyscallRule {
    /// Always refused.
    const fn always(syscall: Sysno, reason: &'static str) -> Self {
        SyscallRule {
            syscall,
            when: None,
            reason,
        }
    }

    /// Refused when `condition` holds.
    const fn when(syscall: Sysno, condition: ArgCondition, reason: &'static str) -> Self {
        SyscallRule {
            syscall,
            when: Some(condition),
            reason,
        }
    }

    /// The syscall's name, for messages.
    pub fn name(&self) -> &'static str {
        self.syscall.name()
    }

    /// The syscall's number on this architecture.
    pub fn number(&self) -> i64 {
        self.syscall.id() as i64
    }
}

/// `PROT_EXEC` in the protection argument (`args[2]`) of mmap and mprotect.
const PROT_EXEC_ARG: ArgCondition = ArgCondition::MaskedEq {
    arg: 2,
    mask: libc::PROT_EXEC as u64,
    value: libc::PROT_EXEC as u64,
};

/// What a native function may not do: no network, no looking into or
/// steering other processes, no namespace or mount changes, nothing that
/// reaches into the kernel's configuration, and no exec but faasrt's own
/// start of the program (`execve` always, `execveat` unless it is on
/// [`crate::EXEC_FD`] with exactly `AT_EMPTY_PATH`). Each is refused with `EPERM`,
/// so the function sees an error it can report, and the host stays intact.
pub const NATIVE_CHILD_DENIED: &[SyscallRule] = &[
    SyscallRule::always(
        Sysno::socket,
        "no network: a function talks through faasin and faasout only",
    ),
    SyscallRule::always(
        Sysno::socketpair,
        "no sockets of any kind, not even local ones",
    ),
    SyscallRule::always(Sysno::ptrace, "no tracing or inspecting other processes"),
    SyscallRule::always(
        Sysno::process_vm_readv,
        "no reading another process's memory",
    ),
    SyscallRule::always(
        Sysno::process_vm_writev,
        "no writing another process's memory",
    ),
    SyscallRule::always(Sysno::mount, "no changes to the mount table"),
    SyscallRule::always(Sysno::umount2, "no changes to the mount table"),
    SyscallRule::always(Sysno::pivot_root, "no changing the root filesystem"),
    SyscallRule::always(Sysno::chroot, "no changing the root directory"),
    SyscallRule::always(
        Sysno::unshare,
        "no new namespaces (they can widen what a process may do)",
    ),
    SyscallRule::always(Sysno::setns, "no joining other namespaces"),
    SyscallRule::always(Sysno::init_module, "no kernel modules"),
    SyscallRule::always(Sysno::finit_module, "no kernel modules"),
    SyscallRule::always(Sysno::delete_module, "no kernel modules"),
    SyscallRule::always(Sysno::kexec_load, "no loading another kernel"),
    SyscallRule::always(Sysno::reboot, "no rebooting the host"),
    SyscallRule::always(Sysno::swapon, "no swap configuration"),
    SyscallRule::always(Sysno::swapoff, "no swap configuration"),
    SyscallRule::always(
        Sysno::bpf,
        "no BPF programs (a common kernel attack surface)",
    ),
    SyscallRule::always(
        Sysno::perf_event_open,
        "no performance counters (side channels, attack surface)",
    ),
    SyscallRule::always(Sysno::keyctl, "no kernel keyrings"),
    SyscallRule::always(Sysno::add_key, "no kernel keyrings"),
    SyscallRule::always(Sysno::request_key, "no kernel keyrings"),
    SyscallRule::always(
        Sysno::userfaultfd,
        "no userfaultfd (used to widen kernel race windows)",
    ),
    SyscallRule::always(
        Sysno::setsid,
        "no leaving the process group, which is killed as a whole at the end",
    ),
    SyscallRule::always(
        Sysno::setpgid,
        "no moving to another process group (faasrt set it before start)",
    ),
    SyscallRule::always(
        Sysno::execve,
        "no exec: the program was started from its descriptor, and starts nothing else",
    ),
    SyscallRule::when(
        Sysno::execveat,
        ArgCondition::Ne {
            arg: 0,
            value: EXEC_FD as u64,
        },
        "exec only from the descriptor faasrt starts the program from",
    ),
    SyscallRule::when(
        Sysno::execveat,
        ArgCondition::Ne {
            arg: 4,
            value: libc::AT_EMPTY_PATH as u64,
        },
        "exec only of that descriptor itself (AT_EMPTY_PATH)",
    ),
];

/// What the runtime's own threads (HTTP and guest execution) may not do
/// once start-up is over. They need the accepted connections, files,
/// threads and `fork`/`exec` (native functions), so the list is what no
/// part of a started faasrt uses: if one of these is ever called, something
/// in the process is not doing what faasrt does. Native children inherit
/// it, under their own stricter filter.
pub const RUNTIME_DENIED: &[SyscallRule] = &[
    SyscallRule::always(Sysno::ptrace, "faasrt never traces processes"),
    SyscallRule::always(
        Sysno::process_vm_readv,
        "faasrt never reads another process's memory",
    ),
    SyscallRule::always(
        Sysno::process_vm_writev,
        "faasrt never writes another process's memory",
    ),
    SyscallRule::always(Sysno::mount, "faasrt never mounts"),
    SyscallRule::always(Sysno::umount2, "faasrt never unmounts"),
    SyscallRule::always(
        Sysno::pivot_root,
        "faasrt never changes the root filesystem",
    ),
    SyscallRule::always(Sysno::chroot, "faasrt never changes its root directory"),
    SyscallRule::always(Sysno::unshare, "faasrt creates no namespaces"),
    SyscallRule::always(Sysno::setns, "faasrt joins no namespaces"),
    SyscallRule::always(Sysno::init_module, "no kernel modules"),
    SyscallRule::always(Sysno::finit_module, "no kernel modules"),
    SyscallRule::always(Sysno::delete_module, "no kernel modules"),
    SyscallRule::always(Sysno::kexec_load, "no loading another kernel"),
    SyscallRule::always(Sysno::reboot, "no rebooting the host"),
    SyscallRule::always(Sysno::swapon, "no swap configuration"),
    SyscallRule::always(Sysno::swapoff, "no swap configuration"),
    SyscallRule::always(Sysno::bpf, "faasrt loads no BPF programs"),
    SyscallRule::always(
        Sysno::perf_event_open,
        "faasrt reads no performance counters",
    ),
    SyscallRule::always(Sysno::keyctl, "faasrt uses no kernel keyrings"),
    SyscallRule::always(Sysno::add_key, "faasrt uses no kernel keyrings"),
    SyscallRule::always(Sysno::request_key, "faasrt uses no kernel keyrings"),
    SyscallRule::always(
        Sysno::userfaultfd,
        "faasrt's allocator does not use userfaultfd",
    ),
    SyscallRule::always(
        Sysno::socket,
        "after start-up faasrt opens no socket (its listener is bound): code that took over a thread cannot reach the network",
    ),
    SyscallRule::always(Sysno::connect, "faasrt makes no outgoing connection"),
    SyscallRule::always(
        Sysno::bind,
        "the listener is bound before the filter is installed",
    ),
    SyscallRule::always(
        Sysno::listen,
        "the listener listens before the filter is installed",
    ),
];

/// What a thread may not do once it runs guest code, on top of
/// [`RUNTIME_DENIED`] (the role of the threads that execute guests, which
/// are the server's async threads: a guest runs on the thread that took its
/// request). Compilation, pre-initialization, store writes and the spawning
/// of native functions all happen on the host threads (a pool whose threads
/// are only ever created by threads without this role: a thread inherits
/// its creator's filters), so these calls have no use here; refusing them
/// means code that took over a guest's thread can make no new executable
/// memory and start no program.
/// `clone3` answers `ENOSYS` so that thread creation falls back to `clone`,
/// whose flags the filter can see.
pub const GUEST_THREAD_DENIED: &[SyscallRule] = &[
    SyscallRule::when(
        Sysno::mmap,
        PROT_EXEC_ARG,
        "no new executable memory: code is compiled and mapped on the host threads",
    ),
    SyscallRule::when(Sysno::mprotect, PROT_EXEC_ARG, "no memory made executable"),
    SyscallRule::when(
        Sysno::pkey_mprotect,
        PROT_EXEC_ARG,
        "no memory made executable",
    ),
    SyscallRule::always(Sysno::execve, "a guest's thread starts no program"),
    SyscallRule::always(Sysno::execveat, "a guest's thread starts no program"),
    SyscallRule::always(
        Sysno::fork,
        "native functions are forked from the host threads",
    ),
    SyscallRule::always(
        Sysno::vfork,
        "native functions are forked from the host threads",
    ),
    SyscallRule::when(
        Sysno::clone,
        ArgCondition::MaskedEq {
            arg: 0,
            mask: libc::CLONE_THREAD as u64,
            value: 0,
        },
        "threads may be made (they inherit this role), processes not",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_reason_and_no_always_rule_is_listed_twice() {
        for table in [NATIVE_CHILD_DENIED, RUNTIME_DENIED, GUEST_THREAD_DENIED] {
            assert!(table.iter().all(|rule| !rule.reason.is_empty()));
            let mut always: Vec<_> = table
                .iter()
                .filter(|rule| rule.when.is_none())
                .map(SyscallRule::number)
                .collect();
            let count = always.len();
            always.sort();
            always.dedup();
            assert_eq!(always.len(), count, "no syscall listed twice");
        }
    }

    #[test]
    fn names_and_numbers_come_from_the_typed_syscall() {
        let socket = RUNTIME_DENIED
            .iter()
            .find(|rule| rule.syscall == Sysno::socket)
            .expect("socket is refused after start-up");
        assert_eq!(socket.name(), "socket");
        assert_eq!(socket.number(), libc::SYS_socket);
    }
}
