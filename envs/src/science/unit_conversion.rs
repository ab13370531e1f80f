//! `unit_conversion`: conversions within length, mass, volume, time, area, energy,
//! pressure, speed and temperature, using exact definitions (1 in = 2.54 cm, 1 lb =
//! 0.45359237 kg, 1 cal = 4.184 J, 1 atm = 101325 Pa, °F = °C × 9/5 + 32, ...). The
//! reference converts through the SI unit with exact rationals; at the higher levels a
//! chain of conversions (compound units such as km/h, g/cm³) is asked. Tolerance: 0.01%
//! relative, stated in the prompt.

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::{
    decimal_str, exact_decimal, grade_tolerance, parse_rational, ratio, rational_str,
};
use crate::rng::TaskRng;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::{Signed, ToPrimitive, Zero};
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("unit_conversion");

/// (unit name, factor to the SI unit as an exact decimal).
type Unit = (&'static str, &'static str);

const LENGTH: &[Unit] = &[
    ("mm", "0.001"),
    ("cm", "0.01"),
    ("m", "1"),
    ("km", "1000"),
    ("in", "0.0254"),
    ("ft", "0.3048"),
    ("yd", "0.9144"),
    ("mi", "1609.344"),
];
const MASS: &[Unit] = &[
    ("mg", "0.000001"),
    ("g", "0.001"),
    ("kg", "1"),
    ("t", "1000"),
    ("oz", "0.028349523125"),
    ("lb", "0.45359237"),
];
const VOLUME: &[Unit] = &[
    ("mL", "0.001"),
    ("L", "1"),
    ("m^3", "1000"),
    ("cm^3", "0.001"),
    ("US gal", "3.785411784"),
    ("US fl oz", "0.0295735295625"),
];
const TIME: &[Unit] = &[
    ("s", "1"),
    ("min", "60"),
    ("h", "3600"),
    ("day", "86400"),
    ("week", "604800"),
];
const AREA: &[Unit] = &[
    ("cm^2", "0.0001"),
    ("m^2", "1"),
    ("km^2", "1000000"),
    ("ha", "10000"),
    ("acre", "4046.8564224"),
    ("ft^2", "0.09290304"),
];
const ENERGY: &[Unit] = &[
    ("J", "1"),
    ("kJ", "1000"),
    ("cal", "4.184"),
    ("kcal", "4184"),
    ("Wh", "3600"),
    ("kWh", "3600000"),
];
const PRESSURE: &[Unit] = &[
    ("Pa", "1"),
    ("kPa", "1000"),
    ("bar", "100000"),
    ("atm", "101325"),
    ("mmHg", "133.322368421052631578947368421052631578947368421"),
];
const SPEED: &[Unit] = &[
    ("m/s", "1"),
    ("km/h", "0.27777777777777777777777777777777777777777777778"),
    ("mph", "0.44704"),
    ("ft/s", "0.3048"),
];
const DENSITY: &[Unit] = &[
    ("kg/m^3", "1"),
    ("g/cm^3", "1000"),
    ("g/mL", "1000"),
    ("g/L", "1"),
    ("lb/ft^3", "16.018463373960138"),
];

const SIMPLE: &[&[Unit]] = &[LENGTH, MASS, VOLUME, TIME];

