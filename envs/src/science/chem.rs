//! Chemistry helpers shared by the science families: the periodic-table data (IUPAC 2021
//! abridged standard atomic weights, `envs/data/elements.tsv`), a bounded formula parser
//! (parentheses, hydrates `CuSO4·5H2O`), ionic-compound formulas from ion charges, and exact
//! equation balancing by the one-dimensional integer null space of the element matrix.

use num_bigint::BigInt;
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, ToPrimitive, Zero};
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::OnceLock;

const ELEMENTS_TSV: &str = include_str!("../../data/elements.tsv");

/// One element of the table.
#[derive(Debug, Clone)]
pub struct Element {
    pub symbol: String,
    pub name: String,
    /// Standard atomic weight in g/mol, exact as written in the table.
    pub weight: BigRational,
    /// The weight as written (e.g. "15.999").
    pub weight_text: String,
    /// The weight in units of 0.0001 g/mol (every table value has at most four decimals),
    /// so sums are exact integer arithmetic.
    pub weight_e4: i64,
}

/// The periodic table (rows that do not parse are skipped; a test checks none are).
pub fn elements() -> &'static [Element] {
    static TABLE: OnceLock<Vec<Element>> = OnceLock::new();
    TABLE.get_or_init(|| {
        ELEMENTS_TSV
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let mut f = l.split('\t');
                let (symbol, name, w) = (f.next()?, f.next()?, f.next()?);
                let weight = crate::math::grade::parse_rational(w)?;
                let e4 = &weight * BigRational::from_integer(BigInt::from(10_000));
                Some(Element {
                    symbol: symbol.to_string(),
                    name: name.to_string(),
                    weight_e4: e4
                        .is_integer()
                        .then(|| e4.to_integer().to_i64())
                        .flatten()?,
                    weight,
                    weight_text: w.to_string(),
                })
            })
            .collect()
    })
}

pub fn element(symbol: &str) -> Option<&'static Element> {
    static INDEX: OnceLock<std::collections::HashMap<&'static str, usize>> = OnceLock::new();
    let index = INDEX.get_or_init(|| {
        elements()
            .iter()
            .enumerate()
            .map(|(i, e)| (e.symbol.as_str(), i))
            .collect()
    });
    elements().get(*index.get(symbol)?)
}

/// Atom counts of a formula, by element symbol.
pub type Composition = BTreeMap<String, u64>;

/// Longest formula accepted.
const MAX_FORMULA_BYTES: usize = 120;

/// Parses `Al2(SO4)3`, `CuSO4·5H2O` (also `.` or `*` before the hydrate) into atom counts.
/// Unknown elements, unbalanced brackets, zero counts or anything else give `None`.
pub fn parse_formula(s: &str) -> Option<Composition> {
    let s = s.trim();
    if s.is_empty() || s.len() > MAX_FORMULA_BYTES {
        return None;
    }
    let mut total = Composition::new();
    for part in s.split(['·', '.', '*']) {
        let chars: Vec<char> = part.trim().chars().collect();
        let mut i = 0;
        let mult = read_count(&chars, &mut i).unwrap_or(1);
        let mut comp = group(&chars, &mut i, 0)?;
        if i != chars.len() || comp.is_empty() {
            return None;
        }
        for v in comp.values_mut() {
            *v = v.checked_mul(mult)?;
        }
        for (k, v) in comp {
            *total.entry(k).or_insert(0) += v;
        }
    }
    Some(total)
}

fn read_count(chars: &[char], i: &mut usize) -> Option<u64> {
    let start = *i;
    while *i < chars.len() && chars[*i].is_ascii_digit() && *i - start < 4 {
        *i += 1;
    }
    if *i == start {
        return None;
    }
    let n: u64 = chars[start..*i].iter().collect::<String>().parse().ok()?;
    (n > 0).then_some(n)
}

fn group(chars: &[char], i: &mut usize, depth: usize) -> Option<Composition> {
    if depth > 4 {
        return None;
    }
    let mut comp = Composition::new();
    while *i < chars.len() {
        let c = chars[*i];
        let sub = if c == '(' || c == '[' {
            *i += 1;
            let inner = group(chars, i, depth + 1)?;
            let close = if c == '(' { ')' } else { ']' };
            if chars.get(*i) != Some(&close) {
                return None;
            }
            *i += 1;
            inner
        } else if c.is_ascii_uppercase() {
            let mut sym = c.to_string();
            *i += 1;
            if *i < chars.len() && chars[*i].is_ascii_lowercase() {
                sym.push(chars[*i]);
                *i += 1;
            }
            element(&sym)?;
            Composition::from([(sym, 1)])
        } else {
            break;
        };
        let n = if *i < chars.len() && chars[*i].is_ascii_digit() {
            read_count(chars, i)?
        } else {
            1
        };
        for (k, v) in sub {
            *comp.entry(k).or_insert(0) += v.checked_mul(n)?;
        }
    }
    Some(comp)
}

