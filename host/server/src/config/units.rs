//! Durations and sizes as operators write them: `1s`, `250ms`, `5m`, `64MiB`.
//!
//! One parser for the flags, the environment and weft.toml (see `values`), so all accept
//! exactly the same forms and refuse the same mistakes with the same words.

use std::time::Duration;

const DURATION_FORMS: &str = "a number with a unit: ms, s, m or h (e.g. 250ms, 1s, 5m)";
const SIZE_FORMS: &str = "a number with a unit: B, KiB, MiB or GiB (e.g. 64MiB, 1GiB)";

fn split(text: &str) -> Option<(u64, &str)> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let n = text[..digits].parse().ok()?;
    Some((n, text[digits..].trim()))
}

/// Parses a positive duration (`0s` is refused: a zero limit stops everything).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("'{text}' is not a duration: use {DURATION_FORMS}");
    let (n, unit) = split(text).ok_or_else(bad)?;
    let ms = match unit {
        "ms" => Some(n),
        "s" => n.checked_mul(1000),
        "m" | "min" => n.checked_mul(60_000),
        "h" => n.checked_mul(3_600_000),
        _ => None,
    }
    .ok_or_else(bad)?;
    if ms == 0 {
        return Err(format!("'{text}' is zero; a limit must be at least 1ms"));
    }
    Ok(Duration::from_millis(ms))
}

/// Parses a positive size in bytes, at most `max`.
pub fn parse_size(text: &str, max: u64) -> Result<u64, String> {
    let bad = || format!("'{text}' is not a size: use {SIZE_FORMS}");
    let (n, unit) = split(text).ok_or_else(bad)?;
    let scale: u64 = match unit {
        "B" => 1,
        "KiB" | "K" | "KB" => 1 << 10,
        "MiB" | "M" | "MB" => 1 << 20,
        "GiB" | "G" | "GB" => 1 << 30,
        _ => return Err(bad()),
    };
    let bytes = n.checked_mul(scale).ok_or_else(bad)?;
    if bytes == 0 {
        return Err(format!("'{text}' is zero; a size limit must be positive"));
    }
    if bytes > max {
        return Err(format!(
            "'{text}' is more than the most allowed, {}",
            weft_runtime::format_bytes(max)
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration(" 2h "), Ok(Duration::from_secs(7200)));
        for bad in [
            "",
            "1",
            "s",
            "1.5s",
            "-1s",
            "1 fortnight",
            "99999999999999999999h",
        ] {
            let e = parse_duration(bad).unwrap_err();
            assert!(e.contains("not a duration"), "{bad}: {e}");
        }
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("64MiB", 4 << 30), Ok(64 << 20));
        assert_eq!(parse_size("1GiB", 4 << 30), Ok(1 << 30));
        assert_eq!(parse_size("512KiB", 4 << 30), Ok(512 << 10));
        assert!(parse_size("8GiB", 4 << 30).unwrap_err().contains("4GiB"));
        assert!(
            parse_size("64", 4 << 30)
                .unwrap_err()
                .contains("not a size")
        );
        assert!(parse_size("0MiB", 4 << 30).unwrap_err().contains("zero"));
    }
}
