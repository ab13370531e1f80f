//! `syllogisms`: which candidate conclusions follow from categorical premises (All / No /
//! Some / Some-not; Aristotle's four forms, read in the modern Boolean way without
//! existential import). Premises chain three to five terms (sorites at higher levels).
//!
//! Validity is decided by our own Venn-region check: universal statements empty regions,
//! particular statements need some region left non-empty, and a conclusion follows iff the
//! premises plus its negation cannot all hold. That check is written out as the chain of
//! thought. The answer is the set of letters of the valid conclusions, compared exactly.

use crate::env::{Domain, Family, Problem};
use crate::kit::{letter_name, push_int, read_gold, reject, render, tokens, Trace};
use crate::rng::TaskRng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use verigym_verifiers::{Verdict, VerifyError};

const TEMPLATE: &str = crate::template!("syllogisms");

const NOUNS: [&str; 24] = [
    "artists",
    "bakers",
    "climbers",
    "dancers",
    "engineers",
    "farmers",
    "gardeners",
    "hikers",
    "inventors",
    "jugglers",
    "knitters",
    "lawyers",
    "musicians",
    "nurses",
    "owls",
    "painters",
    "quilters",
    "runners",
    "sailors",
    "teachers",
    "umpires",
    "violinists",
    "writers",
    "zookeepers",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyllogismsConfig {
    /// Terms in the premise chain (premises = terms - 1).
    pub terms: usize,
    /// Candidate conclusions to judge.
    pub conclusions: usize,
}

pub struct Syllogisms {
    config: SyllogismsConfig,
}

/// The four categorical forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Form {
    All,
    No,
    Some,
    SomeNot,
}

/// "Form X Y" over term indices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub form: Form,
    pub subject: usize,
    pub predicate: usize,
}

impl Statement {
    /// Appends the statement in words, e.g. "Some owls are not nurses.".
    fn write_text(&self, out: &mut String, names: &[&str]) {
        let (s, p) = (names[self.subject], names[self.predicate]);
        out.push_str(match self.form {
            Form::All => "All ",
            Form::No => "No ",
            Form::Some | Form::SomeNot => "Some ",
        });
        out.push_str(s);
        out.push_str(if self.form == Form::SomeNot {
            " are not "
        } else {
            " are "
        });
        out.push_str(p);
        out.push('.');
    }

    /// The regions the statement talks about, as a set of region numbers (bit r set: the
    /// region whose terms are the bits of r): for universal forms the regions it empties,
    /// for particular forms the regions one of which is inhabited. At most 6 terms, so 64
    /// regions fit a u64.
    fn regions(&self, terms: usize) -> u64 {
        let (s, p) = (in_term(self.subject, terms), in_term(self.predicate, terms));
        match self.form {
            Form::All | Form::SomeNot => s & !p,
            Form::No | Form::Some => s & p,
        }
    }

    fn universal(&self) -> bool {
        matches!(self.form, Form::All | Form::No)
    }

    /// The contradictory statement (All <-> Some-not, No <-> Some).
    fn negation(&self) -> Statement {
        let form = match self.form {
            Form::All => Form::SomeNot,
            Form::SomeNot => Form::All,
            Form::No => Form::Some,
            Form::Some => Form::No,
        };
        Statement { form, ..*self }
    }
}

/// The regions inside term `t` among the 2^terms regions: region r is inside t when bit t
/// of r is set. Region sets are u64 bit sets, so at most 6 terms.
fn in_term(t: usize, terms: usize) -> u64 {
    const INSIDE: [u64; 6] = [
        0xAAAA_AAAA_AAAA_AAAA,
        0xCCCC_CCCC_CCCC_CCCC,
        0xF0F0_F0F0_F0F0_F0F0,
        0xFF00_FF00_FF00_FF00,
        0xFFFF_0000_FFFF_0000,
        0xFFFF_FFFF_0000_0000,
    ];
    let all = if terms >= 6 {
        u64::MAX
    } else {
        (1u64 << (1u32 << terms)) - 1
    };
    INSIDE.get(t).map_or(0, |m| m & all)
}

/// Whether the statements can all be true together.
fn satisfiable(statements: &[Statement], terms: usize) -> bool {
    let empty = emptied(statements, terms);
    statements
        .iter()
        .filter(|s| !s.universal())
        .all(|s| s.regions(terms) & !empty != 0)
}

