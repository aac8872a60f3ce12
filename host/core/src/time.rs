//! Timestamps: milliseconds since the Unix epoch, UTC.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A point in time with millisecond precision. History timestamps, timer due
/// times and the orchestration clock all use it, so replay compares exact integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The host's wall clock now.
    pub fn now() -> Timestamp {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Timestamp(d.as_millis() as u64)
    }

    /// Milliseconds since the epoch.
    pub fn millis(self) -> u64 {
        self.0
    }

    /// This time plus `d`, saturating.
    pub fn plus(self, d: Duration) -> Timestamp {
        Timestamp(self.0.saturating_add(d.as_millis() as u64))
    }

    /// Time from `self` until `later` (zero if `later` is earlier).
    pub fn until(self, later: Timestamp) -> Duration {
        Duration::from_millis(later.0.saturating_sub(self.0))
    }

    /// RFC 3339 with milliseconds, e.g. `2026-11-23T05:18:49.345Z`.
    pub fn to_rfc3339(self) -> String {
        let (y, mo, d, h, mi, s) = civil(self.0 / 1000);
        format!(
            "{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z",
            self.0 % 1000
        )
    }

    /// RFC 3339 at second precision, as Durable Functions shows `createdTime`.
    pub fn to_rfc3339_seconds(self) -> String {
        let (y, mo, d, h, mi, s) = civil(self.0 / 1000);
        format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fff][Z|±HH:MM]` or a bare date `YYYY-MM-DD` (UTC).
    pub fn parse_rfc3339(text: &str) -> Option<Timestamp> {
        let t = text.trim();
        let num = |s: &str| -> Option<i64> {
            if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            s.parse().ok()
        };
        let (date, rest) = t.split_at(t.find(['T', 't', ' ']).unwrap_or(t.len()));
        let mut dp = date.split('-');
        let (y, mo, d) = (num(dp.next()?)?, num(dp.next()?)?, num(dp.next()?)?);
        if dp.next().is_some() || !(1..=12).contains(&mo) || !(1..=31).contains(&d) {
            return None;
        }
        let mut secs = days_from_civil(y, mo as u32, d as u32) * 86_400;
        let mut millis = 0i64;
        if !rest.is_empty() {
            let rest = &rest[1..];
            let (clock, zone) = match rest.find(['Z', 'z', '+', '-']) {
                Some(i) => rest.split_at(i),
                None => (rest, ""),
            };
            let (hms, frac) = match clock.split_once('.') {
                Some((a, b)) => (a, Some(b)),
                None => (clock, None),
            };
            let mut cp = hms.split(':');
            let h = num(cp.next()?)?;
            let mi = num(cp.next()?)?;
            let s = match cp.next() {
                Some(s) => num(s)?,
                None => 0,
            };
            if cp.next().is_some() || h > 23 || mi > 59 || s > 60 {
                return None;
            }
            secs += h * 3600 + mi * 60 + s;
            if let Some(f) = frac {
                num(f)?;
                let digits: String = f.chars().chain("000".chars()).take(3).collect();
                millis = digits.parse().ok()?;
            }
            match zone {
                "" | "Z" | "z" => {}
                z => {
                    let sign = if z.starts_with('-') { -1 } else { 1 };
                    let (zh, zm) = z[1..].split_once(':')?;
                    secs -= sign * (num(zh)? * 3600 + num(zm)? * 60);
                }
            }
        }
        let total = secs.checked_mul(1000)?.checked_add(millis)?;
        // Times before 1970 are valid input; nothing is older than the epoch here.
        Some(Timestamp(u64::try_from(total).unwrap_or(0)))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

/// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil(secs: u64) -> (i64, u32, u32, u64, u64, u64) {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + if m <= 2 { 1 } else { 0 };
    (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_and_parses_round_trip() {
        let t = Timestamp(1_519_795_129_345);
        assert_eq!(t.to_rfc3339(), "2018-02-28T05:18:49.345Z");
        assert_eq!(t.to_rfc3339_seconds(), "2018-02-28T05:18:49Z");
        assert_eq!(
            Timestamp::parse_rfc3339("2018-02-28T05:18:49.345Z"),
            Some(t)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("2018-02-28T06:18:49.345+01:00"),
            Some(t)
        );
        assert_eq!(
            Timestamp::parse_rfc3339("1970-01-02"),
            Some(Timestamp(86_400_000))
        );
    }

    #[test]
    fn rejects_garbage() {
        for s in [
            "",
            "yesterday",
            "2018-13-01",
            "2018-02-28T25:00:00Z",
            "2018-02-28Tab:00",
        ] {
            assert_eq!(Timestamp::parse_rfc3339(s), None, "{s}");
        }
    }
}