/// Molar mass (exact) of a composition.
pub fn molar_mass(comp: &Composition) -> Option<BigRational> {
    molar_mass_e4(comp).map(e4_rational)
}

/// Molar mass in units of 0.0001 g/mol.
pub fn molar_mass_e4(comp: &Composition) -> Option<i64> {
    comp.iter().try_fold(0i64, |acc, (sym, n)| {
        acc.checked_add(
            element(sym)?
                .weight_e4
                .checked_mul(i64::try_from(*n).ok()?)?,
        )
    })
}

/// An amount in units of 0.0001 as an exact rational.
pub fn e4_rational(v: i64) -> BigRational {
    BigRational::new(BigInt::from(v), BigInt::from(10_000))
}

/// An amount in units of 0.0001 as exact decimal text without trailing zeros (`18.015`).
pub fn e4_text(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    let (int, frac) = (a / 10_000, a % 10_000);
    if frac == 0 {
        format!("{sign}{int}")
    } else {
        let f = format!("{frac:04}");
        format!("{sign}{int}.{}", f.trim_end_matches('0'))
    }
}

/// An ion: formula text, whether it needs brackets when repeated, and its charge magnitude.
#[derive(Debug, Clone, Copy)]
pub struct Ion {
    pub formula: &'static str,
    pub polyatomic: bool,
    pub charge: u32,
}

const fn ion(formula: &'static str, polyatomic: bool, charge: u32) -> Ion {
    Ion {
        formula,
        polyatomic,
        charge,
    }
}

pub const CATIONS: &[Ion] = &[
    ion("Li", false, 1),
    ion("Na", false, 1),
    ion("K", false, 1),
    ion("Ag", false, 1),
    ion("NH4", true, 1),
    ion("Mg", false, 2),
    ion("Ca", false, 2),
    ion("Ba", false, 2),
    ion("Sr", false, 2),
    ion("Zn", false, 2),
    ion("Fe", false, 2),
    ion("Cu", false, 2),
    ion("Pb", false, 2),
    ion("Ni", false, 2),
    ion("Co", false, 2),
    ion("Mn", false, 2),
    ion("Al", false, 3),
    ion("Cr", false, 3),
];

pub const ANIONS: &[Ion] = &[
    ion("F", false, 1),
    ion("Cl", false, 1),
    ion("Br", false, 1),
    ion("I", false, 1),
    ion("OH", true, 1),
    ion("NO3", true, 1),
    ion("NO2", true, 1),
    ion("HCO3", true, 1),
    ion("ClO3", true, 1),
    ion("MnO4", true, 1),
    ion("C2H3O2", true, 1),
    ion("SO4", true, 2),
    ion("SO3", true, 2),
    ion("CO3", true, 2),
    ion("CrO4", true, 2),
    ion("O", false, 2),
    ion("S", false, 2),
    ion("PO4", true, 3),
];

/// The neutral formula of a cation and an anion: `Al2(SO4)3`, `NaCl`, `(NH4)3PO4`.
pub fn ionic_formula(cat: &Ion, an: &Ion) -> String {
    let l = cat.charge.lcm(&an.charge);
    let (nc, na) = (l / cat.charge, l / an.charge);
    let part = |i: &Ion, n: u32| match (n, i.polyatomic) {
        (1, _) => i.formula.to_string(),
        (n, true) => format!("({}){n}", i.formula),
        (n, false) => format!("{}{n}", i.formula),
    };
    format!("{}{}", part(cat, nc), part(an, na))
}

/// A reaction: formulas of reactants and products.
#[derive(Debug, Clone, PartialEq)]
pub struct Reaction {
    pub reactants: Vec<String>,
    pub products: Vec<String>,
}

impl Reaction {
    pub fn species(&self) -> impl Iterator<Item = &String> {
        self.reactants.iter().chain(self.products.iter())
    }

