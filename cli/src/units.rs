//! Parsing of human sizes and durations on the command line.

/// Parses a byte size: `1048576`, `512KiB`, `64MiB`, `1GiB` (also `K`, `M`,
/// `G`, `KB`, `MB`, `GB`, all binary multiples).
pub(crate) fn parse_bytes(text: &str) -> Result<usize, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (digits, unit) = text.split_at(split);
    let number: usize = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a size like 64MiB"))?;
    let shift = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 0,
        "k" | "kb" | "kib" => 10,
        "m" | "mb" | "mib" => 20,
        "g" | "gb" | "gib" => 30,
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB or GiB)")),
    };
    number
        .checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// [`parse_bytes`] as a `u64`, for quotas.
pub(crate) fn parse_byte_count(text: &str) -> Result<u64, String> {
    parse_bytes(text).map(|bytes| bytes as u64)
}

/// Parses a memory limit into whole MiB: `64MiB`, `1GiB`.
pub fn parse_memory_mb(text: &str) -> Result<u32, String> {
    let bytes = parse_bytes(text)?;
    if bytes == 0 || bytes % (1 << 20) != 0 {
        return Err(format!("{text:?} must be a positive whole number of MiB"));
    }
    u32::try_from(bytes >> 20).map_err(|_| format!("{text:?} is too large"))
}

/// Parses a duration into milliseconds: `2s`, `500ms`, `1m`.
pub fn parse_duration_ms(text: &str) -> Result<u64, String> {
    let duration = humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e}"))?;
    let ms = u64::try_from(duration.as_millis()).map_err(|_| format!("{text:?} is too long"))?;
    if ms == 0 {
        return Err(format!("{text:?} must be at least 1ms"));
    }
    Ok(ms)
}

/// A wait such as `500ms` or `2s`; `0` (or `0s`) is no wait.
pub(crate) fn parse_wait(text: &str) -> Result<std::time::Duration, String> {
    if text == "0" {
        return Ok(std::time::Duration::ZERO);
    }
    humantime::parse_duration(text).map_err(|e| format!("{text:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_bytes("10"), Ok(10));
        assert_eq!(parse_bytes("64MiB"), Ok(64 << 20));
        assert_eq!(parse_bytes("2k"), Ok(2048));
        assert!(parse_bytes("12parsecs").is_err());
        assert!(parse_bytes("MiB").is_err());
    }

    #[test]
    fn memory_must_be_whole_mib() {
        assert_eq!(parse_memory_mb("64MiB"), Ok(64));
        assert_eq!(parse_memory_mb("1GiB"), Ok(1024));
        assert!(parse_memory_mb("1000").is_err());
        assert!(parse_memory_mb("0MiB").is_err());
    }

    #[test]
    fn durations_parse_to_ms() {
        assert_eq!(parse_duration_ms("2s"), Ok(2000));
        assert_eq!(parse_duration_ms("500ms"), Ok(500));
        assert!(parse_duration_ms("0s").is_err());
        assert!(parse_duration_ms("soon").is_err());
    }

    #[test]
    fn a_wait_may_be_zero() {
        assert_eq!(parse_wait("0"), Ok(std::time::Duration::ZERO));
        assert_eq!(parse_wait("0s"), Ok(std::time::Duration::ZERO));
        assert_eq!(
            parse_wait("250ms"),
            Ok(std::time::Duration::from_millis(250))
        );
        assert!(parse_wait("soon").is_err());
    }
}
