//! The optimiser of every stage (pretraining, SFT, GRPO): AdamW (Loshchilov & Hutter 2019, decoupled weight decay, as `torch.optim.AdamW`),
//! linear warmup + cosine decay, and global-norm gradient clipping
//! (`torch.nn.utils.clip_grad_norm_`). The optimiser's moments are plain tensors so they
//! can be saved and restored exactly: a resumed run continues bit for bit.
//!
//! Parameters stored in a lower precision (a bf16 policy) get fp32 master copies, and the
//! moments are fp32 too: each step updates the master and rounds it into the parameter.
//! Updating bf16 weights in place would lose every step smaller than half a bf16 ulp
//! (2^-9 of the weight): at GRPO's usual learning rates (1e-6) that is every step.

use crate::util::config::{finite_in, within, ConfigError};
use serde::{Deserialize, Serialize};
use std::path::Path;
use tch::{Kind, Tensor};

/// The learning-rate schedule after warmup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    #[default]
    Cosine,
    Constant,
    Linear,
}

/// Optimiser knobs (TOML `[optim]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OptimConfig {
    pub lr: f64,
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub warmup_steps: usize,
    pub schedule: Schedule,
    /// The schedule decays to `lr * min_lr_ratio`.
    pub min_lr_ratio: f64,
    /// Global gradient-norm clip; 0 disables clipping.
    pub max_grad_norm: f64,
}

impl Default for OptimConfig {
    fn default() -> Self {
        OptimConfig {
            lr: 1e-6,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-8,
            warmup_steps: 0,
            schedule: Schedule::Cosine,
            min_lr_ratio: 0.0,
            max_grad_norm: 1.0,
        }
    }
}

impl OptimConfig {
    /// Range checks, each error naming its `optim.` knob.
    pub fn validate(&self) -> Result<(), ConfigError> {
        finite_in("optim.lr", self.lr, 0.0, 1e3)?;
        finite_in("optim.weight_decay", self.weight_decay, 0.0, 1e3)?;
        for (name, b) in [("optim.beta1", self.beta1), ("optim.beta2", self.beta2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(ConfigError::Invalid(format!(
                    "{name} must be in [0, 1), got {b}"
                )));
            }
        }
        if !(self.eps.is_finite() && self.eps > 0.0 && self.eps <= 1.0) {
            return Err(ConfigError::Invalid(format!(
                "optim.eps must be a number in (0, 1], got {}",
                self.eps
            )));
        }
        within("optim.warmup_steps", self.warmup_steps, 0, 100_000_000)?;
        finite_in("optim.min_lr_ratio", self.min_lr_ratio, 0.0, 1.0)?;
        finite_in("optim.max_grad_norm", self.max_grad_norm, 0.0, 1e9)
    }
}

