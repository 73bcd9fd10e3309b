//! What Linux says about the machine and this process: per-core CPU time
//! (`/proc/stat`), this process's CPU time (`/proc/self/stat`) and resident
//! memory (`/proc/self/statm`).

use std::time::Duration;

/// One core's CPU time so far, in clock ticks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct CoreTicks {
    /// Ticks it was busy (everything but idle and iowait).
    pub busy: u64,
    /// All its ticks.
    pub total: u64,
}

/// Every core's ticks, in core order (`cpu0`, `cpu1`, ...), from the text
/// of `/proc/stat`.
pub(crate) fn parse_core_ticks(stat: &str) -> Vec<CoreTicks> {
    stat.lines()
        .filter(|line| {
            line.strip_prefix("cpu")
                .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        })
        .map(|line| {
            let fields: Vec<u64> = line
                .split_ascii_whitespace()
                .skip(1)
                .map(|field| field.parse().unwrap_or(0))
                .collect();
            let total: u64 = fields.iter().take(8).sum();
            // idle and iowait.
            let idle = fields.get(3).copied().unwrap_or(0) + fields.get(4).copied().unwrap_or(0);
            CoreTicks {
                busy: total.saturating_sub(idle),
                total,
            }
        })
        .collect()
}

/// Every core's ticks now; empty where `/proc/stat` cannot be read.
pub(crate) fn core_ticks() -> Vec<CoreTicks> {
    std::fs::read_to_string("/proc/stat").map_or_else(|_| Vec::new(), |s| parse_core_ticks(&s))
}

/// Each core's busy share between two readings, 0 to 1.
pub(crate) fn busy_shares(before: &[CoreTicks], after: &[CoreTicks]) -> Vec<f64> {
    before
        .iter()
        .zip(after)
        .map(|(b, a)| {
            let total = a.total.saturating_sub(b.total);
            if total == 0 {
                0.0
            } else {
                a.busy.saturating_sub(b.busy) as f64 / total as f64
            }
        })
        .collect()
}

/// This process's user plus system time, from the text of
/// `/proc/self/stat`, with `ticks_per_second` clock ticks a second.
pub(crate) fn parse_process_cpu(stat: &str, ticks_per_second: u64) -> Option<Duration> {
    // The command name (field 2) may hold spaces and parentheses: the
    // fields after it start past its last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_ascii_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line; `rest`
    // starts at field 3.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = utime + stime;
    Some(Duration::from_nanos(
        ticks.saturating_mul(1_000_000_000) / ticks_per_second.max(1),
    ))
}

/// This process's CPU time so far.
pub(crate) fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    parse_process_cpu(&stat, ticks_per_second())
}

/// This process's resident memory in bytes (`/proc/self/statm`).
pub(crate) fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_ascii_whitespace().nth(1)?.parse().ok()?;
    Some(pages * crate::resident::page_size() as u64)
}

fn ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(ticks).unwrap_or(100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_core_ticks_skip_the_total_line() {
        let stat = "cpu  10 0 10 80 0 0 0 0 0 0\n\
                    cpu0 5 0 5 30 10 0 0 0 0 0\n\
                    cpu1 5 0 5 50 0 0 0 0 0 0\n\
                    intr 1 2 3\n";
        let cores = parse_core_ticks(stat);
        assert_eq!(
            cores,
            vec![
                CoreTicks {
                    busy: 10,
                    total: 50
                },
                CoreTicks {
                    busy: 10,
                    total: 60
                }
            ]
        );
        let later = vec![
            CoreTicks {
                busy: 60,
                total: 150,
            },
            CoreTicks {
                busy: 10,
                total: 160,
            },
        ];
        assert_eq!(busy_shares(&cores, &later), vec![0.5, 0.0]);
    }

    #[test]
    fn process_cpu_reads_past_a_command_name_with_spaces() {
        let stat = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 8 0";
        assert_eq!(
            parse_process_cpu(stat, 100),
            Some(Duration::from_millis(3_000))
        );
        assert_eq!(parse_process_cpu("garbage", 100), None);
    }

    #[test]
    fn this_process_has_memory_and_cpu_time() {
        assert!(resident_bytes().unwrap() > 1 << 20);
        assert!(process_cpu().is_some());
        assert!(!core_ticks().is_empty());
    }
}
