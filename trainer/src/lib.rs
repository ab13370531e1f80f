//! verigym-trainer: the only crate that links libtorch (tch). Policy model, tokenizer,
//! sampler, SFT, GRPO, reward model, checkpoints and metrics.

pub mod checkpoint;
pub mod data;
pub mod demo;
pub mod device;
pub mod eval;
pub mod experiments;
pub mod grpo;
pub mod kernels;
pub mod model;
pub mod plot;
pub mod policy_cli;
pub mod pretrain;
pub mod sampler;
pub mod sft;
pub mod tokenizer;

pub use device::DeviceChoice;
