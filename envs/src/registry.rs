//! The registry: an explicit, alphabetised list of builtin environments, plus any the
//! user adds with one call. Duplicate names are rejected.

use crate::env::{Domain, EnvOptions, Environment, Family, FamilyEnv};
use crate::EnvError;
use serde::Serialize;
use std::sync::Arc;

type Builder = dyn Fn(&EnvOptions) -> Result<Box<dyn Environment>, EnvError> + Send + Sync;

/// One registered environment: its listing and how to build it.
#[derive(Clone)]
pub struct EnvEntry {
    pub name: String,
    pub domain: Domain,
    pub description: String,
    /// Whether its tasks are multi-turn episodes, and the tools they may call.
    pub multi_turn: bool,
    pub tools: Vec<String>,
    build: Arc<Builder>,
}

/// What `verigym list --json` prints per environment.
#[derive(Debug, Clone, Serialize)]
pub struct EnvListing {
    pub name: String,
    pub domain: Domain,
    pub description: String,
    pub difficulty: [u8; 2],
    pub multi_turn: bool,
    /// Names of the tools its episodes may call.
    pub tools: Vec<String>,
}

impl EnvEntry {
    /// An entry from any builder closure (for envs that are not a [`Family`]).
    pub fn new(
        name: impl Into<String>,
        domain: Domain,
        description: impl Into<String>,
        build: impl Fn(&EnvOptions) -> Result<Box<dyn Environment>, EnvError> + Send + Sync + 'static,
    ) -> Self {
        EnvEntry {
            name: name.into(),
            domain,
            description: description.into(),
            multi_turn: false,
            tools: Vec::new(),
            build: Arc::new(build),
        }
    }

    /// Marks the entry multi-turn (or not) with the tools its episodes may call, for
    /// listings (what the built env says is what counts when it runs).
    pub fn with_interaction(mut self, multi_turn: bool, tools: Vec<String>) -> Self {
        self.multi_turn = multi_turn;
        self.tools = tools;
        self
    }

    /// The entry for a [`Family`].
    pub fn family<F: Family>() -> Self {
        EnvEntry::new(F::NAME, F::DOMAIN, F::DESCRIPTION, |opts| {
            Ok(Box::new(FamilyEnv::<F>::build(opts)?) as Box<dyn Environment>)
        })
    }

    pub fn build(&self, opts: &EnvOptions) -> Result<Box<dyn Environment>, EnvError> {
        (self.build)(opts)
    }

    pub fn listing(&self) -> EnvListing {
        EnvListing {
            name: self.name.clone(),
            domain: self.domain,
            description: self.description.clone(),
            difficulty: [crate::env::MIN_DIFFICULTY, crate::env::MAX_DIFFICULTY],
            multi_turn: self.multi_turn,
            tools: self.tools.clone(),
        }
    }
}

/// The builtin environments: each domain module keeps its own explicit, alphabetised list
/// (a test keeps them so); add one line there per new family.
fn builtin_entries() -> Vec<EnvEntry> {
    domain_lists().into_iter().flatten().collect()
}

fn domain_lists() -> Vec<Vec<EnvEntry>> {
    vec![
        crate::algorithmic::entries(),
        crate::code::entries(),
        crate::interactive::entries(),
        crate::logic::entries(),
        crate::math::entries(),
        crate::preference::entries(),
        crate::puzzles::entries(),
        crate::science::entries(),
        crate::text::entries(),
    ]
}

/// Named environments, sorted by name.
#[derive(Clone)]
pub struct Registry {
    entries: Vec<EnvEntry>,
}

impl Registry {
    /// An empty registry (for tests and embedders who want only their own envs).
    pub fn empty() -> Self {
        Registry {
            entries: Vec::new(),
        }
    }

    /// All builtin environments.
    pub fn builtin() -> Self {
        let mut r = Registry::empty();
        for e in builtin_entries() {
            // The builtin list is fixed at compile time; the registry test catches a
            // duplicate there, so ignoring the error here cannot hide a user mistake.
            let _ = r.register(e);
        }
        r
    }

    /// Adds an environment; a name already present is an error.
    pub fn register(&mut self, entry: EnvEntry) -> Result<(), EnvError> {
        match self
            .entries
            .binary_search_by(|e| e.name.as_str().cmp(&entry.name))
        {
            Ok(_) => Err(EnvError::Duplicate(entry.name)),
            Err(pos) => {
                self.entries.insert(pos, entry);
                Ok(())
            }
        }
    }

    /// Adds a [`Family`] in one call.
    pub fn register_family<F: Family>(&mut self) -> Result<(), EnvError> {
        self.register(EnvEntry::family::<F>())
    }

    pub fn entries(&self) -> &[EnvEntry] {
        &self.entries
    }

    pub fn names(&self) -> Vec<&str> {
        self.entries.iter().map(|e| e.name.as_str()).collect()
    }

    /// The names of the single-turn environments in any of `domains`, sorted: what the
    /// completion-grading tests and benches iterate over, so a new family is covered by
    /// being registered. Multi-turn envs (graded by episode, not by one completion) are
    /// left out; the conformance suite covers them.
    pub fn names_in(&self, domains: &[Domain]) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|e| domains.contains(&e.domain) && !e.multi_turn)
            .map(|e| e.name.as_str())
            .collect()
    }

    /// The builtin single-turn families of `domains`, by name: test and bench lists come
    /// from here.
    pub fn builtin_names(domains: &[Domain]) -> Vec<String> {
        Registry::builtin()
            .names_in(domains)
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// The builtin env `name` at `difficulty` with its default config.
    pub fn builtin_at(name: &str, difficulty: u8) -> Result<Box<dyn Environment>, EnvError> {
        let options = EnvOptions {
            difficulty: Some(difficulty),
            config: None,
        };
        Registry::builtin().build(name, &options)
    }

    /// The entry for `name`, or an error listing every known name.
    pub fn get(&self, name: &str) -> Result<&EnvEntry, EnvError> {
        self.entries
            .binary_search_by(|e| e.name.as_str().cmp(name))
            .map(|i| &self.entries[i])
            .map_err(|_| EnvError::UnknownEnv {
                name: name.to_string(),
                known: self.names().join(", "),
            })
    }

    pub fn build(&self, name: &str, opts: &EnvOptions) -> Result<Box<dyn Environment>, EnvError> {
        self.get(name)?.build(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_list_is_alphabetised_without_duplicates() {
        for list in domain_lists() {
            let names: Vec<String> = list.into_iter().map(|e| e.name).collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted, "keep each domain's entries() alphabetised");
        }
        let mut all: Vec<String> = builtin_entries().into_iter().map(|e| e.name).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "two builtin environments share a name");
        assert_eq!(Registry::builtin().entries().len(), n);
    }

    #[test]
    fn duplicates_are_rejected_and_unknown_names_listed() {
        let mut r = Registry::builtin();
        let err = r
            .register_family::<crate::math::arithmetic::Arithmetic>()
            .unwrap_err();
        assert!(matches!(err, EnvError::Duplicate(ref n) if n == "arithmetic"));
        let err = r.get("nope").err().unwrap().to_string();
        assert!(
            err.contains("nope") && err.contains("arithmetic") && err.contains("countdown"),
            "{err}"
        );
    }
}