/// The regions the universal statements among `statements` empty.
fn emptied(statements: &[Statement], terms: usize) -> u64 {
    statements
        .iter()
        .filter(|s| s.universal())
        .fold(0, |m, s| m | s.regions(terms))
}

fn follows(premises: &[Statement], conclusion: &Statement, terms: usize) -> bool {
    let neg = conclusion.negation();
    let empty = emptied(premises, terms)
        | if neg.universal() {
            neg.regions(terms)
        } else {
            0
        };
    premises
        .iter()
        .chain(std::iter::once(&neg))
        .filter(|s| !s.universal())
        .any(|s| s.regions(terms) & !empty == 0)
}

/// Appends the region whose terms are the bits of `r`, e.g. "owls & non-nurses".
fn write_region(out: &mut String, r: u32, names: &[&str]) {
    for (t, name) in names.iter().enumerate() {
        if t > 0 {
            out.push_str(" & ");
        }
        if r & (1 << t) == 0 {
            out.push_str("non-");
        }
        out.push_str(name);
    }
}

/// Appends why the premises plus a denial can or cannot all hold, given the regions the
/// universal premises empty.
fn explain(
    out: &mut String,
    premises: &[Statement],
    denial: &Statement,
    empty: u64,
    names: &[&str],
) {
    let t = names.len();
    if !denial.universal() {
        let open = denial.regions(t) & !empty;
        if open != 0 {
            out.push_str("The denial can hold: the region ");
            write_region(out, open.trailing_zeros(), names);
            out.push_str(" is still open.");
        } else {
            out.push_str("Every region where the denial could hold is emptied by the premises.");
        }
        return;
    }
    let emptied = empty | denial.regions(t);
    for p in premises.iter().filter(|p| !p.universal()) {
        if p.regions(t) & !emptied == 0 {
            out.push_str("The denial would also empty the last open region of \"");
            p.write_text(out, names);
            out.push_str("\".");
            return;
        }
    }
    out.push_str(if premises.iter().all(Statement::universal) {
        "No premise says that anything exists, so the denial (which empties regions) fits them."
    } else {
        "With the denial's regions emptied too, every 'some' premise still has an open region."
    });
}

fn random_form(rng: &mut TaskRng) -> Form {
    [Form::All, Form::No, Form::Some, Form::SomeNot][rng.below(4) as usize]
}

#[derive(Deserialize)]
struct Gold {
    valid: Vec<usize>,
    count: usize,
}

impl Family for Syllogisms {
    type Config = SyllogismsConfig;
    const NAME: &'static str = "syllogisms";
    const DOMAIN: Domain = Domain::Logic;
    const DESCRIPTION: &'static str =
        "Which conclusions follow from categorical premises (Venn-region check, no existential import)";

    fn config_for(difficulty: u8) -> SyllogismsConfig {
        const LEVELS: [(usize, usize); 10] = [
            (3, 2),
            (3, 3),
            (3, 4),
            (4, 3),
            (4, 4),
            (4, 5),
            (5, 4),
            (5, 5),
            (5, 6),
            (5, 6),
        ];
        let (terms, conclusions) = LEVELS[usize::from(difficulty.clamp(1, 10)) - 1];
        SyllogismsConfig { terms, conclusions }
    }

    fn new(config: SyllogismsConfig) -> Result<Self, String> {
        if !(3..=6).contains(&config.terms) {
            return Err("terms must be in 3..=6".into());
        }
        if !(1..=8).contains(&config.conclusions) {
            return Err("conclusions must be in 1..=8".into());
        }
        Ok(Syllogisms { config })
    }

