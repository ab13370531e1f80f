//! `day_of_week`: the weekday of several dates in the proleptic Gregorian calendar,
//! computed from day numbers (see `calendar`). Several dates per task make a guess worth
//! 7^-k; weekday names are accepted in full or as their three-letter abbreviations.

use crate::algorithmic::calendar::{day_number_steps, Date, WEEKDAYS};
use crate::env::{Domain, Family, Problem};
use crate::kit::render;
use crate::kit::{gold_ints, push_int, reject, unwrap_answer, MAX_ITEMS};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::json;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("day_of_week");

/// Year range shared by the date families.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayOfWeekConfig {
    /// Dates are drawn uniformly between min_year-01-01 and max_year-12-31 (1..=9999).
    pub min_year: i64,
    pub max_year: i64,
    /// Dates per task.
    pub dates: usize,
}

/// Year bounds at each difficulty, shared with `date_arithmetic`.
pub fn year_range(difficulty: u8) -> (i64, i64) {
    const LO: [i64; 10] = [1990, 1950, 1900, 1800, 1700, 1600, 1200, 800, 400, 1];
    const HI: [i64; 10] = [2030, 2050, 2100, 2200, 2300, 2400, 2800, 3200, 5000, 9999];
    let d = usize::from(difficulty.clamp(1, 10)) - 1;
    (LO[d], HI[d])
}

pub fn check_years(lo: i64, hi: i64) -> Result<(), String> {
    if lo < 1 || lo > hi || hi > 9999 {
        return Err("min_year must be in 1..=max_year, max_year at most 9999".into());
    }
    Ok(())
}

pub struct DayOfWeek {
    config: DayOfWeekConfig,
}

/// A weekday name (full or three-letter, any case) to 0 = Monday .. 6 = Sunday.
fn weekday_index(t: &str) -> Option<i64> {
    let t = t.trim_matches(['"', '\'', '`', '*', '.']);
    WEEKDAYS
        .iter()
        .position(|w| t.eq_ignore_ascii_case(w) || (t.len() == 3 && w[..3].eq_ignore_ascii_case(t)))
        .map(|i| i as i64)
}

impl Family for DayOfWeek {
    type Config = DayOfWeekConfig;
    const NAME: &'static str = "day_of_week";
    const DOMAIN: Domain = Domain::Algorithmic;
    const DESCRIPTION: &'static str =
        "Weekdays of several dates in the proleptic Gregorian calendar, by day numbers";

    fn config_for(difficulty: u8) -> DayOfWeekConfig {
        let (min_year, max_year) = year_range(difficulty);
        DayOfWeekConfig {
            min_year,
            max_year,
            dates: 2 + usize::from(difficulty.clamp(1, 10) - 1) / 3,
        }
    }

    fn new(config: DayOfWeekConfig) -> Result<Self, String> {
        check_years(config.min_year, config.max_year)?;
        if !(1..=20).contains(&config.dates) {
            return Err("dates must be in 1..=20".into());
        }
        Ok(DayOfWeek { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let mut thinking = String::with_capacity(c.dates * 400);
        thinking.push_str(
            "Count days from 0001-01-01 (day 0, a Monday); the weekday is the day number mod 7.\n",
        );
        let mut shown = Vec::with_capacity(c.dates);
        let mut idx = Vec::with_capacity(c.dates);
        let mut names = Vec::with_capacity(c.dates);
        for _ in 0..c.dates {
            let d = Date::random(rng, c.min_year, c.max_year);
            let n = day_number_steps(&mut thinking, d);
            let w = d.weekday();
            thinking.push_str("  ");
            push_int(&mut thinking, n);
            thinking.push_str(" = 7*");
            push_int(&mut thinking, n / 7);
            thinking.push_str(" + ");
            push_int(&mut thinking, n % 7);
            thinking.push_str(", so it is a ");
            thinking.push_str(WEEKDAYS[w]);
            thinking.push_str(".\n");
            shown.push(d.iso());
            idx.push(w as i64);
            names.push(WEEKDAYS[w]);
        }
        let final_answer = names.join(", ");
        Ok(Problem {
            question: render(TEMPLATE, &[("dates", &shown.join(", "))]),
            answer: json!({ "weekdays": idx }),
            thinking,
            final_answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let gold = gold_ints(gold, "weekdays")?;
        let mut got = Vec::new();
        for t in unwrap_answer(answer)
            .split(|ch: char| ch == ',' || ch.is_whitespace())
            .filter(|t| !t.is_empty())
        {
            if got.len() >= MAX_ITEMS {
                return Ok(reject(answer, "too many names"));
            }
            match weekday_index(t) {
                Some(i) => got.push(i),
                None => {
                    return Ok(reject(
                        answer,
                        format!(
                            "'{}' is not a weekday",
                            t.chars().take(20).collect::<String>()
                        ),
                    ))
                }
            }
        }
        Ok(if got == gold {
            Verdict::correct(
                got.iter()
                    .map(|i| WEEKDAYS[*i as usize])
                    .collect::<Vec<_>>()
                    .join(", "),
            )
        } else {
            reject(answer, "wrong weekdays or count")
        })
    }
}
