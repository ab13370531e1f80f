//! `ToolRegistry`: the tools an episode may call, by name — the builtins (`calculator`,
//! `python`) plus any a user registers. Duplicate names are rejected, as in the env
//! registry.

use super::calculator::Calculator;
use super::call::{CallError, ToolCall};
use super::python::Python;
use super::{Tool, ToolSpec};
use std::sync::Arc;
use thiserror::Error;

/// Why a tool could not be registered or selected.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ToolError {
    #[error("tool '{0}' is already registered")]
    Duplicate(String),
    #[error("unknown tool '{name}'; known tools: {known}")]
    Unknown { name: String, known: String },
}

/// Named tools, sorted by name. Cheap to clone (tools are shared).
#[derive(Clone, Default)]
pub struct ToolRegistry {
    tools: Vec<(String, Arc<dyn Tool>)>,
}

impl ToolRegistry {
    pub fn empty() -> Self {
        ToolRegistry::default()
    }

    /// The builtin tools: `calculator` and `python`.
    pub fn builtin() -> Self {
        let mut r = ToolRegistry::empty();
        // Two fixed, distinct names: registering cannot fail.
        let _ = r.register(Box::new(Calculator));
        let _ = r.register(Box::new(Python::default()));
        r
    }

    /// The builtin tools named in `names` only.
    pub fn builtin_subset(names: &[&str]) -> Result<Self, ToolError> {
        let all = ToolRegistry::builtin();
        let mut r = ToolRegistry::empty();
        for n in names {
            let tool = all.get(n).ok_or_else(|| ToolError::Unknown {
                name: n.to_string(),
                known: all.names().join(", "),
            })?;
            r.insert(n.to_string(), tool.clone())?;
        }
        Ok(r)
    }

    /// Adds a tool; a name already present is an error.
    pub fn register(&mut self, tool: Box<dyn Tool>) -> Result<(), ToolError> {
        let name = tool.spec().name;
        self.insert(name, Arc::from(tool))
    }

    fn insert(&mut self, name: String, tool: Arc<dyn Tool>) -> Result<(), ToolError> {
        match self.tools.binary_search_by(|(n, _)| n.cmp(&name)) {
            Ok(_) => Err(ToolError::Duplicate(name)),
            Err(pos) => {
                self.tools.insert(pos, (name, tool));
                Ok(())
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()
            .map(|i| &self.tools[i].1)
    }

    pub fn names(&self) -> Vec<String> {
        self.tools.iter().map(|(n, _)| n.clone()).collect()
    }

    pub fn specs(&self) -> Vec<ToolSpec> {
        self.tools.iter().map(|(_, t)| t.spec()).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }

    /// Runs one call: the tool's result, or the error text the model reads (without the
    /// `error: ` prefix, which the episode adds).
    pub fn call(&self, call: &ToolCall) -> Result<String, String> {
        let tool = self.get(&call.name).ok_or_else(|| {
            CallError::UnknownTool {
                name: call.name.clone(),
                known: self.names().join(", "),
            }
            .to_string()
        })?;
        tool.call(&serde_json::Value::Object(call.arguments.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    struct Echo;

    impl Tool for Echo {
        fn spec(&self) -> ToolSpec {
            ToolSpec {
                name: "echo".into(),
                description: "Echoes its arguments.".into(),
                parameters: json!({"type": "object"}),
            }
        }
        fn call(&self, arguments: &Value) -> Result<String, String> {
            Ok(arguments.to_string())
        }
    }

    #[test]
    fn builtins_user_tools_and_duplicates() {
        let mut r = ToolRegistry::builtin();
        assert_eq!(r.names(), ["calculator", "python"]);
        r.register(Box::new(Echo)).unwrap();
        assert_eq!(r.names(), ["calculator", "echo", "python"]);
        assert_eq!(
            r.register(Box::new(Echo)),
            Err(ToolError::Duplicate("echo".into()))
        );
        assert_eq!(
            r.register(Box::new(Calculator)),
            Err(ToolError::Duplicate("calculator".into()))
        );
        let call = |name: &str| ToolCall {
            name: name.into(),
            arguments: json!({"expression": "6*7"}).as_object().unwrap().clone(),
        };
        assert_eq!(r.call(&call("calculator")).unwrap(), "42");
        let err = r.call(&call("nope")).unwrap_err();
        assert!(
            err.contains("unknown tool 'nope'") && err.contains("calculator"),
            "{err}"
        );
        let only = ToolRegistry::builtin_subset(&["calculator"]).unwrap();
        assert_eq!(only.names(), ["calculator"]);
        assert!(ToolRegistry::builtin_subset(&["shell"]).is_err());
    }
}
