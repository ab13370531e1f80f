//! `date_arithmetic`: add or subtract days from a date, or count the days between two
//! dates, in the proleptic Gregorian calendar (reasoning-gym `calendar_arithmetic`'s
//! core). The reference works with day numbers and locates the result year and month.

use crate::algorithmic::calendar::{day_number_steps, days_in_month, leap_note, Date, MONTHS};
use crate::algorithmic::day_of_week::{check_years, year_range};
use crate::env::{Domain, Family, Problem};
use crate::kit::{gold_str, reject, render, str_gold, unwrap_answer};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use std::fmt::Write;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("date_arithmetic");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DateArithmeticConfig {
    /// Dates are drawn between min_year-01-01 and max_year-12-31.
    pub min_year: i64,
    pub max_year: i64,
    /// Day offsets (and gaps between two dates) are drawn in 1..=max_days.
    pub max_days: i64,
}

pub struct DateArithmetic {
    config: DateArithmeticConfig,
}

/// Writes how day number `n` maps back to a calendar date, and returns the date.
fn locate_steps(out: &mut String, n: i64) -> Date {
    let d = Date::from_day_number(n);
    let start = Date::new(d.year, 1, 1).map_or(0, Date::day_number);
    let next = match Date::new(d.year + 1, 1, 1) {
        Some(next) => next.day_number().to_string(),
        None => "past the calendar".to_string(),
    };
    let _ = writeln!(
        out,
        "Day {n}: {:04}-01-01 is day {start} and the next January 1 is day {next}, so the year is {}; {} days after January 1 ({}).",
        d.year,
        d.year,
        n - start,
        leap_note(d.year)
    );
    let mut rest = n - start;
    for m in 1..d.month {
        let len = days_in_month(d.year, m);
        rest -= i64::from(len);
        let _ = writeln!(
            out,
            "  past {} ({len} days): {rest} left",
            MONTHS[m as usize - 1]
        );
    }
    let month = MONTHS[d.month as usize - 1];
    let _ = writeln!(
        out,
        "  {rest} days after {month} 1 is {month} {}: {}.",
        d.day,
        d.iso()
    );
    d
}

impl Family for DateArithmetic {
    type Config = DateArithmeticConfig;
    const NAME: &'static str = "date_arithmetic";
    const DOMAIN: Domain = Domain::Algorithmic;
    const DESCRIPTION: &'static str =
        "Add or subtract days from a date, or count days between dates (proleptic Gregorian)";

    fn config_for(difficulty: u8) -> DateArithmeticConfig {
        const DAYS: [i64; 10] = [30, 60, 100, 200, 400, 1000, 2000, 5000, 20000, 100000];
        let (min_year, max_year) = year_range(difficulty);
        DateArithmeticConfig {
            min_year,
            max_year,
            max_days: DAYS[usize::from(difficulty.clamp(1, 10)) - 1],
        }
    }

    fn new(config: DateArithmeticConfig) -> Result<Self, String> {
        check_years(config.min_year, config.max_year)?;
        if !(1..=1_000_000).contains(&config.max_days) {
            return Err("max_days must be in 1..=1000000".into());
        }
        Ok(DateArithmetic { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let lo = Date::new(c.min_year, 1, 1).map_or(0, Date::day_number);
        let hi = Date::new(c.max_year, 12, 31).map_or(0, Date::day_number);
        let last = Date::last().day_number();
        let k = rng.range(1, c.max_days);
        let mode = rng.below(3);
        // The start is drawn so that the result stays inside the year range when it can.
        let span_ok = hi - lo > k;
        let mut thinking = String::new();
        if mode < 2 {
            let forward = mode == 0;
            let start_n = match (span_ok, forward) {
                (true, true) => rng.range(lo, hi - k),
                (true, false) => rng.range(lo + k, hi),
                (false, _) => rng.range(lo, hi),
            };
            let start = Date::from_day_number(start_n);
            let n = day_number_steps(&mut thinking, start);
            let target = if forward { n + k } else { n - k }.clamp(0, last);
            let (verb, sign) = if forward {
                ("Add", '+')
            } else {
                ("Subtract", '-')
            };
            let _ = writeln!(thinking, "{verb} {k}: {n} {sign} {k} = {target}.");
            let end = locate_steps(&mut thinking, target);
            // Clamping at the calendar's ends changes the offset; state the real one.
            let direction = if forward { "after" } else { "before" };
            let instruction = format!(
                "What date is {} days {direction} {}?",
                (target - n).abs(),
                start.iso()
            );
            let iso = end.iso();
            return Ok(Problem {
                question: render(
                    TEMPLATE,
                    &[
                        ("instruction", &instruction),
                        ("format", "Answer with the date as YYYY-MM-DD."),
                    ],
                ),
                answer: str_gold("date", &iso),
                thinking,
                final_answer: iso,
            });
        }
        let a_n = if span_ok { rng.range(lo, hi - k) } else { lo };
        let b_n = (a_n + k).min(last);
        let (a, b) = (Date::from_day_number(a_n), Date::from_day_number(b_n));
        let na = day_number_steps(&mut thinking, a);
        let nb = day_number_steps(&mut thinking, b);
        let days = nb - na;
        let _ = writeln!(thinking, "Difference: {nb} - {na} = {days}.");
        let instruction = format!(
            "How many days are there from {} to {} (the number of days you add to the first date to reach the second)?",
            a.iso(),
            b.iso()
        );
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("instruction", &instruction),
                    ("format", "Answer with a single integer."),
                ],
            ),
            answer: str_gold("days", &days.to_string()),
            thinking,
            final_answer: days.to_string(),
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        if let Ok(days) = gold_str(gold, "days") {
            let gold = parse_integer(days)
                .ok_or_else(|| VerifyError::InvalidGold("days is not an integer".into()))?;
            return Ok(match parse_integer(answer) {
                Some(v) if v == gold => Verdict::correct(v.to_string()),
                Some(v) => reject(answer, format!("{v} is not the number of days")),
                None => reject(answer, "answer is not a single integer"),
            });
        }
        let gold = Date::parse_iso(gold_str(gold, "date")?)
            .ok_or_else(|| VerifyError::InvalidGold("date is not YYYY-MM-DD".into()))?;
        Ok(match Date::parse_iso(unwrap_answer(answer)) {
            Some(d) if d == gold => Verdict::correct(d.iso()),
            Some(d) => reject(answer, format!("{} is not the date", d.iso())),
            None => reject(answer, "answer is not a valid YYYY-MM-DD date"),
        })
    }
}