    fn generate(&self, rng: &mut TaskRng) -> Result<Problem, String> {
        let c = &self.config;
        let t = c.terms;
        let mut pool = NOUNS;
        rng.shuffle(&mut pool);
        let names: &[&str] = &pool[..t];
        // A chain t0 - t1 - ... of premises, mostly universal so something follows; the
        // premises must be jointly satisfiable.
        let mut premises: Vec<Statement> = Vec::with_capacity(t);
        for _ in 0..50 {
            premises.clear();
            premises.extend((0..t - 1).map(|i| {
                let form = if rng.chance(0.6) {
                    [Form::All, Form::No][rng.below(2) as usize]
                } else {
                    random_form(rng)
                };
                let (a, b) = if rng.chance(0.5) {
                    (i, i + 1)
                } else {
                    (i + 1, i)
                };
                Statement {
                    form,
                    subject: a,
                    predicate: b,
                }
            }));
            if satisfiable(&premises, t) {
                break;
            }
        }
        rng.shuffle(&mut premises);
        // Candidate conclusions: distinct statements between two terms, with some that
        // follow mixed in when possible.
        let mut valid_pool = Vec::with_capacity(4 * t * t);
        let mut invalid_pool = Vec::with_capacity(4 * t * t);
        for a in 0..t {
            for b in 0..t {
                if a == b {
                    continue;
                }
                for form in [Form::All, Form::No, Form::Some, Form::SomeNot] {
                    let s = Statement {
                        form,
                        subject: a,
                        predicate: b,
                    };
                    if premises.contains(&s) {
                        continue;
                    }
                    if follows(&premises, &s, t) {
                        valid_pool.push(s);
                    } else {
                        invalid_pool.push(s);
                    }
                }
            }
        }
        rng.shuffle(&mut valid_pool);
        rng.shuffle(&mut invalid_pool);
        let n_valid = rng.range_usize(0, c.conclusions.min(valid_pool.len()));
        let mut candidates: Vec<Statement> = valid_pool.into_iter().take(n_valid).collect();
        candidates.extend(
            invalid_pool
                .into_iter()
                .take(c.conclusions - candidates.len()),
        );
        rng.shuffle(&mut candidates);
        let valid: Vec<usize> = (0..candidates.len())
            .filter(|&i| follows(&premises, &candidates[i], t))
            .collect();
        // Chain of thought: the regions the premises empty, then each conclusion's test.
        let mut trace = Trace::new();
        trace.push("Think of the regions of a Venn diagram of the terms. Universal premises empty regions; a 'some' premise needs one of its regions inhabited. A conclusion must be true exactly when the premises and the conclusion's denial cannot hold together.");
        let empty = emptied(&premises, t);
        for p in premises.iter().filter(|p| p.universal()) {
            let rs = p.regions(t);
            trace.line(|s| {
                s.push('"');
                p.write_text(s, names);
                s.push_str("\" empties ");
                push_int(s, rs.count_ones() as usize);
                s.push_str(" region(s), e.g. ");
                write_region(s, rs.trailing_zeros(), names);
                s.push('.');
            });
        }
        for p in premises.iter().filter(|p| !p.universal()) {
            let open = (p.regions(t) & !empty).count_ones();
            trace.line(|s| {
                s.push('"');
                p.write_text(s, names);
                s.push_str("\" needs one of its regions inhabited; ");
                push_int(s, open as usize);
                s.push_str(" of them are still open.");
            });
        }
        for (i, c) in candidates.iter().enumerate() {
            let neg = c.negation();
            trace.line(|s| {
                s.push_str(&letter_name(i));
                s.push_str(") \"");
                c.write_text(s, names);
                s.push_str("\" Its denial is \"");
                neg.write_text(s, names);
                s.push_str("\". ");
                explain(s, &premises, &neg, empty, names);
                s.push_str(if valid.contains(&i) {
                    " So it follows."
                } else {
                    " So it does not follow."
                });
            });
        }
        let mut answer = String::with_capacity(3 * valid.len() + 4);
        if valid.is_empty() {
            answer.push_str("none");
        } else {
            for (j, &i) in valid.iter().enumerate() {
                if j > 0 {
                    answer.push_str(", ");
                }
                answer.push_str(&letter_name(i));
            }
        }
        let premise_lines: Vec<String> = premises
            .iter()
            .map(|p| {
                let mut line = String::new();
                p.write_text(&mut line, names);
                line
            })
            .collect();
        let conclusion_lines: Vec<String> = candidates
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut line = format!("{}) ", letter_name(i));
                c.write_text(&mut line, names);
                line
            })
            .collect();
        let question = render(
            TEMPLATE,
            &[
                ("premises", &premise_lines.join("\n")),
                ("conclusions", &conclusion_lines.join("\n")),
            ],
        );
        let mut conclusion = String::with_capacity(answer.len() + 40);
        conclusion.push_str("The conclusions that must be true: ");
        conclusion.push_str(&answer);
        conclusion.push('.');
        let mut gold = serde_json::Map::new();
        gold.insert("count".into(), candidates.len().into());
        gold.insert(
            "valid".into(),
            Value::Array(valid.iter().map(|&v| v.into()).collect()),
        );
        Ok(Problem {
            question,
            answer: Value::Object(gold),
            thinking: trace.finish(conclusion),
            final_answer: answer,
        })
    }

    fn verify(&self, gold: &serde_json::Value, answer: &str) -> Result<Verdict, VerifyError> {
        let g: Gold = read_gold(gold)?;
        if g.count > 26 || g.valid.iter().any(|&v| v >= g.count) {
            return Err(VerifyError::InvalidGold("bad syllogism gold".into()));
        }
        Ok(check(&g.valid, g.count, answer))
    }
}

