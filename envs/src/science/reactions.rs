//! Seeded reaction generators for the balancing and stoichiometry families: combustion of
//! hydrocarbons and alcohols, metals with acids, neutralisation, synthesis of oxides,
//! double displacement between ionic compounds, and the classic redox list in
//! `envs/data/reactions.txt`. Every generated reaction balances uniquely (checked).

use crate::rng::TaskRng;
use crate::science::chem::{ionic_formula, listed_reactions, Ion, Reaction, ANIONS, CATIONS};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReactionKind {
    /// Metal + oxygen -> oxide.
    Synthesis,
    /// CxHy(Oz) + O2 -> CO2 + H2O.
    Combustion,
    /// Metal + acid -> salt + hydrogen.
    MetalAcid,
    /// Acid + hydroxide -> salt + water.
    Neutralisation,
    /// AX + BY -> AY + BX.
    DoubleDisplacement,
    /// The classic list (redox and others).
    Listed,
}

const ACIDS: &[(&str, &str, u32)] = &[
    // (acid, anion, number of H)
    ("HCl", "Cl", 1),
    ("HBr", "Br", 1),
    ("HI", "I", 1),
    ("HNO3", "NO3", 1),
    ("HF", "F", 1),
    ("H2SO4", "SO4", 2),
    ("H2CO3", "CO3", 2),
    ("H3PO4", "PO4", 3),
    ("HClO3", "ClO3", 1),
];

fn anion(formula: &str) -> Option<&'static Ion> {
    ANIONS.iter().find(|a| a.formula == formula)
}

/// Metals (cations without polyatomic ones, silver and copper excepted for acid reactions).
fn metals() -> Vec<&'static Ion> {
    CATIONS.iter().filter(|c| !c.polyatomic).collect()
}

fn fuel(rng: &mut TaskRng, max_carbons: i64) -> String {
    let n = rng.range(1, max_carbons.max(1));
    let (c, h, o) = match rng.below(5) {
        0 => (n, 2 * n + 2, 0),           // alkane
        1 if n >= 2 => (n, 2 * n, 0),     // alkene
        2 if n >= 2 => (n, 2 * n - 2, 0), // alkyne
        3 => (n, 2 * n + 2, 1),           // alcohol
        4 if n >= 2 => (n, 2 * n, 2),     // carboxylic acid / ester
        _ => (n, 2 * n + 2, 0),
    };
    let part = |sym: &str, k: i64| match k {
        0 => String::new(),
        1 => sym.to_string(),
        k => format!("{sym}{k}"),
    };
    format!("{}{}{}", part("C", c), part("H", h), part("O", o))
}

/// One random reaction of the given kinds that balances uniquely (tries a bounded number of
/// times, then falls back to the listed reactions).
pub fn random_reaction(
    rng: &mut TaskRng,
    kinds: &[ReactionKind],
    max_carbons: i64,
) -> Option<Reaction> {
    for _ in 0..32 {
        if let Some(r) = draw_reaction(rng, kinds, max_carbons) {
            if r.balance().is_some() {
                return Some(r);
            }
        }
    }
    rng.choose(listed_reactions()).cloned()
}

/// One random reaction of the given kinds, not checked for a unique balance (`None` when the
/// draw was degenerate, e.g. the same ion twice).
pub fn draw_reaction(
    rng: &mut TaskRng,
    kinds: &[ReactionKind],
    max_carbons: i64,
) -> Option<Reaction> {
    {
        let kind = *rng.choose(kinds)?;
        let r = match kind {
            ReactionKind::Synthesis => {
                let m = *rng.choose(&metals())?;
                let oxide = ionic_formula(m, anion("O")?);
                Reaction {
                    reactants: vec![m.formula.into(), "O2".into()],
                    products: vec![oxide],
                }
            }
            ReactionKind::Combustion => Reaction {
                reactants: vec![fuel(rng, max_carbons), "O2".into()],
                products: vec!["CO2".into(), "H2O".into()],
            },
            ReactionKind::MetalAcid => {
                let m = *rng.choose(
                    &metals()
                        .into_iter()
                        .filter(|m| m.formula != "Ag" && m.formula != "Cu" && m.formula != "Pb")
                        .collect::<Vec<_>>(),
                )?;
                let &(acid, an, _) = rng.choose(ACIDS)?;
                let salt = ionic_formula(m, anion(an)?);
                Reaction {
                    reactants: vec![m.formula.into(), acid.into()],
                    products: vec![salt, "H2".into()],
                }
            }
            ReactionKind::Neutralisation => {
                let m = *rng.choose(&metals())?;
                let &(acid, an, _) = rng.choose(ACIDS)?;
                let base = ionic_formula(m, anion("OH")?);
                let salt = ionic_formula(m, anion(an)?);
                Reaction {
                    reactants: vec![acid.into(), base],
                    products: vec![salt, "H2O".into()],
                }
            }
            ReactionKind::DoubleDisplacement => {
                let (c1, c2) = (rng.choose(CATIONS)?, rng.choose(CATIONS)?);
                let (a1, a2) = (rng.choose(ANIONS)?, rng.choose(ANIONS)?);
                if c1.formula == c2.formula
                    || a1.formula == a2.formula
                    || a1.formula == "O"
                    || a2.formula == "O"
                {
                    return None;
                }
                Reaction {
                    reactants: vec![ionic_formula(c1, a1), ionic_formula(c2, a2)],
                    products: vec![ionic_formula(c1, a2), ionic_formula(c2, a1)],
                }
            }
            ReactionKind::Listed => rng.choose(listed_reactions())?.clone(),
        };
        Some(r)
    }
}
