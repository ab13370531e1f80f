//! `date_arithmetic`: add or subtract days from a date, or count the days between two
//! dates, in the proleptic Gregorian calendar (reasoning-gym `calendar_arithmetic`'s
//! core). The reference works with day numbers and locates the result year and month.

use crate::algorithmic::answer::{clean, gold_str, push_int, str_gold, wrong};
use crate::algorithmic::calendar::{
    day_number_steps, days_in_month, is_leap, push_padded, Date, MONTHS,
};
use crate::algorithmic::day_of_week::{check_years, year_range};
use crate::env::{Domain, Family, Problem};
use crate::puzzles::common::Template;
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use std::sync::LazyLock;
use verigym_verifiers::number::parse_integer;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = include_str!("../../../prompts/date_arithmetic.txt");

/// The template after its leading `{instruction}`, which generation writes directly.
static PROMPT_TAIL: LazyLock<Template> =
    LazyLock::new(|| Template::new(TEMPLATE.strip_prefix("{instruction}").unwrap_or(TEMPLATE)));

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

/// Writes how day number `n` maps back to a calendar date.
fn locate_steps(out: &mut String, n: i64) -> Date {
    let d = Date::from_day_number(n);
    let start = Date {
        year: d.year,
        month: 1,
        day: 1,
    }
    .day_number();
    out.push_str("Day ");
    push_int(out, n);
    out.push_str(": ");
    push_padded(out, d.year, 4);
    out.push_str("-01-01 is day ");
    push_int(out, start);
    out.push_str(" and the next January 1 is day ");
    if d.year < 9999 {
        let next = Date {
            year: d.year + 1,
            month: 1,
            day: 1,
        }
        .day_number();
        push_int(out, next);
    } else {
        out.push_str("past the calendar");
    }
    out.push_str(", so the year is ");
    push_int(out, d.year);
    out.push_str("; ");
    push_int(out, n - start);
    out.push_str(if is_leap(d.year) {
        " days after January 1 (a leap year).\n"
    } else {
        " days after January 1 (not a leap year).\n"
    });
    let mut rest = n - start;
    for m in 1..d.month {
        let len = i64::from(days_in_month(d.year, m));
        rest -= len;
        out.push_str("  past ");
        out.push_str(MONTHS[m as usize - 1]);
        out.push_str(" (");
        push_int(out, len);
        out.push_str(" days): ");
        push_int(out, rest);
        out.push_str(" left\n");
    }
    out.push_str("  ");
    push_int(out, rest);
    out.push_str(" days after ");
    out.push_str(MONTHS[d.month as usize - 1]);
    out.push_str(" 1 is ");
    out.push_str(MONTHS[d.month as usize - 1]);
    out.push(' ');
    push_int(out, i64::from(d.day));
    out.push_str(": ");
    d.push_iso(out);
    out.push_str(".\n");
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
        let lo = Date::new(c.min_year, 1, 1)
            .map(Date::day_number)
            .unwrap_or(0);
        let hi = Date::new(c.max_year, 12, 31)
            .map(Date::day_number)
            .unwrap_or(0);
        let k = rng.range(1, c.max_days);
        let mode = rng.below(3);
        // The start is drawn so that the result stays inside the year range when it can.
        let span_ok = hi - lo > k;
        let mut thinking = String::with_capacity(900);
        let mut question = String::with_capacity(300);
        let (answer, final_answer) = match mode {
            0 | 1 => {
                let forward = mode == 0;
                let start_n = match (span_ok, forward) {
                    (true, true) => rng.range(lo, hi - k),
                    (true, false) => rng.range(lo + k, hi),
                    (false, _) => rng.range(lo, hi),
                };
                let start = Date::from_day_number(start_n);
                let n = day_number_steps(&mut thinking, start);
                let target = if forward { n + k } else { n - k };
                let target = target.clamp(0, Date::last().day_number());
                thinking.push_str(if forward { "Add " } else { "Subtract " });
                push_int(&mut thinking, k);
                thinking.push_str(": ");
                push_int(&mut thinking, n);
                thinking.push_str(if forward { " + " } else { " - " });
                push_int(&mut thinking, k);
                thinking.push_str(" = ");
                push_int(&mut thinking, target);
                thinking.push_str(".\n");
                let end = locate_steps(&mut thinking, target);
                // Clamping at the calendar's ends changes the offset; state the real one.
                let k_real = (target - n).abs();
                question.push_str("What date is ");
                push_int(&mut question, k_real);
                question.push_str(if forward {
                    " days after "
                } else {
                    " days before "
                });
                start.push_iso(&mut question);
                question.push('?');
                PROMPT_TAIL.fill_into(
                    &mut question,
                    &[("format", "Answer with the date as YYYY-MM-DD.")],
                );
                let iso = end.iso();
                (str_gold("date", &iso), iso)
            }
            _ => {
                let a_n = if span_ok { rng.range(lo, hi - k) } else { lo };
                let b_n = (a_n + k).min(Date::last().day_number());
                let (a, b) = (Date::from_day_number(a_n), Date::from_day_number(b_n));
                let na = day_number_steps(&mut thinking, a);
                let nb = day_number_steps(&mut thinking, b);
                thinking.push_str("Difference: ");
                push_int(&mut thinking, nb);
                thinking.push_str(" - ");
                push_int(&mut thinking, na);
                thinking.push_str(" = ");
                push_int(&mut thinking, nb - na);
                thinking.push_str(".\n");
                question.push_str("How many days are there from ");
                a.push_iso(&mut question);
                question.push_str(" to ");
                b.push_iso(&mut question);
                question.push_str(
                    " (the number of days you add to the first date to reach the second)?",
                );
                PROMPT_TAIL.fill_into(
                    &mut question,
                    &[("format", "Answer with a single integer.")],
                );
                let mut days = String::with_capacity(8);
                push_int(&mut days, nb - na);
                (str_gold("days", &days), days)
            }
        };
        Ok(Problem {
            question,
            answer,
            thinking,
            final_answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        if let Ok(days) = gold_str(gold, "days") {
            let gold = parse_integer(days)
                .ok_or_else(|| VerifyError::InvalidGold("days is not an integer".into()))?;
            return Ok(match parse_integer(answer) {
                Some(v) if v == gold => Verdict::correct(v.to_string()),
                Some(v) => wrong(answer, format!("{v} is not the number of days")),
                None => wrong(answer, "answer is not a single integer"),
            });
        }
        let gold = Date::parse_iso(gold_str(gold, "date")?)
            .ok_or_else(|| VerifyError::InvalidGold("date is not YYYY-MM-DD".into()))?;
        Ok(match Date::parse_iso(clean(answer)) {
            Some(d) if d == gold => Verdict::correct(d.iso()),
            Some(d) => wrong(answer, format!("{} is not the date", d.iso())),
            None => wrong(answer, "answer is not a valid YYYY-MM-DD date"),
        })
    }
}
