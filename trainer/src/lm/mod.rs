//! The next-token stages: pretraining on plain text and supervised fine-tuning on
//! demonstrations (completion-only loss), on one optimisation loop.

pub mod pretrain;
pub mod sft;
pub mod stage;
pub mod train;