    /// `a A + b B -> c C` with coefficient 1 omitted.
    pub fn text(&self, coefs: Option<&[u64]>) -> String {
        let term = |i: usize, f: &str| match coefs.and_then(|c| c.get(i)) {
            Some(1) | None => f.to_string(),
            Some(k) => format!("{k} {f}"),
        };
        let r: Vec<String> = self
            .reactants
            .iter()
            .enumerate()
            .map(|(i, f)| term(i, f))
            .collect();
        let n = self.reactants.len();
        let p: Vec<String> = self
            .products
            .iter()
            .enumerate()
            .map(|(i, f)| term(n + i, f))
            .collect();
        format!("{} -> {}", r.join(" + "), p.join(" + "))
    }

    /// The element matrix: one row per element, one column per species, products negated.
    fn matrix(&self) -> Option<(Vec<String>, Vec<Vec<i64>>)> {
        let comps: Vec<Composition> = self
            .species()
            .map(|s| parse_formula(s))
            .collect::<Option<_>>()?;
        let mut elems: Vec<String> = comps.iter().flat_map(|c| c.keys().cloned()).collect();
        elems.sort();
        elems.dedup();
        let nr = self.reactants.len();
        let rows = elems
            .iter()
            .map(|e| {
                comps
                    .iter()
                    .enumerate()
                    .map(|(j, c)| {
                        let v = *c.get(e).unwrap_or(&0) as i64;
                        if j < nr {
                            v
                        } else {
                            -v
                        }
                    })
                    .collect()
            })
            .collect();
        Some((elems, rows))
    }

    /// The smallest positive integer coefficients, when the balance is unique up to scale.
    pub fn balance(&self) -> Option<Vec<u64>> {
        self.balance_worked(&mut String::new())
    }

