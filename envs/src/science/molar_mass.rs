//! `molar_mass`: molar mass of a formula (ionic compounds from ion charges, hydrates,
//! organic molecules) from the IUPAC 2021 abridged standard atomic weights in
//! `envs/data/elements.tsv`, which the prompt lists. The reference counts atoms through
//! brackets and hydrate water and sums count × weight. Tolerance: 0.01 g/mol absolute, for
//! answers rounded to two decimals.

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::{grade_tolerance, ratio, rational_str};
use crate::rng::TaskRng;
use crate::science::chem::{
    e4_rational, e4_text, element, ionic_formula, mass_text, molar_mass, parse_formula,
    Composition, ANIONS, CATIONS,
};
use num_rational::BigRational;
use num_traits::Zero;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("molar_mass");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MolarMassConfig {
    /// Include hydrates (·n H2O).
    pub hydrates: bool,
    /// Largest atom count of one element in an organic molecule.
    pub max_atoms: i64,
    /// Include organic molecules with N and S.
    pub heteroatoms: bool,
    /// Share of ionic compounds (the rest are molecular formulas).
    pub ionic_share: f64,
}

pub struct MolarMass {
    config: MolarMassConfig,
}

/// The worked molar mass: atom counts, then count × weight per element, then the sum.
pub fn molar_mass_steps(formula: &str, comp: &Composition, t: &mut String) -> Option<BigRational> {
    let counts: Vec<String> = comp.iter().map(|(e, n)| format!("{e}: {n}")).collect();
    let _ = writeln!(
        t,
        "Count the atoms in {formula} (brackets and hydrate water multiplied out): {}.",
        counts.join(", ")
    );
    let mut total = 0i64;
    let mut parts = Vec::new();
    for (e, n) in comp {
        let el = element(e)?;
        let m = el.weight_e4.checked_mul(i64::try_from(*n).ok()?)?;
        let _ = writeln!(t, "{e}: {n} × {} = {}", el.weight_text, e4_text(m));
        parts.push(e4_text(m));
        total = total.checked_add(m)?;
    }
    let _ = writeln!(t, "Sum: {} = {} g/mol.", parts.join(" + "), e4_text(total));
    Some(e4_rational(total))
}

/// The weights line of the prompt for the elements of `comp`.
pub fn weights_text(comp: &Composition) -> String {
    comp.keys()
        .filter_map(|e| element(e).map(|el| format!("{e} = {}", el.weight_text)))
        .collect::<Vec<_>>()
        .join(", ")
}

impl Family for MolarMass {
    type Config = MolarMassConfig;
    const NAME: &'static str = "molar_mass";
    const DOMAIN: Domain = Domain::Science;
    const DESCRIPTION: &'static str =
        "Molar mass from a formula (brackets, hydrates, organics) with IUPAC atomic weights; 0.01 g/mol tolerance";

    fn config_for(d: u8) -> MolarMassConfig {
        MolarMassConfig {
            hydrates: d >= 4,
            max_atoms: level(d, [4, 6, 10, 12, 16, 20, 24, 30, 40, 60]),
            heteroatoms: d >= 3,
            ionic_share: level(d, [0.7, 0.6, 0.5, 0.5, 0.4, 0.4, 0.3, 0.3, 0.2, 0.2]),
        }
    }

    fn new(c: MolarMassConfig) -> Result<Self, String> {
        if !(0.0..=1.0).contains(&c.ionic_share) {
            return Err("ionic_share must be in [0, 1]".into());
        }
        if !(1..=500).contains(&c.max_atoms) {
            return Err("max_atoms must be in 1..=500".into());
        }
        Ok(MolarMass { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let formula = if rng.chance(c.ionic_share) {
            let cat = rng.choose(CATIONS).ok_or("no cations")?;
            let an = rng.choose(ANIONS).ok_or("no anions")?;
            let f = ionic_formula(cat, an);
            if c.hydrates && rng.chance(0.4) {
                let n = rng.range(1, 12);
                if n == 1 {
                    format!("{f}·H2O")
                } else {
                    format!("{f}·{n}H2O")
                }
            } else {
                f
            }
        } else {
            let m = c.max_atoms;
            let mut parts: Vec<(&str, i64)> = vec![
                ("C", rng.range(1, m)),
                ("H", rng.range(1, 2 * m + 2)),
                ("O", rng.range(0, (m / 2).max(1))),
            ];
            if c.heteroatoms {
                parts.push(("N", rng.range(0, (m / 4).max(1))));
                parts.push((
                    "S",
                    if rng.chance(0.3) {
                        rng.range(1, (m / 8).max(2))
                    } else {
                        0
                    },
                ));
                let halogen = *rng.choose(&["Cl", "Br", "F", "I"]).unwrap_or(&"Cl");
                parts.push((
                    halogen,
                    if rng.chance(0.3) {
                        rng.range(1, (m / 6).max(3))
                    } else {
                        0
                    },
                ));
                if m >= 20 && rng.chance(0.4) {
                    parts.push(("P", rng.range(1, 2)));
                }
                if m >= 30 && rng.chance(0.3) {
                    parts.push((
                        *rng.choose(&["Na", "K", "Si", "B"]).unwrap_or(&"Na"),
                        rng.range(1, 3),
                    ));
                }
            }
            parts
                .iter()
                .map(|&(sym, k)| match k {
                    0 => String::new(),
                    1 => sym.to_string(),
                    k => format!("{sym}{k}"),
                })
                .collect::<String>()
        };
        let comp = parse_formula(&formula)
            .ok_or_else(|| format!("generated formula {formula} does not parse"))?;
        let mut t = String::new();
        let m = molar_mass_steps(&formula, &comp, &mut t).ok_or("unknown element")?;
        let ans = mass_text(&m);
        let _ = write!(t, "The molar mass of {formula} is {ans} g/mol.");
        debug_assert_eq!(molar_mass(&comp), Some(m.clone()));
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[("formula", &formula), ("weights", &weights_text(&comp))],
            ),
            answer: json!({ "value": rational_str(&m), "unit": "g/mol", "abs_tolerance": "0.01" }),
            thinking: t,
            final_answer: ans,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_tolerance(
            gold,
            strip_unit(answer, &["g/mol", "g mol^-1", "g·mol⁻¹", "grams per mole"]),
            &ratio(1, 100),
            &BigRational::zero(),
        )
    }
}

/// Removes one trailing unit (any of `units`) from an answer.
pub fn strip_unit<'a>(answer: &'a str, units: &[&str]) -> &'a str {
    let a = crate::kit::unwrap_answer(answer);
    for u in units {
        if let Some(rest) = a.strip_suffix(u) {
            return rest.trim();
        }
    }
    a
}