/// The answer's set of letters must equal the set of valid conclusions.
pub fn check(valid: &[usize], count: usize, answer: &str) -> Verdict {
    let toks = tokens(answer);
    let mut chosen = Vec::new();
    if toks.len() == 1 && toks[0].eq_ignore_ascii_case("none") {
        // the empty set
    } else {
        for t in toks {
            let t = t.trim_end_matches([')', '.']);
            let Some(i) = (0..count).find(|&i| letter_name(i).eq_ignore_ascii_case(t)) else {
                return reject(
                    answer,
                    format!("'{t}' is not one of the conclusion letters"),
                );
            };
            if chosen.contains(&i) {
                return reject(answer, format!("{t} is listed twice"));
            }
            chosen.push(i);
        }
        if chosen.is_empty() {
            return reject(answer, "no letters given");
        }
    }
    chosen.sort_unstable();
    let mut want = valid.to_vec();
    want.sort_unstable();
    if chosen != want {
        return reject(answer, "not exactly the conclusions that follow");
    }
    Verdict::correct(answer.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(form: Form, subject: usize, predicate: usize) -> Statement {
        Statement {
            form,
            subject,
            predicate,
        }
    }

    #[test]
    fn region_sets_match_their_definition() {
        for terms in 3..=6 {
            for (a, b) in [(0, 1), (2, 0), (terms - 1, 1)] {
                for form in [Form::All, Form::No, Form::Some, Form::SomeNot] {
                    let naive = (0..1u32 << terms)
                        .filter(|r| {
                            let (x, y) = (r & (1 << a) != 0, r & (1 << b) != 0);
                            x && (y == matches!(form, Form::No | Form::Some))
                        })
                        .fold(0u64, |m, r| m | 1 << r);
                    assert_eq!(
                        st(form, a, b).regions(terms),
                        naive,
                        "{terms} {a} {b} {form:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn classic_moods() {
        // Barbara: All M are P, All S are M => All S are P (valid); Some S are P does not
        // follow without existential import.
        let prem = [st(Form::All, 1, 2), st(Form::All, 0, 1)];
        assert!(follows(&prem, &st(Form::All, 0, 2), 3));
        assert!(!follows(&prem, &st(Form::Some, 0, 2), 3));
        // Darii: All M are P, Some S are M => Some S are P.
        assert!(follows(
            &[st(Form::All, 1, 2), st(Form::Some, 0, 1)],
            &st(Form::Some, 0, 2),
            3
        ));
        // Undistributed middle: All P are M, All S are M does not give All S are P.
        assert!(!follows(
            &[st(Form::All, 2, 1), st(Form::All, 0, 1)],
            &st(Form::All, 0, 2),
            3
        ));
        // Celarent: No M are P, All S are M => No S are P, and so No P are S.
        assert!(follows(
            &[st(Form::No, 1, 2), st(Form::All, 0, 1)],
            &st(Form::No, 2, 0),
            3
        ));
    }

    #[test]
    fn answer_must_be_exactly_the_valid_set() {
        assert!(check(&[0, 2], 4, "A, C").correct);
        assert!(check(&[0, 2], 4, "c a").correct);
        assert!(!check(&[0, 2], 4, "A").correct);
        assert!(!check(&[0, 2], 4, "A, B, C").correct);
        assert!(check(&[], 4, "none").correct);
        assert!(!check(&[], 4, "none, A").correct);
        assert!(!check(&[0], 4, "E").correct);
    }
}
