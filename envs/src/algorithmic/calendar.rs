//! The proleptic Gregorian calendar, our own implementation: leap years, month lengths,
//! day numbers counted from 0001-01-01 (a Monday), ISO `YYYY-MM-DD` parsing, and the worked
//! steps the date families print.
//!
//! Day numbers follow the textbook count (as in Dershowitz & Reingold, "Calendrical
//! Calculations", ch. 2): 365 days per earlier year plus the leap days before it, plus
//! the days of the earlier months, plus the day of the month.

use crate::algorithmic::answer::push_int;
use crate::puzzles::common::uint_str;

/// Weekday names, Monday first (0001-01-01 was a Monday).
pub const WEEKDAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

pub const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// A calendar date; `year` in 1..=9999.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    pub year: i64,
    pub month: u32,
    pub day: u32,
}

pub fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

pub fn days_in_month(y: i64, m: u32) -> u32 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Leap years in 1..=y.
fn leaps_through(y: i64) -> i64 {
    y / 4 - y / 100 + y / 400
}

impl Date {
    /// A valid date in years 1..=9999, or `None`.
    pub fn new(year: i64, month: u32, day: u32) -> Option<Date> {
        ((1..=9999).contains(&year)
            && (1..=12).contains(&month)
            && day >= 1
            && day <= days_in_month(year, month))
        .then_some(Date { year, month, day })
    }

    /// Days of the months before this one in its year.
    fn days_before_month(self) -> i64 {
        (1..self.month)
            .map(|m| i64::from(days_in_month(self.year, m)))
            .sum()
    }

    /// Days since 0001-01-01 (which is day 0).
    pub fn day_number(self) -> i64 {
        let y = self.year - 1;
        365 * y + leaps_through(y) + self.days_before_month() + i64::from(self.day) - 1
    }

    /// The date with day number `n` (clamped to years 1..=9999).
    pub fn from_day_number(n: i64) -> Date {
        let n = n.clamp(0, Date::last().day_number());
        // Estimate the year, then correct by at most a step or two.
        let mut y = (n * 400 / 146_097 + 1).clamp(1, 9999);
        while y > 1 && 365 * (y - 1) + leaps_through(y - 1) > n {
            y -= 1;
        }
        while y < 9999 && 365 * y + leaps_through(y) <= n {
            y += 1;
        }
        let mut rest = n - (365 * (y - 1) + leaps_through(y - 1));
        let mut m = 1;
        while m < 12 && rest >= i64::from(days_in_month(y, m)) {
            rest -= i64::from(days_in_month(y, m));
            m += 1;
        }
        Date {
            year: y,
            month: m,
            day: rest as u32 + 1,
        }
    }

    pub fn last() -> Date {
        Date {
            year: 9999,
            month: 12,
            day: 31,
        }
    }

    /// 0 = Monday .. 6 = Sunday.
    pub fn weekday(self) -> usize {
        self.day_number().rem_euclid(7) as usize
    }

    pub fn iso(self) -> String {
        let mut s = String::with_capacity(10);
        self.push_iso(&mut s);
        s
    }

    /// Appends `YYYY-MM-DD` (as [`Date::iso`]) without the formatting machinery.
    pub fn push_iso(self, out: &mut String) {
        push_padded(out, self.year, 4);
        out.push('-');
        push_padded(out, i64::from(self.month), 2);
        out.push('-');
        push_padded(out, i64::from(self.day), 2);
    }

    /// Parses `YYYY-MM-DD` (year of 1..=4 digits, month and day of 1..=2), rejecting
    /// dates that do not exist.
    pub fn parse_iso(s: &str) -> Option<Date> {
        let mut it = s.trim().split('-');
        let (y, m, d) = (it.next()?, it.next()?, it.next()?);
        if it.next().is_some() {
            return None;
        }
        let num = |t: &str, max: usize| -> Option<i64> {
            (!t.is_empty() && t.len() <= max && t.bytes().all(|b| b.is_ascii_digit()))
                .then(|| t.parse().ok())
                .flatten()
        };
        Date::new(num(y, 4)?, num(m, 2)? as u32, num(d, 2)? as u32)
    }

    /// A uniformly random date in years lo..=hi.
    pub fn random(rng: &mut crate::rng::TaskRng, lo: i64, hi: i64) -> Date {
        let a = Date::new(lo.clamp(1, 9999), 1, 1).unwrap_or(Date::last());
        let b = Date::new(hi.clamp(1, 9999), 12, 31).unwrap_or(Date::last());
        Date::from_day_number(rng.range(a.day_number(), b.day_number()))
    }
}

