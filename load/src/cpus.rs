//! Pinning the injector to chosen CPUs, so that it and the server under
//! test do not share a core (the injector's sending threads poll the clock
//! near each send and keep their core busy).

/// A CPU list that cannot be used.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum CpuError {
    /// The list does not parse.
    #[error("{0:?} is not a CPU list (like 0 or 0,2 or 0-3)")]
    BadList(String),
    /// The kernel refused the affinity.
    #[error("cannot pin to CPUs {cpus:?}: {reason}")]
    Refused {
        /// The CPUs asked for.
        cpus: Vec<usize>,
        /// What the kernel said.
        reason: String,
    },
}

/// Parses a CPU list: numbers and ranges separated by commas (`0,2-3`).
///
/// # Errors
/// [`CpuError::BadList`].
pub fn parse_cpu_list(text: &str) -> Result<Vec<usize>, CpuError> {
    let bad = || CpuError::BadList(text.to_owned());
    let mut cpus = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to): (usize, usize) = (
                    from.parse().map_err(|_| bad())?,
                    to.parse().map_err(|_| bad())?,
                );
                if from > to || to >= libc::CPU_SETSIZE as usize {
                    return Err(bad());
                }
                cpus.extend(from..=to);
            }
            None => {
                let cpu: usize = part.parse().map_err(|_| bad())?;
                if cpu >= libc::CPU_SETSIZE as usize {
                    return Err(bad());
                }
                cpus.push(cpu);
            }
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Ok(cpus)
}

/// Pins the calling thread, and every thread it starts from now on, to
/// `cpus`.
///
/// # Errors
/// [`CpuError::Refused`] (a CPU that does not exist or is not allowed).
pub fn pin_to(cpus: &[usize]) -> Result<(), CpuError> {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET writes within
    // it for indexes below CPU_SETSIZE, which parse_cpu_list ensures and
    // is checked again here.
    let result = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in cpus.iter().filter(|&&c| c < libc::CPU_SETSIZE as usize) {
            libc::CPU_SET(cpu, &mut set);
        }
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if result == 0 {
        Ok(())
    } else {
        Err(CpuError::Refused {
            cpus: cpus.to_vec(),
            reason: std::io::Error::last_os_error().to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lists_take_numbers_and_ranges() {
        assert_eq!(parse_cpu_list("0").unwrap(), vec![0]);
        assert_eq!(parse_cpu_list("3,0-2,2").unwrap(), vec![0, 1, 2, 3]);
        for bad in ["", "a", "2-1", "1-", "-1", "99999"] {
            assert!(parse_cpu_list(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_cpu_that_does_not_exist_is_refused() {
        let error = std::thread::spawn(|| pin_to(&[1000]))
            .join()
            .unwrap()
            .unwrap_err();
        assert!(matches!(error, CpuError::Refused { .. }), "{error}");
    }
}
