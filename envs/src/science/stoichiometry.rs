//! `stoichiometry`: mass-to-mass conversions through a reaction — grams of one species to
//! moles (molar mass), moles through the balanced coefficients, moles back to grams. At the
//! higher levels the equation is given unbalanced and must be balanced first. Tolerance:
//! 0.5% relative, stated in the prompt (intermediate rounding by the solver is allowed).

use crate::env::{Domain, Family, Problem};
use crate::kit::level;
use crate::kit::render;
use crate::math::grade::{decimal_str, grade_tolerance, ratio, rational_str};
use crate::rng::TaskRng;
use crate::science::chem::{mass_text, parse_formula, Composition};
use crate::science::chemical_balancing::kinds_for;
use crate::science::molar_mass::{molar_mass_steps, strip_unit, weights_text};
use crate::science::reactions::draw_reaction;
use num_bigint::BigInt;
use num_rational::BigRational;
use num_traits::Zero;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::fmt::Write;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("stoichiometry");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoichiometryConfig {
    /// Reaction difficulty level (1..=10) whose kinds of reaction are used.
    pub reaction_level: u8,
    /// Whether the equation is shown balanced.
    pub balanced: bool,
    /// The given mass is drawn in 1..=max_mass grams, with up to two decimals.
    pub max_mass: i64,
}

pub struct Stoichiometry {
    config: StoichiometryConfig,
}

impl Family for Stoichiometry {
    type Config = StoichiometryConfig;
    const NAME: &'static str = "stoichiometry";
    const DOMAIN: Domain = Domain::Science;
    const DESCRIPTION: &'static str =
        "Grams-to-grams through a (possibly unbalanced) reaction via moles; 0.5% tolerance";

    fn config_for(d: u8) -> StoichiometryConfig {
        StoichiometryConfig {
            reaction_level: level(d, [1, 2, 3, 3, 4, 5, 6, 7, 8, 10]),
            balanced: d <= 5,
            max_mass: level(d, [50, 100, 100, 200, 250, 500, 500, 1000, 1000, 5000]),
        }
    }

    fn new(c: StoichiometryConfig) -> Result<Self, String> {
        if !(1..=10).contains(&c.reaction_level) {
            return Err("reaction_level must be in 1..=10".into());
        }
        if !(1..=1_000_000).contains(&c.max_mass) {
            return Err("max_mass must be in 1..=1000000".into());
        }
        Ok(Stoichiometry { config: c })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let kinds = kinds_for(c.reaction_level);
        let mut found = None;
        for _ in 0..64 {
            let Some(r) = draw_reaction(rng, &kinds, i64::from(c.reaction_level) + 2) else {
                continue;
            };
            let mut work = String::new();
            if let Some(coefs) = r.balance_worked(&mut work) {
                found = Some((r, coefs, work));
                break;
            }
        }
        let (r, coefs, balance_work) = found.ok_or("no uniquely balanced reaction drawn")?;
        let mut t = String::new();
        let species: Vec<&String> = r.species().collect();
        let nr = r.reactants.len();
        let gi = rng.below(nr as u64) as usize;
        let ti = loop {
            let i = rng.below(species.len() as u64) as usize;
            if i != gi {
                break i;
            }
        };
        let (given, target) = (species[gi].as_str(), species[ti].as_str());
        let verb = if ti < nr { "consumed" } else { "produced" };
        let mass = BigRational::new(
            BigInt::from(rng.range(100, c.max_mass * 100)),
            BigInt::from(100),
        );
        let equation = if c.balanced {
            r.text(Some(&coefs))
        } else {
            r.text(None)
        };
        if !c.balanced {
            t.push_str("First balance the equation.\n");
            t.push_str(&balance_work);
            let _ = writeln!(t, "Balanced: {}", r.text(Some(&coefs)));
        }
        let (cg, ct): (Composition, Composition) = (
            parse_formula(given).ok_or("formula")?,
            parse_formula(target).ok_or("formula")?,
        );
        let mg = molar_mass_steps(given, &cg, &mut t).ok_or("molar mass")?;
        let mt = molar_mass_steps(target, &ct, &mut t).ok_or("molar mass")?;
        let mol_g = &mass / &mg;
        let (kg, kt) = (coefs[gi], coefs[ti]);
        let mol_t = &mol_g * BigRational::new(BigInt::from(kt), BigInt::from(kg));
        let grams = &mol_t * &mt;
        let _ = writeln!(
            t,
            "Moles of {given}: {} g ÷ {} g/mol = {} mol.",
            mass_text(&mass),
            mass_text(&mg),
            decimal_str(&mol_g, 6)
        );
        let _ = writeln!(t, "Mole ratio {target} : {given} = {kt} : {kg}, so moles of {target} = {} × {kt}/{kg} = {} mol.", decimal_str(&mol_g, 6), decimal_str(&mol_t, 6));
        let _ = writeln!(
            t,
            "Mass of {target}: {} mol × {} g/mol = {} g.",
            decimal_str(&mol_t, 6),
            mass_text(&mt),
            decimal_str(&grams, 4)
        );
        let places = if grams >= BigRational::from_integer(BigInt::from(1)) {
            3
        } else {
            6
        };
        let ans = decimal_str(&grams, places);
        let _ = write!(t, "About {ans} g of {target}.");
        let mut all = cg.clone();
        for s in r.species() {
            if let Some(comp) = parse_formula(s) {
                all.extend(comp);
            }
        }
        Ok(Problem {
            question: render(
                TEMPLATE,
                &[
                    ("equation", &equation),
                    ("target", target),
                    ("verb", verb),
                    ("mass", &mass_text(&mass)),
                    ("given", given),
                    ("weights", &weights_text(&all)),
                ],
            ),
            answer: json!({ "value": rational_str(&grams), "unit": "g", "rel_tolerance": "0.005" }),
            thinking: t,
            final_answer: ans,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        grade_tolerance(
            gold,
            strip_unit(answer, &["grams", "g"]),
            &BigRational::zero(),
            &ratio(5, 1000),
        )
    }
}