/// Appends `v` zero-padded to `width` digits (as `{:0width$}` does, sign first).
pub fn push_padded(out: &mut String, v: i64, width: usize) {
    let mut buf = [0u8; 20];
    let txt = uint_str(v.unsigned_abs() as usize, &mut buf);
    if v < 0 {
        out.push('-');
    }
    for _ in txt.len() + usize::from(v < 0)..width {
        out.push('0');
    }
    out.push_str(txt);
}

/// Writes the day-number computation for `d` and returns the number.
pub fn day_number_steps(out: &mut String, d: Date) -> i64 {
    let y = d.year - 1;
    let (q, c, f) = (y / 4, y / 100, y / 400);
    let leaps = q - c + f;
    d.push_iso(out);
    out.push_str(": ");
    push_int(out, y);
    out.push_str(" whole years before it: 365*");
    push_int(out, y);
    out.push_str(" = ");
    push_int(out, 365 * y);
    out.push_str(", plus leap days ");
    push_int(out, y);
    out.push_str("/4 - ");
    push_int(out, y);
    out.push_str("/100 + ");
    push_int(out, y);
    out.push_str("/400 (rounded down) = ");
    push_int(out, q);
    out.push_str(" - ");
    push_int(out, c);
    out.push_str(" + ");
    push_int(out, f);
    out.push_str(" = ");
    push_int(out, leaps);
    out.push_str(", so ");
    push_int(out, 365 * y + leaps);
    out.push_str(" days before ");
    push_int(out, d.year);
    out.push_str("-01-01.\n");
    let before = d.days_before_month();
    if d.month > 1 {
        out.push_str("  Months before ");
        out.push_str(MONTHS.get(d.month as usize - 1).unwrap_or(&""));
        out.push_str(" in ");
        push_int(out, d.year);
        out.push_str(if is_leap(d.year) {
            " (a leap year): "
        } else {
            " (not a leap year): "
        });
        for m in 1..d.month {
            if m > 1 {
                out.push_str(" + ");
            }
            push_int(out, i64::from(days_in_month(d.year, m)));
        }
        out.push_str(" = ");
        push_int(out, before);
        out.push_str(".\n");
    }
    let n = d.day_number();
    out.push_str("  Day number = ");
    push_int(out, 365 * y + leaps);
    out.push_str(" + ");
    push_int(out, before);
    out.push_str(" + ");
    push_int(out, i64::from(d.day) - 1);
    out.push_str(" = ");
    push_int(out, n);
    out.push_str(" (counting 0001-01-01 as day 0).\n");
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_weekdays_and_round_trip() {
        let d = |s: &str| Date::parse_iso(s).unwrap();
        assert_eq!(WEEKDAYS[d("0001-01-01").weekday()], "Monday");
        assert_eq!(WEEKDAYS[d("1970-01-01").weekday()], "Thursday");
        assert_eq!(WEEKDAYS[d("2000-02-29").weekday()], "Tuesday");
        assert_eq!(WEEKDAYS[d("2024-07-04").weekday()], "Thursday");
        assert_eq!(WEEKDAYS[d("1900-03-01").weekday()], "Thursday");
        assert_eq!(d("1970-01-01").day_number(), 719_162);
        for (y, m, dd) in [(1, 1, 1), (999, 12, 31), (2024, 2, 29), (9999, 10, 5)] {
            let date = Date::new(y, m, dd).unwrap();
            assert_eq!(date.iso(), format!("{y:04}-{m:02}-{dd:02}"));
        }
        for (v, w) in [(0i64, 4usize), (7, 2), (12, 2), (-3, 3), (123456, 4)] {
            let mut s = String::new();
            push_padded(&mut s, v, w);
            assert_eq!(s, format!("{v:0w$}"));
        }
        for n in (0..Date::last().day_number()).step_by(997) {
            assert_eq!(Date::from_day_number(n).day_number(), n);
        }
        assert_eq!(
            Date::from_day_number(Date::last().day_number()),
            Date::last()
        );
    }

    #[test]
    fn parsing_rejects_impossible_dates() {
        assert!(Date::parse_iso("1900-02-29").is_none());
        assert!(Date::parse_iso("2000-02-29").is_some());
        assert!(Date::parse_iso("2021-13-01").is_none());
        assert!(Date::parse_iso("2021-1-5").is_some());
        assert!(Date::parse_iso("20210-01-05").is_none());
        assert!(Date::parse_iso("2021-01-05-1").is_none());
    }
}
