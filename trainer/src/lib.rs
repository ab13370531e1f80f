//! verigym-trainer: the only crate that links libtorch (tch). Policy model, tokenizer,
//! sampler, SFT, GRPO, reward model, checkpoints and metrics.

pub mod demo;
pub mod device;
pub mod grpo;
pub mod model;
pub mod sampler;
pub mod tokenizer;

pub use device::DeviceChoice;
