//! The proleptic Gregorian calendar, our own implementation: leap years, month lengths,
//! day numbers counted from 0001-01-01 (a Monday), ISO `YYYY-MM-DD` parsing, and the worked
//! steps the date families print.
//!
//! Day numbers follow the textbook count (as in Dershowitz & Reingold, "Calendrical
//! Calculations", ch. 2): 365 days per earlier year plus the leap days before it, plus
//! the days of the earlier months, plus the day of the month.

use std::fmt::Write;

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

    /// `YYYY-MM-DD`, the year zero-padded to four digits.
    pub fn iso(self) -> String {
        format!("{:04}-{:02}-{:02}", self.year, self.month, self.day)
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

/// Writes the day-number computation for `d` and returns the number.
pub fn day_number_steps(out: &mut String, d: Date) -> i64 {
    let y = d.year - 1;
    let (q, c, f) = (y / 4, y / 100, y / 400);
    let leaps = q - c + f;
    let before_year = 365 * y + leaps;
    let _ = writeln!(
        out,
        "{}: {y} whole years before it: 365*{y} = {}, plus leap days {y}/4 - {y}/100 + {y}/400 (rounded down) = {q} - {c} + {f} = {leaps}, so {before_year} days before {}-01-01.",
        d.iso(),
        365 * y,
        d.year
    );
    let before = d.days_before_month();
    if d.month > 1 {
        let lengths: Vec<String> = (1..d.month)
            .map(|m| days_in_month(d.year, m).to_string())
            .collect();
        let _ = writeln!(
            out,
            "  Months before {} in {} ({}): {} = {before}.",
            MONTHS[d.month as usize - 1],
            d.year,
            leap_note(d.year),
            lengths.join(" + ")
        );
    }
    let n = d.day_number();
    let _ = writeln!(
        out,
        "  Day number = {before_year} + {before} + {} = {n} (counting 0001-01-01 as day 0).",
        d.day - 1
    );
    n
}

/// `a leap year` or `not a leap year`, as the worked steps say it.
pub fn leap_note(year: i64) -> &'static str {
    if is_leap(year) {
        "a leap year"
    } else {
        "not a leap year"
    }
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