/// The learning rate at optimiser step `step` (0-based) of `total`.
pub fn lr_at(cfg: &OptimConfig, step: usize, total: usize) -> f64 {
    if step < cfg.warmup_steps {
        return cfg.lr * (step + 1) as f64 / cfg.warmup_steps as f64;
    }
    let span = total.saturating_sub(cfg.warmup_steps).max(1) as f64;
    let progress = ((step - cfg.warmup_steps) as f64 / span).clamp(0.0, 1.0);
    let min = cfg.lr * cfg.min_lr_ratio;
    match cfg.schedule {
        Schedule::Constant => cfg.lr,
        Schedule::Linear => min + (cfg.lr - min) * (1.0 - progress),
        Schedule::Cosine => {
            min + (cfg.lr - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
        }
    }
}

/// AdamW over a fixed list of parameters.
pub struct AdamW {
    params: Vec<Tensor>,
    /// fp32 copies of the parameters that are not fp32 (see the module doc).
    masters: Vec<Option<Tensor>>,
    m: Vec<Tensor>,
    v: Vec<Tensor>,
    step: i64,
    cfg: OptimConfig,
}

impl AdamW {
    pub fn new(params: Vec<Tensor>, cfg: OptimConfig) -> Self {
        let zeros = |p: &Tensor| Tensor::zeros(p.size(), (Kind::Float, p.device()));
        AdamW {
            m: params.iter().map(zeros).collect(),
            v: params.iter().map(zeros).collect(),
            masters: params
                .iter()
                .map(|p| (p.kind() != Kind::Float).then(|| p.detach().to_kind(Kind::Float)))
                .collect(),
            params,
            step: 0,
            cfg,
        }
    }

    pub fn steps_taken(&self) -> i64 {
        self.step
    }

    pub fn zero_grad(&mut self) {
        for p in &mut self.params {
            let mut g = p.grad();
            if g.defined() {
                let _ = g.detach_().zero_();
            }
        }
    }

    /// Global L2 norm of the gradients; when `max_norm > 0` they are scaled so the norm is
    /// at most `max_norm`. Returns the norm before clipping.
    pub fn clip_grad_norm(&mut self, max_norm: f64) -> f64 {
        let norms: Vec<Tensor> = self
            .params
            .iter()
            .map(|p| p.grad())
            .filter(|g| g.defined())
            .map(|g| g.norm().to_kind(Kind::Double).square())
            .collect();
        if norms.is_empty() {
            return 0.0;
        }
        let total = Tensor::stack(&norms, 0)
            .sum(Kind::Double)
            .sqrt()
            .double_value(&[]);
        if max_norm > 0.0 && total.is_finite() && total > max_norm {
            let coef = max_norm / (total + 1e-6);
            tch::no_grad(|| {
                for p in &self.params {
                    let mut g = p.grad();
                    if g.defined() {
                        let _ = g.g_mul_scalar_(coef);
                    }
                }
            });
        }
        total
    }

    /// One AdamW update at learning rate `lr`.
    pub fn step(&mut self, lr: f64) {
        self.step += 1;
        let c = &self.cfg;
        let bc1 = 1.0 - c.beta1.powi(self.step as i32);
        let bc2 = 1.0 - c.beta2.powi(self.step as i32);
        tch::no_grad(|| {
            let state = self.m.iter_mut().zip(&mut self.v).zip(&mut self.masters);
            for (p, ((m, v), master)) in self.params.iter_mut().zip(state) {
                let g = p.grad();
                if !g.defined() {
                    continue;
                }
                let g = g.to_kind(Kind::Float);
                // The fp32 weights: the master copy, or the parameter itself.
                let w = master.as_mut().unwrap_or(p);
                if c.weight_decay != 0.0 {
                    let _ = w.g_mul_scalar_(1.0 - lr * c.weight_decay);
                }
                let _ = m.g_mul_scalar_(c.beta1);
                let _ = m.g_add_(&(&g * (1.0 - c.beta1)));
                let _ = v.g_mul_scalar_(c.beta2);
                let _ = v.g_add_(&(&g * &g * (1.0 - c.beta2)));
                let denom = (&*v / bc2).sqrt() + c.eps;
                let _ = w.g_add_(&(&*m / &denom * (-lr / bc1)));
                if let Some(master) = master {
                    // Rounded to the parameter's dtype (nearest, ties to even).
                    p.copy_(master);
                }
            }
        });
    }

    /// Saves the moments and step count (safetensors-like libtorch archive).
    pub fn save(&self, path: &Path) -> Result<(), tch::TchError> {
        let mut named: Vec<(String, Tensor)> = Vec::with_capacity(2 * self.m.len() + 1);
        for (i, (m, v)) in self.m.iter().zip(&self.v).enumerate() {
            named.push((format!("m.{i}"), m.shallow_clone()));
            named.push((format!("v.{i}"), v.shallow_clone()));
        }
        for (i, w) in self.masters.iter().enumerate() {
            if let Some(w) = w {
                named.push((format!("w.{i}"), w.shallow_clone()));
            }
        }
        named.push(("step".into(), Tensor::from(self.step)));
        Tensor::save_multi(&named, path)
    }

    /// Restores what [`AdamW::save`] wrote; shapes must match the parameters. A state
    /// without master weights (written before they existed) keeps the masters made from
    /// the parameters.
    pub fn load(&mut self, path: &Path) -> Result<(), tch::TchError> {
        let loaded = Tensor::load_multi(path)?;
        let mut found = 0usize;
        for (name, t) in loaded {
            if name == "step" {
                self.step = t.int64_value(&[]);
                continue;
            }
            let (kind, idx) = match name.split_once('.') {
                Some((k, i)) => (k.to_string(), i.parse::<usize>().ok()),
                None => continue,
            };
            let slot = match (kind.as_str(), idx) {
                ("m", Some(i)) => self.m.get_mut(i),
                ("v", Some(i)) => self.v.get_mut(i),
                ("w", Some(i)) => self.masters.get_mut(i).and_then(Option::as_mut),
                _ => None,
            };
            let Some(slot) = slot else {
                return Err(tch::TchError::FileFormat(format!(
                    "optimizer state has unexpected entry {name}"
                )));
            };
            if slot.size() != t.size() {
                return Err(tch::TchError::Shape(format!(
                    "optimizer state {name} has shape {:?}, the parameter {:?}",
                    t.size(),
                    slot.size()
                )));
            }
            tch::no_grad(|| slot.copy_(&t));
            if kind != "w" {
                found += 1;
            }
        }
        if found != 2 * self.m.len() {
            return Err(tch::TchError::FileFormat(format!(
                "optimizer state has {found} moment tensors, expected {}",
                2 * self.m.len()
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warmup_then_cosine_to_min() {
        let cfg = OptimConfig {
            lr: 1.0,
            warmup_steps: 4,
            min_lr_ratio: 0.1,
            ..Default::default()
        };
        assert_eq!(lr_at(&cfg, 0, 14), 0.25);
        assert_eq!(lr_at(&cfg, 3, 14), 1.0);
        assert!((lr_at(&cfg, 4, 14) - 1.0).abs() < 1e-12);
        assert!((lr_at(&cfg, 9, 14) - 0.55).abs() < 1e-12);
        assert!((lr_at(&cfg, 14, 14) - 0.1).abs() < 1e-12);
    }

    /// One step against torch.optim.AdamW(lr=0.1, betas=(0.9, 0.99), eps=1e-8,
    /// weight_decay=0.1) on p = [1, -2], loss = sum(p^2): p = [0.89, -1.88].
    #[test]
    fn adamw_step_matches_torch() {
        let p = Tensor::from_slice(&[1.0f32, -2.0]).set_requires_grad(true);
        let cfg = OptimConfig {
            weight_decay: 0.1,
            ..Default::default()
        };
        let mut opt = AdamW::new(vec![p.shallow_clone()], cfg);
        (&p * &p).sum(Kind::Float).backward();
        let norm = opt.clip_grad_norm(0.0);
        assert!((norm - 20f64.sqrt()).abs() < 1e-5);
        opt.step(0.1);
        let got = Vec::<f32>::try_from(&p).unwrap();
        assert!(
            (got[0] - 0.89).abs() < 1e-6 && (got[1] + 1.88).abs() < 1e-6,
            "{got:?}"
        );
    }

    #[test]
    fn clipping_scales_to_max_norm() {
        let p = Tensor::from_slice(&[3.0f32, 4.0]).set_requires_grad(true);
        let mut opt = AdamW::new(vec![p.shallow_clone()], OptimConfig::default());
        (&p * &p).sum(Kind::Float).backward(); // grad (6, 8), norm 10
        assert!((opt.clip_grad_norm(1.0) - 10.0).abs() < 1e-5);
        let g = Vec::<f32>::try_from(p.grad()).unwrap();
        assert!((g[0] - 0.6).abs() < 1e-5 && (g[1] - 0.8).abs() < 1e-5);
    }

    /// A bf16 parameter under steps smaller than its ulp: it moves (through its fp32
    /// master), the master equals an fp32 parameter's trajectory exactly, the parameter is
    /// the master rounded, and saving and loading mid-way continues bit for bit.
    #[test]
    fn bf16_parameters_move_through_fp32_masters() {
        let dir = std::env::temp_dir().join(format!("verigym-adamw16-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let start = [1.0f32, -0.5, 3.0];
        let cfg = OptimConfig {
            weight_decay: 0.01,
            ..Default::default()
        };
        let run = |kind: Kind, steps: usize, resume_at: Option<usize>| -> (Vec<f32>, Vec<f32>) {
            let p = Tensor::from_slice(&start)
                .to_kind(kind)
                .set_requires_grad(true);
            let mut opt = AdamW::new(vec![p.shallow_clone()], cfg.clone());
            for s in 0..steps {
                if resume_at == Some(s) {
                    opt.save(&dir.join("opt.pt")).unwrap();
                    opt = AdamW::new(vec![p.shallow_clone()], cfg.clone());
                    opt.load(&dir.join("opt.pt")).unwrap();
                }
                opt.zero_grad();
                // Gradient (1, -2, 0.5) whatever the dtype.
                let c = Tensor::from_slice(&[1.0f32, -2.0, 0.5]).to_kind(kind);
                (&p * c).sum(Kind::Float).backward();
                opt.step(1e-3);
            }
            let f = |t: &Tensor| Vec::<f32>::try_from(&t.to_kind(Kind::Float)).unwrap();
            let w = opt.masters[0].as_ref().map_or_else(|| f(&p), f);
            (f(&p), w)
        };
        let (fp32, _) = run(Kind::Float, 12, None);
        let (p16, master) = run(Kind::BFloat16, 12, None);
        assert_eq!(master, fp32, "the master follows the fp32 trajectory");
        let rounded = Vec::<f32>::try_from(
            &Tensor::from_slice(&master)
                .to_kind(Kind::BFloat16)
                .to_kind(Kind::Float),
        )
        .unwrap();
        assert_eq!(p16, rounded);
        // Each step (1e-3) is below half an ulp of 1.0 in bf16 (2^-8); twelve are not.
        assert_ne!(p16, start.to_vec(), "the bf16 parameter never moved");
        let resumed = run(Kind::BFloat16, 12, Some(5));
        assert_eq!(resumed, (p16, master));
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn state_round_trips() {
        let dir = std::env::temp_dir().join(format!("verigym-adamw-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = Tensor::from_slice(&[1.0f32, -2.0]).set_requires_grad(true);
        let mut opt = AdamW::new(vec![p.shallow_clone()], OptimConfig::default());
        (&p * &p).sum(Kind::Float).backward();
        opt.step(0.1);
        opt.save(&dir.join("opt.pt")).unwrap();
        let q = p.detach().copy().set_requires_grad(true);
        let mut back = AdamW::new(vec![q], OptimConfig::default());
        back.load(&dir.join("opt.pt")).unwrap();
        assert_eq!(back.steps_taken(), 1);
        assert_eq!(
            Vec::<f32>::try_from(&back.m[0]).unwrap(),
            Vec::<f32>::try_from(&opt.m[0]).unwrap()
        );
        let _ = std::fs::remove_dir_all(dir);
    }
}