    /// `balance` with the worked solution (atom equations, elimination, scaling) in `t`.
    pub fn balance_worked(&self, t: &mut String) -> Option<Vec<u64>> {
        let (elems, rows) = self.matrix()?;
        let n = self.reactants.len() + self.products.len();
        let names: Vec<char> = "abcdefghijklmn".chars().take(n).collect();
        if names.len() < n {
            return None;
        }
        let _ = writeln!(
            t,
            "Write the unknown coefficients as {}: {}.",
            names
                .iter()
                .map(char::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            self.text_with_letters(&names)
        );
        let _ = writeln!(
            t,
            "Each element must have as many atoms on the left as on the right:"
        );
        for (e, row) in elems.iter().zip(&rows) {
            let side = |pos: bool| {
                let terms: Vec<String> = row
                    .iter()
                    .zip(&names)
                    .filter(|(v, _)| if pos { **v > 0 } else { **v < 0 })
                    .map(|(v, c)| {
                        if v.abs() == 1 {
                            c.to_string()
                        } else {
                            format!("{}{c}", v.abs())
                        }
                    })
                    .collect();
                terms.join(" + ")
            };
            let _ = writeln!(t, "{e}: {} = {}", side(true), side(false));
        }
        let x = match substitution_steps(&elems, &rows, &names, t) {
            Some((f, sub)) => {
                let _ = writeln!(
                    t,
                    "Take {} = 1: {}.",
                    names[f],
                    names
                        .iter()
                        .zip(&sub)
                        .map(|(c, v)| format!("{c} = {}", crate::math::grade::rational_str(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                sub
            }
            None => {
                let (free, x) = null_vector(&rows, n)?;
                let _ = writeln!(
                    t,
                    "Eliminating gives, with {} = 1: {}.",
                    names[free],
                    names
                        .iter()
                        .zip(&x)
                        .map(|(c, v)| format!("{c} = {}", crate::math::grade::rational_str(v)))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                x
            }
        };
        let l = x.iter().fold(BigInt::one(), |acc, v| acc.lcm(v.denom()));
        let mut ints: Vec<BigInt> = x
            .iter()
            .map(|v| (v * BigRational::from_integer(l.clone())).to_integer())
            .collect();
        if ints.iter().all(|v| v.is_negative()) {
            ints.iter_mut().for_each(|v| *v = -v.clone());
        }
        if ints.iter().any(|v| !v.is_positive()) {
            return None;
        }
        let g = ints.iter().fold(BigInt::zero(), |acc, v| acc.gcd(v));
        let out: Vec<u64> = ints
            .iter()
            .map(|v| (v / &g).to_u64())
            .collect::<Option<_>>()?;
        if l > BigInt::one() {
            let _ = writeln!(
                t,
                "Multiply every coefficient by {l} to clear the fractions: {}.",
                names
                    .iter()
                    .zip(&out)
                    .map(|(c, v)| format!("{c} = {v}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        Some(out)
    }

    fn text_with_letters(&self, names: &[char]) -> String {
        let term = |i: usize, f: &String| format!("{} {f}", names.get(i).copied().unwrap_or('?'));
        let r: Vec<String> = self
            .reactants
            .iter()
            .enumerate()
            .map(|(i, f)| term(i, f))
            .collect();
        let n = self.reactants.len();
        let p: Vec<String> = self
            .products
            .iter()
            .enumerate()
            .map(|(i, f)| term(n + i, f))
            .collect();
        format!("{} -> {}", r.join(" + "), p.join(" + "))
    }

    /// Whether `coefs` conserve every element.
    pub fn conserves(&self, coefs: &[u64]) -> bool {
        let Some((_, rows)) = self.matrix() else {
            return false;
        };
        coefs.len() == self.reactants.len() + self.products.len()
            && rows.iter().all(|row| {
                row.iter()
                    .zip(coefs)
                    .map(|(&a, &c)| i128::from(a) * i128::from(c))
                    .sum::<i128>()
                    == 0
            })
    }
}

/// The null space of the element matrix by reduced row echelon form over the rationals:
/// `(free column, vector with that column 1)` when it is one-dimensional.
fn null_vector(rows: &[Vec<i64>], n: usize) -> Option<(usize, Vec<BigRational>)> {
    let mut m: Vec<Vec<BigRational>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .map(|&v| BigRational::from_integer(BigInt::from(v)))
                .collect()
        })
        .collect();
    let mut pivots = Vec::new();
    let mut r = 0;
    for col in 0..n {
        if r == m.len() {
            break;
        }
        let Some(p) = (r..m.len()).find(|&i| !m[i][col].is_zero()) else {
            continue;
        };
        m.swap(r, p);
        let inv = m[r][col].recip();
        for v in m[r].iter_mut() {
            *v *= &inv;
        }
        for i in 0..m.len() {
            if i != r && !m[i][col].is_zero() {
                let f = m[i][col].clone();
                let pivot = m[r].clone();
                for (x, p) in m[i].iter_mut().zip(&pivot) {
                    *x -= &f * p;
                }
            }
        }
        pivots.push(col);
        r += 1;
    }
    if n - pivots.len() != 1 {
        return None;
    }
    let free = (0..n).find(|c| !pivots.contains(c))?;
    let mut x = vec![BigRational::zero(); n];
    x[free] = BigRational::one();
    for (i, &pc) in pivots.iter().enumerate() {
        x[pc] = -m[i][free].clone();
    }
    Some((free, x))
}

/// Solves the atom equations by substitution, the way it is done by hand: pick one
/// coefficient as the unknown `t`, then repeatedly use an element whose equation has a
/// single coefficient left. Writes the steps and returns true when that resolves all of
/// them (`None` leaves `t` untouched, and the caller reports the elimination result).
fn substitution_steps(
    elems: &[String],
    rows: &[Vec<i64>],
    names: &[char],
    t: &mut String,
) -> Option<(usize, Vec<BigRational>)> {
    use num_traits::{CheckedAdd, CheckedDiv, CheckedMul};
    // Small exact rationals (checked: an overflow abandons substitution, and the caller
    // falls back to big-rational elimination).
    type Q = num_rational::Ratio<i128>;
    let n = names.len();
    'free: for free in 0..n {
        let mut known: Vec<Option<Q>> = vec![None; n];
        known[free] = Some(Q::from_integer(1));
        let mut out = String::new();
        let _ = writeln!(out, "Express every coefficient through {}:", names[free]);
        let mut used = vec![false; rows.len()];
        loop {
            if known.iter().all(Option::is_some) {
                let x: Vec<Q> = known.into_iter().map(Option::unwrap_or_default).collect();
                // Every coefficient followed from the free one, so the balance is unique up to
                // scale; it exists only if the equations not used above hold too.
                let holds = rows.iter().all(|row| {
                    row.iter()
                        .zip(&x)
                        .try_fold(Q::from_integer(0), |acc, (&a, v)| {
                            acc.checked_add(&Q::from_integer(i128::from(a)).checked_mul(v)?)
                        })
                        .is_some_and(|sum| sum == Q::from_integer(0))
                });
                if !holds {
                    return None;
                }
                t.push_str(&out);
                let big = x
                    .iter()
                    .map(|q| BigRational::new(BigInt::from(*q.numer()), BigInt::from(*q.denom())))
                    .collect();
                return Some((free, big));
            }
            let step = rows.iter().enumerate().find_map(|(ri, row)| {
                if used[ri] {
                    return None;
                }
                let mut unknown = (0..n).filter(|&j| row[j] != 0 && known[j].is_none());
                match (unknown.next(), unknown.next()) {
                    (Some(u), None) => Some((ri, u)),
                    _ => None,
                }
            });
            let Some((ri, u)) = step else {
                continue 'free;
            };
            used[ri] = true;
            let row = &rows[ri];
            let mut sum = Q::from_integer(0);
            for (j, (&a, k)) in row.iter().zip(&known).enumerate() {
                if j != u && a != 0 {
                    if let Some(v) = k {
                        sum = Q::from_integer(i128::from(a))
                            .checked_mul(v)
                            .and_then(|p| sum.checked_add(&p))?;
                    }
                }
            }
            let val = (-sum).checked_div(&Q::from_integer(i128::from(row[u])))?;
            let coef = if *val.denom() == 1 {
                val.numer().to_string()
            } else {
                format!("({}/{})", val.numer(), val.denom())
            };
            let coef = if coef == "1" { String::new() } else { coef };
            let _ = writeln!(
                out,
                "{} balance gives {} = {coef}{}",
                elems[ri], names[u], names[free]
            );
            known[u] = Some(val);
        }
    }
    None
}

/// The reactions of `envs/data/reactions.txt` (lines `A + B -> C + D`).
pub fn listed_reactions() -> &'static [Reaction] {
    static LIST: OnceLock<Vec<Reaction>> = OnceLock::new();
    LIST.get_or_init(|| {
        include_str!("../../data/reactions.txt")
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(parse_reaction_line)
            .collect()
    })
}

fn parse_reaction_line(l: &str) -> Option<Reaction> {
    let (a, b) = l.split_once("->")?;
    let side = |s: &str| {
        s.split(" + ")
            .map(|f| f.trim().to_string())
            .collect::<Vec<_>>()
    };
    Some(Reaction {
        reactants: side(a),
        products: side(b),
    })
}

/// Formats an exact decimal weight sum.
pub fn mass_text(m: &BigRational) -> String {
    crate::math::grade::exact_decimal(m).unwrap_or_else(|| crate::math::grade::decimal_str(m, 4))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_and_formulas() {
        assert_eq!(elements().len(), 64);
        let c = parse_formula("Al2(SO4)3").unwrap();
        assert_eq!(c.get("Al"), Some(&2));
        assert_eq!(c.get("O"), Some(&12));
        let h = parse_formula("CuSO4·5H2O").unwrap();
        assert_eq!(h.get("H"), Some(&10));
        assert_eq!(h.get("O"), Some(&9));
        for bad in ["", "Xx2", "Al2(SO4", "H0", "h2o", "NaCl)"] {
            assert!(parse_formula(bad).is_none(), "{bad}");
        }
        assert_eq!(
            mass_text(&molar_mass(&parse_formula("H2O").unwrap()).unwrap()),
            "18.015"
        );
        assert_eq!(ionic_formula(&CATIONS[16], &ANIONS[11]), "Al2(SO4)3");
        assert_eq!(ionic_formula(&CATIONS[4], &ANIONS[17]), "(NH4)3PO4");
    }

    #[test]
    fn balances_and_checks() {
        let r = Reaction {
            reactants: vec!["Fe".into(), "O2".into()],
            products: vec!["Fe2O3".into()],
        };
        let mut t = String::new();
        assert_eq!(r.balance_worked(&mut t), Some(vec![4, 3, 2]));
        assert!(
            t.contains("Fe balance gives") && t.contains("Multiply every coefficient by 4"),
            "{t}"
        );
        assert!(r.conserves(&[4, 3, 2]) && !r.conserves(&[2, 3, 2]));
        // No positive balance (oxygen appears on one side only), and two independent ones.
        let none = Reaction {
            reactants: vec!["NaCl".into()],
            products: vec!["Na".into(), "Cl2".into(), "O2".into()],
        };
        assert_eq!(none.balance(), None);
        let two = Reaction {
            reactants: vec!["H2".into(), "O2".into()],
            products: vec!["H2O".into(), "H2O2".into()],
        };
        assert_eq!(two.balance(), None);
        // Every listed reaction has a unique balance.
        assert!(listed_reactions().len() >= 20);
        for r in listed_reactions() {
            assert!(r.balance().is_some(), "{r:?}");
        }
    }
}
