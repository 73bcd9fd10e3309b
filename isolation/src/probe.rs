//! The capability probe: which isolation mechanisms this machine offers.
//! It is run once at start and by `faasrt doctor`; nothing in faasrt assumes
//! a mechanism the probe did not find.

use std::path::Path;

/// One mechanism as the probe found it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Probed {
    /// Stable name: `seccomp`, `landlock`, `pkeys`, `cgroup-v2`, `user-namespaces`,
    /// `address-space`.
    pub name: &'static str,
    /// Whether the machine offers it.
    pub available: bool,
    /// What was found, or why it is missing, in words.
    pub detail: String,
}

/// Whether the environment variable `variable` is `1`: the machine is
/// declared to have the capability it names (`FAASRT_EXPECT_PKEYS=1`), so
/// that a test which would skip for lack of it fails instead. The one
/// definition; `faasrt_testkit::expected` calls it for the crates above.
pub fn capability_expected(variable: &str) -> bool {
    std::env::var_os(variable).is_some_and(|value| value == "1")
}

/// Probes every mechanism.
pub fn probe() -> Vec<Probed> {
    vec![
        seccomp(),
        landlock(),
        pkeys(),
        cgroup_v2(),
        user_namespaces(),
        address_space(),
    ]
}

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn seccomp() -> Probed {
    let actions = read("/proc/sys/kernel/seccomp/actions_avail");
    let (available, detail) = match actions {
        Some(actions) if actions.split_whitespace().any(|a| a == "errno") => (
            true,
            format!("seccomp filters supported (actions: {})", actions.trim()),
        ),
        Some(actions) => (
            false,
            format!(
                "seccomp lacks the errno action (actions: {})",
                actions.trim()
            ),
        ),
        None => (false, "the kernel has no seccomp filter support".to_owned()),
    };
    Probed {
        name: "seccomp",
        available,
        detail,
    }
}

fn landlock() -> Probed {
    let (available, detail) = match crate::landlock_abi() {
        Some(abi) => (true, format!("Landlock ABI {abi}")),
        None => (
            false,
            "the kernel has no Landlock (or it is disabled)".to_owned(),
        ),
    };
    Probed {
        name: "landlock",
        available,
        detail,
    }
}

fn cpu_flags() -> Vec<String> {
    read("/proc/cpuinfo")
        .and_then(|info| {
            info.lines()
                .find(|line| line.starts_with("flags"))
                .and_then(|line| line.split_once(':'))
                .map(|(_, flags)| flags.split_whitespace().map(str::to_owned).collect())
        })
        .unwrap_or_default()
}

fn pkeys() -> Probed {
    let flags = cpu_flags();
    let has = |flag: &str| flags.iter().any(|f| f == flag);
    let (available, detail) = if !has("pku") {
        (
            false,
            "the CPU has no memory protection keys (no pku flag)".to_owned(),
        )
    } else if !has("ospke") {
        (
            false,
            "the CPU has pku but the kernel did not enable it (no ospke flag)".to_owned(),
        )
    } else {
        // SAFETY: pkey_alloc(2) with no flags and no access rights; the key
        // is freed at once.
        let key = unsafe { libc::syscall(libc::SYS_pkey_alloc, 0, 0) };
        if key >= 0 {
            // SAFETY: frees the key just allocated.
            unsafe { libc::syscall(libc::SYS_pkey_free, key) };
            (true, "pku and ospke present; pkey_alloc works".to_owned())
        } else {
            (
                false,
                format!("pkey_alloc failed: {}", std::io::Error::last_os_error()),
            )
        }
    };
    Probed {
        name: "pkeys",
        available,
        detail,
    }
}

fn cgroup_v2() -> Probed {
    let unified = Path::new("/sys/fs/cgroup/cgroup.controllers").exists();
    let own = read("/proc/self/cgroup").and_then(|text| {
        text.lines()
            .find_map(|l| l.strip_prefix("0::").map(str::to_owned))
    });
    let (available, detail) = match (unified, own) {
        (false, _) => (false, "no cgroup v2 hierarchy at /sys/fs/cgroup".to_owned()),
        (true, None) => (false, "this process is not in a cgroup v2 group".to_owned()),
        (true, Some(group)) => {
            let dir = format!("/sys/fs/cgroup{group}");
            let writable = rustix::fs::access(
                format!("{dir}/cgroup.procs").as_str(),
                rustix::fs::Access::WRITE_OK,
            )
            .is_ok();
            let controllers = read(format!("{dir}/cgroup.controllers")).unwrap_or_default();
            if writable {
                (
                    true,
                    format!("{dir} is delegated (controllers: {})", controllers.trim()),
                )
            } else {
                (
                    false,
                    format!("{dir} is not writable by this process (not delegated)"),
                )
            }
        }
    };
    Probed {
        name: "cgroup-v2",
        available,
        detail,
    }
}

fn user_namespaces() -> Probed {
    let max = read("/proc/sys/user/max_user_namespaces").and_then(|t| t.trim().parse::<u64>().ok());
    let unprivileged = read("/proc/sys/kernel/unprivileged_userns_clone").map(|t| t.trim() == "1");
    let (available, detail) = match (max, unprivileged) {
        (Some(0), _) | (None, _) => (
            false,
            "user namespaces are disabled (max_user_namespaces is 0 or missing)".to_owned(),
        ),
        (Some(_), Some(false)) => (
            false,
            "unprivileged user namespaces are disabled (unprivileged_userns_clone=0)".to_owned(),
        ),
        (Some(max), _) => (true, format!("up to {max} user namespaces")),
    };
    Probed {
        name: "user-namespaces",
        available,
        detail,
    }
}

fn address_space() -> Probed {
    let limit = rustix::process::getrlimit(rustix::process::Resource::As).current;
    let overcommit = read("/proc/sys/vm/overcommit_memory").map(|t| t.trim().to_owned());
    let overcommit = overcommit.as_deref().unwrap_or("unknown");
    let (available, detail) = match limit {
        None => (
            true,
            format!("address space unlimited (vm.overcommit_memory={overcommit})"),
        ),
        Some(limit) => (
            limit >= 1 << 40,
            format!(
                "address space limited to {} GiB (the pooling allocator reserves several GiB per slot)",
                limit >> 30
            ),
        ),
    };
    Probed {
        name: "address-space",
        available,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mechanism_is_probed_once_with_a_detail() {
        let probed = probe();
        let names: Vec<_> = probed.iter().map(|p| p.name).collect();
        assert_eq!(
            names,
            [
                "seccomp",
                "landlock",
                "pkeys",
                "cgroup-v2",
                "user-namespaces",
                "address-space"
            ]
        );
        assert!(probed.iter().all(|p| !p.detail.is_empty()));
    }

    #[test]
    fn pkeys_agree_with_the_cpu_flags() {
        let flags = cpu_flags();
        let pkeys = pkeys();
        if !flags.iter().any(|f| f == "pku") {
            assert!(!pkeys.available);
            assert!(pkeys.detail.contains("no pku"), "{}", pkeys.detail);
        }
    }

    #[test]
    fn seccomp_is_found_where_filters_work() {
        // The native-child filter tests install filters on this machine, so
        // the probe must find seccomp here too.
        assert!(seccomp().available, "{}", seccomp().detail);
    }
}
