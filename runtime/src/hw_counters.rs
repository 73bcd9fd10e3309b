//! Hardware counters per invocation (`faasrt serve --hw-counters`): CPU
//! cycles, instructions and last-level-cache misses, counted in user space
//! only (`exclude_kernel`, `exclude_hv`) by `perf_event_open(2)` as one
//! group, so the three are scheduled on the PMU together.
//!
//! - A native function's group is opened on its process right after its
//!   spawn, with `inherit` (the processes it forks count too), and read
//!   once it has exited. What it ran after `exec` before the group was
//!   opened (microseconds), and any process it forked meanwhile, is not
//!   counted.
//! - A wasm function runs inside its future's polls on whichever thread
//!   polls it, so each such thread opens one group on itself, once, kept
//!   counting; the group is read before and after every poll of the guest
//!   (two `read(2)`s a poll) and the differences are summed. They count
//!   the thread's user-space work while it polled the guest: the guest's
//!   code and the host functions it called (WASI, pipes).
//!
//! Where the kernel refuses (no PMU in a VM: `ENOENT`; `perf_event_paranoid`
//! or a seccomp filter: `EACCES`/`EPERM`; no `perf_event_open`: `ENOSYS`)
//! the counts are absent, and [`probe`] says why, once, for `faasrt
//! doctor`. When the PMU had to share its counters with other groups, a
//! count is scaled by the time its group was enabled over the time it ran,
//! as `perf stat` does.

use std::cell::OnceCell;
use std::io;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::sync::OnceLock;

/// What one invocation's hardware counters counted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HwCounts {
    /// CPU cycles (`PERF_COUNT_HW_CPU_CYCLES`).
    pub cycles: u64,
    /// Instructions retired (`PERF_COUNT_HW_INSTRUCTIONS`).
    pub instructions: u64,
    /// Cache misses, usually of the last-level cache
    /// (`PERF_COUNT_HW_CACHE_MISSES`).
    pub llc_misses: u64,
}

/// Why hardware counters cannot be used here.
#[derive(Debug, thiserror::Error)]
#[error("cannot count {event}: {explanation}")]
pub struct HwCountersError {
    /// The event the kernel refused.
    pub event: &'static str,
    /// What the error means, in the operator's words.
    pub explanation: &'static str,
    /// The kernel's answer.
    #[source]
    pub source: io::Error,
}

/// One counter: a perf event's type and config.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Event {
    kind: u32,
    config: u64,
    name: &'static str,
}

const PERF_TYPE_HARDWARE: u32 = 0;
const PERF_COUNT_HW_CPU_CYCLES: u64 = 0;
const PERF_COUNT_HW_INSTRUCTIONS: u64 = 1;
const PERF_COUNT_HW_CACHE_MISSES: u64 = 3;

/// The group an invocation is counted with: cycles, instructions, LLC
/// misses, in [`HwCounts`]' order.
pub(crate) const HARDWARE: [Event; 3] = [
    Event {
        kind: PERF_TYPE_HARDWARE,
        config: PERF_COUNT_HW_CPU_CYCLES,
        name: "cycles",
    },
    Event {
        kind: PERF_TYPE_HARDWARE,
        config: PERF_COUNT_HW_INSTRUCTIONS,
        name: "instructions",
    },
    Event {
        kind: PERF_TYPE_HARDWARE,
        config: PERF_COUNT_HW_CACHE_MISSES,
        name: "llc-misses",
    },
];

/// What a group counts.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    /// The calling thread, from now on.
    CallingThread,
    /// Process `pid` and the processes it starts from now on (`inherit`).
    Process(u32),
}

/// `struct perf_event_attr` up to `PERF_ATTR_SIZE_VER0` (64 bytes), which
/// every kernel with perf accepts; the rest reads as zero.
#[repr(C)]
#[derive(Default)]
struct PerfEventAttr {
    kind: u32,
    size: u32,
    config: u64,
    sample_period: u64,
    sample_type: u64,
    read_format: u64,
    /// `disabled`, `inherit`, `pinned`, ... as bits from bit 0.
    flags: u64,
    wakeup_events: u32,
    bp_type: u32,
    config1: u64,
}

