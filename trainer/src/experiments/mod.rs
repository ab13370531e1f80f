//! `verigym experiment NAME`: three classic findings about reasoning models reproduced on a
//! CPU in minutes — RL beyond imitation, tokens to think, tokens not characters — on the
//! SFT / eval / GRPO pipeline shared with `verigym demo`.

pub mod pipeline;
