//! verigym-envs: tasks, environments, episodes and the registry, with the builtin families
//! grouped by domain. No libtorch: usable from any trainer, reward server or eval.

pub mod algorithmic;
pub mod code;
pub mod conformance;
pub mod env;
pub mod episode;
pub mod error;
pub mod external;
pub mod feedback;
pub mod interactive;
pub mod kit;
pub mod logic;
pub mod math;
pub mod preference;
pub mod puzzles;
pub mod registry;
pub mod rng;
pub mod science;
pub mod scoring;
pub mod task;
pub mod text;
pub mod tools;

pub use env::{start_episode, Domain, EnvOptions, Environment, Family, FamilyEnv, Problem};
pub use episode::{replay, Episode, EpisodeLimits, EpisodeStats, Replay, Step};
pub use error::EnvError;
pub use registry::{EnvEntry, EnvListing, Registry};
pub use rng::TaskRng;
pub use scoring::{Graded, ScoredTask, Scorer};
pub use task::{Message, Prompt, Task};
pub use tools::{Tool, ToolRegistry, ToolSpec};
pub use verigym_verifiers::{Verdict, VerifyError};