const FLAG_INHERIT: u64 = 1 << 1;
const FLAG_EXCLUDE_KERNEL: u64 = 1 << 5;
const FLAG_EXCLUDE_HV: u64 = 1 << 6;
const FORMAT_TOTAL_TIME_ENABLED: u64 = 1 << 0;
const FORMAT_TOTAL_TIME_RUNNING: u64 = 1 << 1;
const FORMAT_GROUP: u64 = 1 << 3;
const PERF_FLAG_FD_CLOEXEC: libc::c_ulong = 1 << 3;

/// A counting group of three events.
pub(crate) struct CounterGroup {
    /// The leader first.
    fds: Vec<OwnedFd>,
    /// Read as one group (`PERF_FORMAT_GROUP`, one `read`), or event by
    /// event: the kernel refuses group reads of inherited counters.
    grouped: bool,
}

/// Three counts and the time their group was enabled and running.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Reading {
    values: [u64; 3],
    enabled_ns: u64,
    running_ns: u64,
}

impl Reading {
    /// What was counted from `earlier` to this reading.
    pub(crate) fn since(self, earlier: Reading) -> Reading {
        Reading {
            values: std::array::from_fn(|i| self.values[i].saturating_sub(earlier.values[i])),
            enabled_ns: self.enabled_ns.saturating_sub(earlier.enabled_ns),
            running_ns: self.running_ns.saturating_sub(earlier.running_ns),
        }
    }

    /// Adds `other` to this one.
    pub(crate) fn add(&mut self, other: Reading) {
        for (total, value) in self.values.iter_mut().zip(other.values) {
            *total = total.saturating_add(value);
        }
        self.enabled_ns = self.enabled_ns.saturating_add(other.enabled_ns);
        self.running_ns = self.running_ns.saturating_add(other.running_ns);
    }

    /// The counts, scaled when the group ran for only part of the time it
    /// was enabled; `None` when it was enabled but never ran.
    pub(crate) fn scaled(self) -> Option<[u64; 3]> {
        if self.running_ns >= self.enabled_ns {
            return Some(self.values);
        }
        if self.running_ns == 0 {
            return None;
        }
        Some(self.values.map(|value| {
            let scaled =
                u128::from(value) * u128::from(self.enabled_ns) / u128::from(self.running_ns);
            u64::try_from(scaled).unwrap_or(u64::MAX)
        }))
    }

    /// As [`HwCounts`], for a group opened with [`HARDWARE`].
    pub(crate) fn counts(self) -> Option<HwCounts> {
        self.scaled()
            .map(|[cycles, instructions, llc_misses]| HwCounts {
                cycles,
                instructions,
                llc_misses,
            })
    }
}

impl CounterGroup {
    /// Opens `events` as one group counting `target`, user space only,
    /// counting from now on.
    ///
    /// # Errors
    /// The kernel refused one of the events ([`HwCountersError`] says which
    /// and why).
    pub(crate) fn open(events: &[Event; 3], target: Target) -> Result<Self, HwCountersError> {
        let (pid, inherit) = match target {
            Target::CallingThread => (0, false),
            Target::Process(pid) => (pid as libc::pid_t, true),
        };
        let mut fds: Vec<OwnedFd> = Vec::with_capacity(events.len());
        for event in events {
            let mut attr = PerfEventAttr {
                kind: event.kind,
                size: std::mem::size_of::<PerfEventAttr>() as u32,
                config: event.config,
                read_format: FORMAT_TOTAL_TIME_ENABLED | FORMAT_TOTAL_TIME_RUNNING,
                flags: FLAG_EXCLUDE_KERNEL | FLAG_EXCLUDE_HV,
                ..PerfEventAttr::default()
            };
            if inherit {
                attr.flags |= FLAG_INHERIT;
            } else {
                attr.read_format |= FORMAT_GROUP;
            }
            let group = fds.first().map_or(-1, |leader| leader.as_raw_fd());
            // SAFETY: perf_event_open takes a pointer to an attr of the
            // size its `size` field says, valid for reads during the call,
            // and plain integers; it returns a new descriptor or -1.
            let fd = unsafe {
                libc::syscall(
                    libc::SYS_perf_event_open,
                    &attr as *const PerfEventAttr,
                    pid,
                    -1 as libc::c_int,
                    group,
                    PERF_FLAG_FD_CLOEXEC,
                )
            };
            if fd < 0 {
                let source = io::Error::last_os_error();
                return Err(HwCountersError {
                    event: event.name,
                    explanation: explain(&source),
                    source,
                });
            }
            // SAFETY: the kernel returned a new descriptor that nothing
            // else owns.
            fds.push(unsafe { OwnedFd::from_raw_fd(fd as i32) });
        }
        Ok(CounterGroup {
            fds,
            grouped: !inherit,
        })
    }

