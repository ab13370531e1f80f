//! verigym-trainer: the only crate that links libtorch (tch). Along the data path: the
//! policy (`policy`, with the fused CPU engine in `kernels`), rollouts (`rollout`), the
//! three training stages (`lm` for pretraining and SFT, `grpo` for RL, sharing `optim`),
//! evaluation (`eval`), the recipes built from them (`recipes`: demo, experiments), and
//! an OpenAI-compatible server for a checkpoint (`serve`).

pub mod data;
pub mod device;
pub mod eval;
pub mod grpo;
pub mod kernels;
pub mod lm;
pub mod optim;
pub mod policy;
pub mod recipes;
pub mod rm;
pub mod rollout;
pub mod serve;
pub mod util;

pub use device::DeviceChoice;