const ALL: &[&[Unit]] = &[
    LENGTH, MASS, VOLUME, TIME, AREA, ENERGY, PRESSURE, SPEED, DENSITY,
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitConversionConfig {
    /// Use every quantity (area, energy, pressure, speed, density) and temperatures.
    pub all_quantities: bool,
    /// Significant digits of the given value.
    pub max_digits: u32,
    /// Probability of a compound unit (ratio of two units, e.g. mi/h to m/s or lb/gal to
    /// g/mL), converted one part at a time.
    pub compound_probability: f64,
}

/// Numerator and denominator quantities of the compound units.
const COMPOUNDS: &[(&[Unit], &[Unit])] = &[
    (LENGTH, TIME),
    (MASS, VOLUME),
    (ENERGY, TIME),
    (MASS, TIME),
    (VOLUME, TIME),
    (MASS, AREA),
];

pub struct UnitConversion {
    config: UnitConversionConfig,
}

/// The exact factor of a unit; km/h and mmHg are defined as exact fractions.
fn factor(u: &Unit) -> BigRational {
    match u.0 {
        "km/h" => ratio(5, 18),
        "mmHg" => ratio(101_325, 760),
        "lb/ft^3" => {
            ratio(45_359_237, 100_000_000)
                / (ratio(3048, 10000) * ratio(3048, 10000) * ratio(3048, 10000))
        }
        _ => parse_rational(u.1).unwrap_or_else(BigRational::zero),
    }
}

fn show(r: &BigRational) -> String {
    exact_decimal(r).unwrap_or_else(|| rational_str(r))
}

/// Six significant figures (the reference's rounding); the decimal exponent comes from the
/// float estimate, which is exact enough to pick the number of places.
fn sig6(r: &BigRational) -> String {
    let f = r.abs().to_f64().unwrap_or(0.0);
    let places = if f > 0.0 && f.is_finite() {
        (5 - f.log10().floor() as i64).clamp(0, 40)
    } else {
        5
    };
    decimal_str(r, places as usize)
}

impl Family for UnitConversion {
    type Config = UnitConversionConfig;
    const NAME: &'static str = "unit_conversion";
    const DOMAIN: Domain = Domain::Science;
    const DESCRIPTION: &'static str =
        "Unit conversions with exact definitions (length, mass, volume, time, area, energy, pressure, speed, density, temperature)";

    fn config_for(d: u8) -> UnitConversionConfig {
        UnitConversionConfig {
            all_quantities: d >= 3,
            max_digits: level(d, [2, 3, 4, 4, 5, 5, 6, 6, 7, 8]),
            compound_probability: level(d, [0.0, 0.0, 0.0, 0.0, 0.3, 0.4, 0.5, 0.6, 0.8, 0.9]),
        }
    }

    fn new(c: UnitConversionConfig) -> Result<Self, String> {
        if !(0.0..=1.0).contains(&c.compound_probability) {
            return Err("compound_probability must be in [0, 1]".into());
        }
        if !(1..=15).contains(&c.max_digits) {
            return Err("max_digits must be in 1..=15".into());
        }
        Ok(UnitConversion { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let digits = rng.range(
            i64::from(c.max_digits).saturating_sub(1).max(1),
            i64::from(c.max_digits),
        ) as u32;
        let mantissa = rng.range(1, 10i64.pow(digits) - 1);
        let shift = rng.range(0, i64::from(digits.min(3)));
        let value = BigRational::new(
            BigInt::from(mantissa),
            BigInt::from(10i64.pow(shift as u32)),
        );
        let mut t = String::new();
        let (from, to, result) = if rng.chance(c.compound_probability) {
            let &(num, den) = rng.choose(COMPOUNDS).ok_or("no compounds")?;
            let pick = |rng: &mut TaskRng,
                        g: &'static [Unit]|
             -> Result<(&'static Unit, &'static Unit), String> {
                let a = rng.choose(g).ok_or("no units")?;
                let b = rng.choose(g).ok_or("no units")?;
                Ok((a, b))
            };
            let ((na, nb), (da, db)) = loop {
                let (n, d) = (pick(rng, num)?, pick(rng, den)?);
                if n.0 .0 != n.1 .0 || d.0 .0 != d.1 .0 {
                    break (n, d);
                }
            };
            let from = format!("{}/{}", na.0, da.0);
            let to = format!("{}/{}", nb.0, db.0);
            let (fna, fnb, fda, fdb) = (factor(na), factor(nb), factor(da), factor(db));
            let num_f = &fna / &fnb;
            let den_f = &fda / &fdb;
            let out = &value * &num_f / &den_f;
            let _ = writeln!(t, "Convert the numerator and the denominator separately.");
            let _ = writeln!(
                t,
                "Numerator: 1 {} = {} ÷ {} = {} {}.",
                na.0,
                sig6(&fna),
                sig6(&fnb),
                sig6(&num_f),
                nb.0
            );
            let _ = writeln!(
                t,
                "Denominator: 1 {} = {} ÷ {} = {} {}.",
                da.0,
                sig6(&fda),
                sig6(&fdb),
                sig6(&den_f),
                db.0
            );
            let _ = writeln!(
                t,
                "So 1 {from} = {} ÷ {} = {} {to}.",
                sig6(&num_f),
                sig6(&den_f),
                sig6(&(&num_f / &den_f))
            );
            let _ = writeln!(
                t,
                "{} × {} = {} {to}.",
                show(&value),
                sig6(&(&num_f / &den_f)),
                sig6(&out)
            );
            return finish(show(&value), &from, &to, out, t);
        } else if c.all_quantities && rng.chance(0.12) {
            let scales = ["°C", "°F", "K"];
            let from = *rng.choose(&scales).unwrap_or(&"°C");
            let to = loop {
                let s = *rng.choose(&scales).unwrap_or(&"K");
                if s != from {
                    break s;
                }
            };
            let v = if from == "K" {
                value.clone() + ratio(100, 1)
            } else {
                value.clone()
            };
            let celsius = match from {
                "°C" => v.clone(),
                "°F" => {
                    let c = (&v - ratio(32, 1)) * ratio(5, 9);
                    let _ = writeln!(
                        t,
                        "°C = (°F - 32) × 5/9 = ({} - 32) × 5/9 = {}",
                        show(&v),
                        sig6(&c)
                    );
                    c
                }
                _ => {
                    let c = &v - ratio(27315, 100);
                    let _ = writeln!(t, "°C = K - 273.15 = {} - 273.15 = {}", show(&v), show(&c));
                    c
                }
            };
            let out = match to {
                "°C" => celsius,
                "°F" => {
                    let f = &celsius * ratio(9, 5) + ratio(32, 1);
                    let _ = writeln!(
                        t,
                        "°F = °C × 9/5 + 32 = {} × 9/5 + 32 = {}",
                        sig6(&celsius),
                        sig6(&f)
                    );
                    f
                }
                _ => {
                    let k = &celsius + ratio(27315, 100);
                    let _ = writeln!(
                        t,
                        "K = °C + 273.15 = {} + 273.15 = {}",
                        sig6(&celsius),
                        sig6(&k)
                    );
                    k
                }
            };
            let _ = writeln!(t, "So {} {from} = {} {to}.", show(&v), sig6(&out));
            return finish(show(&v), from, to, out, t);
        } else {
            let groups = if c.all_quantities { ALL } else { SIMPLE };
            let g = *rng.choose(groups).ok_or("no units")?;
            let a = rng.choose(g).ok_or("no units")?;
            let b = loop {
                let b = rng.choose(g).ok_or("no units")?;
                if b.0 != a.0 {
                    break b;
                }
            };
            let (fa, fb) = (factor(a), factor(b));
            let si = g.iter().find(|u| u.1 == "1").map_or("SI unit", |u| u.0);
            let base = &value * &fa;
            let out = &base / &fb;
            let _ = writeln!(
                t,
                "Go through the base unit {si}: 1 {} = {} {si} and 1 {} = {} {si}.",
                a.0,
                sig6(&fa),
                b.0,
                sig6(&fb)
            );
            let _ = writeln!(
                t,
                "{} {} = {} × {} = {} {si}.",
                show(&value),
                a.0,
                show(&value),
                sig6(&fa),
                sig6(&base)
            );
            let _ = writeln!(
                t,
                "{} {si} ÷ {} = {} {}.",
                sig6(&base),
                sig6(&fb),
                sig6(&out),
                b.0
            );
            (a.0, b.0, out)
        };
        finish(show(&value), from, to, result, t)
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let unit = gold.get("unit").and_then(|u| u.as_str()).unwrap_or("");
        let a = crate::kit::unwrap_answer(answer);
        let a = a.strip_suffix(unit).map_or(a, str::trim);
        grade_tolerance(gold, a, &BigRational::zero(), &ratio(1, 10_000))
    }
}

fn finish(
    value: String,
    from: &str,
    to: &str,
    out: BigRational,
    mut t: String,
) -> Result<Problem, String> {
    let ans = sig6(&out);
    let _ = write!(t, "Rounded to six significant figures: {ans} {to}.");
    Ok(Problem {
        question: render(TEMPLATE, &[("value", &value), ("from", from), ("to", to)]),
        answer: json!({ "value": rational_str(&out), "unit": to, "rel_tolerance": "0.0001" }),
        thinking: t,
        final_answer: ans,
    })
}