    /// What the group has counted so far.
    ///
    /// # Errors
    /// A `read` failed.
    pub(crate) fn read(&self) -> io::Result<Reading> {
        if self.grouped {
            // nr, time_enabled, time_running, then one value per event.
            let words = read_words::<6>(&self.fds[0])?;
            return Ok(Reading {
                values: [words[3], words[4], words[5]],
                enabled_ns: words[1],
                running_ns: words[2],
            });
        }
        let mut reading = Reading::default();
        for (i, fd) in self.fds.iter().enumerate() {
            // value, time_enabled, time_running.
            let words = read_words::<3>(fd)?;
            reading.values[i] = words[0];
            if i == 0 {
                reading.enabled_ns = words[1];
                reading.running_ns = words[2];
            }
        }
        Ok(reading)
    }
}

/// The first `N` (at most 6) words of a counter's `read`, without
/// allocating: this is on the path of every poll of a counted guest.
fn read_words<const N: usize>(fd: &OwnedFd) -> io::Result<[u64; N]> {
    let mut bytes = [0u8; 48];
    let bytes = &mut bytes[..N * 8];
    let n = rustix::io::read(fd.as_fd(), &mut *bytes)?;
    if n != bytes.len() {
        return Err(io::Error::other(format!(
            "a counter read {n} bytes, {} expected",
            bytes.len()
        )));
    }
    Ok(std::array::from_fn(|i| {
        u64::from_ne_bytes(bytes[i * 8..i * 8 + 8].try_into().expect("8 bytes"))
    }))
}

/// What the kernel's refusal means.
fn explain(error: &io::Error) -> &'static str {
    match error.raw_os_error() {
        Some(libc::ENOENT) | Some(libc::EOPNOTSUPP) => {
            "this machine exposes no such hardware event (no PMU, as in many virtual machines)"
        }
        Some(libc::EACCES) | Some(libc::EPERM) => {
            "not permitted (kernel.perf_event_paranoid, a seccomp filter or a container's policy)"
        }
        Some(libc::ENOSYS) => "this kernel has no perf_event_open",
        Some(libc::EMFILE) | Some(libc::ENFILE) => "out of file descriptors",
        _ => "the kernel refused the event",
    }
}

/// Whether this machine lets faasrt count [`HARDWARE`], probed once per
/// process (on first call: `Runtime::open` calls it before any seccomp
/// filter is installed).
///
/// # Errors
/// Why not, as the kernel said it for the first event it refused.
pub(crate) fn probe() -> Result<(), &'static HwCountersError> {
    static PROBED: OnceLock<Result<(), HwCountersError>> = OnceLock::new();
    PROBED
        .get_or_init(|| CounterGroup::open(&HARDWARE, Target::CallingThread).map(drop))
        .as_ref()
        .copied()
}

thread_local! {
    /// This thread's [`HARDWARE`] group, counting since it was opened;
    /// `None` when the kernel refused it on this thread.
    static THREAD_GROUP: OnceCell<Option<CounterGroup>> = const { OnceCell::new() };
}

