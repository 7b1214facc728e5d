//! Log timestamps: RFC 3339 in microseconds, UTC, as tracing-subscriber writes them.

use std::{
    cell::RefCell,
    fmt::{self, Write as _},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use chrono::{SecondsFormat, Utc};

/// `2026-11-30T09:38:52.123456Z`, as tracing-subscriber's `SystemTime` writes it. The part up to
/// the seconds is formatted once a second on each thread: formatting the whole date for every
/// line took a quarter of the line's instructions.
pub fn write_timestamp(writer: &mut impl fmt::Write, now: SystemTime) -> fmt::Result {
    thread_local! {
        static THIS_SECOND: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
    }
    let Ok(since_epoch) = now.duration_since(UNIX_EPOCH) else {
        // A clock set before 1970: not worth a cache.
        return writer.write_str(&chrono::DateTime::<Utc>::from(now).to_rfc3339_opts(SecondsFormat::Micros, true));
    };
    let seconds = since_epoch.as_secs();
    THIS_SECOND.with_borrow_mut(|(cached, prefix)| {
        if *cached != seconds {
            prefix.clear();
            let whole_second = chrono::DateTime::<Utc>::from(UNIX_EPOCH + Duration::from_secs(seconds));
            write!(prefix, "{}", whole_second.format("%Y-%m-%dT%H:%M:%S"))?;
            *cached = seconds;
        }
        writer.write_str(prefix)
    })?;
    let mut fraction = *b".000000Z";
    let mut micros = since_epoch.subsec_micros();
    for digit in fraction[1..7].iter_mut().rev() {
        *digit = b'0' + (micros % 10) as u8;
        micros /= 10;
    }
    writer.write_str(std::str::from_utf8(&fraction).expect("ASCII digits"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339_in_microseconds_as_tracing_subscriber_writes_them() {
        let at = |seconds: u64, micros: u64| UNIX_EPOCH + Duration::from_secs(seconds) + Duration::from_micros(micros);
        let leap_day_end = 1_709_251_199; // 2024-02-29T23:59:59Z
        let times = [
            at(0, 0),
            at(leap_day_end, 999_999),
            at(leap_day_end + 1, 7),
            at(leap_day_end + 1, 120_000),
            at(leap_day_end, 5),
            SystemTime::now(),
            UNIX_EPOCH - Duration::from_micros(1_500_000),
        ];
        for time in times {
            let mut ours = String::new();
            write_timestamp(&mut ours, time).unwrap();
            let expected = chrono::DateTime::<Utc>::from(time).to_rfc3339_opts(SecondsFormat::Micros, true);
            assert_eq!(ours, expected);
        }
        let mut ours = String::new();
        write_timestamp(&mut ours, at(leap_day_end + 1, 7)).unwrap();
        assert_eq!(ours, "2024-03-01T00:00:00.000007Z");
    }
}