/// What the calling thread's [`HARDWARE`] group has counted so far
/// (opening it on first use); `None` when it cannot be opened or read.
pub(crate) fn thread_reading() -> Option<Reading> {
    THREAD_GROUP.with(|group| {
        group
            .get_or_init(|| CounterGroup::open(&HARDWARE, Target::CallingThread).ok())
            .as_ref()
            .and_then(|group| group.read().ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const PERF_TYPE_SOFTWARE: u32 = 1;

    /// Software events, which a kernel with perf offers without a PMU:
    /// task clock (ns), page faults, context switches.
    const SOFTWARE: [Event; 3] = [
        Event {
            kind: PERF_TYPE_SOFTWARE,
            config: 1,
            name: "task-clock",
        },
        Event {
            kind: PERF_TYPE_SOFTWARE,
            config: 2,
            name: "page-faults",
        },
        Event {
            kind: PERF_TYPE_SOFTWARE,
            config: 3,
            name: "context-switches",
        },
    ];

    /// Software events may be refused too (a container without perf):
    /// then there is nothing these tests can check.
    fn software_counting() -> bool {
        match CounterGroup::open(&SOFTWARE, Target::CallingThread) {
            Ok(_) => true,
            Err(error) => {
                eprintln!("skipped: {error}");
                false
            }
        }
    }

    /// This thread's CPU time.
    fn thread_cpu() -> std::time::Duration {
        let mut now = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime(2) writes one timespec, a valid local.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
        std::time::Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
    }

    /// Keeps this thread busy for `millis` of its own CPU time (however
    /// long other threads hold the cores meanwhile).
    fn spin(millis: u64) {
        let until = thread_cpu() + std::time::Duration::from_millis(millis);
        while thread_cpu() < until {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn a_thread_group_counts_the_work_between_two_readings() {
        if !software_counting() {
            return;
        }
        let group = CounterGroup::open(&SOFTWARE, Target::CallingThread).expect("opens");
        let before = group.read().expect("reads");
        spin(20);
        let counted = group.read().expect("reads").since(before);
        let [task_clock_ns, _, _] = counted.scaled().expect("ran");
        assert!(task_clock_ns >= 15_000_000, "{counted:?}");
        assert!(counted.enabled_ns >= 15_000_000, "{counted:?}");
    }

    #[test]
    fn a_process_group_counts_the_child_and_what_it_forks_after_its_exit() {
        if !software_counting() {
            return;
        }
        // A subshell: the work is in a process the child forks, once it
        // has read a line (the group is open by then: a process forked
        // before the group opened would not count).
        let mut child = std::process::Command::new("sh")
            .args([
                "-c",
                "read go; (i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done)",
            ])
            .stdin(std::process::Stdio::piped())
            .spawn()
            .expect("sh");
        let group = CounterGroup::open(&SOFTWARE, Target::Process(child.id())).expect("opens");
        let mut go = child.stdin.take().expect("piped");
        std::io::Write::write_all(&mut go, b"go\n").expect("writes");
        drop(go);
        assert!(child.wait().expect("waits").success());
        let [task_clock_ns, page_faults, _] = group.read().expect("reads").scaled().expect("ran");
        assert!(task_clock_ns >= 1_000_000, "{task_clock_ns} ns");
        assert!(page_faults > 0);
    }

    #[test]
    fn readings_add_up_and_scale_by_the_time_the_group_ran() {
        let reading = |values, enabled_ns, running_ns| Reading {
            values,
            enabled_ns,
            running_ns,
        };
        let mut total = Reading::default();
        total.add(reading([10, 20, 1], 100, 100));
        total.add(reading([10, 20, 1], 100, 0));
        // Enabled 200 ns, ran 100: every count doubles.
        assert_eq!(total.scaled(), Some([40, 80, 4]));
        assert_eq!(reading([5, 5, 5], 10, 0).scaled(), None);
        assert_eq!(
            reading([7, 9, 3], 50, 50).since(reading([2, 4, 3], 20, 20)),
            reading([5, 5, 0], 30, 30)
        );
        assert_eq!(
            reading([1, 2, 3], 5, 5).counts(),
            Some(HwCounts {
                cycles: 1,
                instructions: 2,
                llc_misses: 3
            })
        );
    }

    #[test]
    fn a_refused_event_is_an_error_that_names_it_and_says_why() {
        // No PMU has event type 0x7fff_ffff: the kernel refuses it.
        let bogus = Event {
            kind: 0x7fff_ffff,
            config: 0,
            name: "bogus",
        };
        let error = CounterGroup::open(&[bogus; 3], Target::CallingThread)
            .err()
            .expect("refused");
        assert_eq!(error.event, "bogus");
        assert!(
            error.to_string().starts_with("cannot count bogus: "),
            "{error}"
        );
    }

    #[test]
    fn where_hardware_counting_is_refused_threads_report_no_reading() {
        match probe() {
            Ok(()) => assert!(thread_reading().is_some()),
            Err(error) => {
                assert!(thread_reading().is_none());
                assert!(!error.explanation.is_empty());
            }
        }
    }
}
