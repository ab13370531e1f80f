#!/usr/bin/env python3
"""Reference values for the GRPO objective, computed with PyTorch the way TRL's
GRPOTrainer._compute_loss does (trl/trainer/grpo_trainer.py), for each loss type
(grpo | dr_grpo | dapo | bnpo | cispo), token- and sequence-level importance sampling
(GSPO), with and without the KL term, with and without clipping active. Writes
trainer/tests/fixtures/grpo/loss.json, read by trainer/tests/grpo_loss.rs.

Run: PYTHONPATH=/root/.cache/verigym/torch-2.13.0 python3 scripts/make_grpo_fixture.py
"""
import json
import os

import torch

torch.manual_seed(8)
B, T = 5, 7
MAX_LEN = 9
EPS_LOW, EPS_HIGH = 0.2, 0.28
# CISPO's eps_high is a cap on the importance weight itself.
CISPO_CAP = 1.2
OUT = os.path.join(os.path.dirname(__file__), "..", "trainer", "tests", "fixtures", "grpo", "loss.json")


def group_advantages(rewards, group, scale, eps=1e-4):
    r = rewards.view(-1, group)
    mean = r.mean(dim=1, keepdim=True)
    adv = (r - mean).view(-1)
    if scale == "group":
        std = r.std(dim=1, keepdim=True).expand_as(r).reshape(-1)
    elif scale == "batch":
        std = rewards.std().expand_as(rewards)
    else:
        return adv
    return adv / (std + eps)


def loss_of(kind, logp, old, ref, adv, mask, beta, level="token"):
    """The loss and whether any token sits in a clipped region."""
    log_ratio = logp - old
    if level == "sequence":
        log_w = (log_ratio * mask).sum(-1, keepdim=True) / mask.sum(-1, keepdim=True).clamp(min=1.0)
    else:
        log_w = log_ratio
    coef_1 = torch.exp(log_w)
    a = adv.unsqueeze(1)
    if kind == "cispo":
        per_token = -torch.clamp(coef_1, max=CISPO_CAP).detach() * a * logp
        region = (coef_1 > CISPO_CAP).expand_as(logp)
    else:
        coef_2 = torch.clamp(coef_1, 1 - EPS_LOW, 1 + EPS_HIGH)
        per_token = -torch.min(coef_1 * a, coef_2 * a)
        region = (((coef_1 < 1 - EPS_LOW) & (a < 0)) | ((coef_1 > 1 + EPS_HIGH) & (a > 0))).expand_as(logp)
    clipped = bool(((region.float() * mask).sum() > 0).item())
    per_token = per_token.expand_as(logp)
    if beta != 0.0:
        kl = torch.exp(ref - logp) - (ref - logp) - 1
        per_token = per_token + beta * kl
    if kind == "grpo":
        return ((per_token * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).mean(), clipped
    if kind == "bnpo":
        return (per_token * mask).sum() / mask.sum().clamp(min=1.0), clipped
    if kind == "dr_grpo":
        return (per_token * mask).sum() / (per_token.size(0) * MAX_LEN), clipped
    if kind in ("dapo", "cispo"):  # one process: normaliser = tokens in the whole batch
        return (per_token * mask).sum() / mask.sum().clamp(min=1.0), clipped
    raise ValueError(kind)


def main():
    lengths = [7, 3, 5, 1, 6]
    mask = torch.zeros(B, T)
    for i, n in enumerate(lengths):
        mask[i, :n] = 1.0
    base = torch.randn(B, T).mul(0.7).sub(1.5).clamp(max=-0.01)
    rewards = torch.tensor([1.0, 0.0, 0.5, 1.0, 0.0, 1.0])
    cases = []
    for clip in [False, True]:
        # Without clipping the new policy is within 5% of the old; with it, far outside.
        shift = torch.randn(B, T) * (0.6 if clip else 0.02)
        old = (base + shift).clamp(max=-0.01)
        ref = (base + torch.randn(B, T) * 0.3).clamp(max=-0.01)
        adv = torch.randn(B)
        variants = [(k, "token") for k in ["grpo", "dr_grpo", "dapo", "bnpo", "cispo"]]
        variants += [("grpo", "sequence"), ("dapo", "sequence")]
        for beta in [0.0, 0.04]:
            for kind, level in variants:
                logp = base.clone().requires_grad_(True)
                loss, clipped = loss_of(kind, logp, old, ref, adv, mask, beta, level)
                loss.backward()
                cases.append({
                    "loss_type": kind,
                    "importance_sampling_level": level,
                    "eps_high": CISPO_CAP if kind == "cispo" else EPS_HIGH,
                    "beta": beta,
                    "clip": clip,
                    "clipped": clipped,
                    "old_logp": old.flatten().tolist(),
                    "ref_logp": ref.flatten().tolist(),
                    "advantages": adv.tolist(),
                    "loss": loss.item(),
                    "grad": logp.grad.flatten().tolist(),
                })
    advs = {}
    for scale in ["group", "batch", "none"]:
        advs[scale] = group_advantages(rewards, 3, scale).tolist()
    fixture = {
        "torch": torch.__version__,
        "B": B, "T": T, "max_len": MAX_LEN, "eps_low": EPS_LOW, "eps_high": EPS_HIGH,
        "logp": base.flatten().tolist(),
        "mask": mask.flatten().tolist(),
        "cases": cases,
        "advantage_rewards": rewards.tolist(),
        "advantage_group": 3,
        "advantage_eps": 1e-4,
        "advantages": advs,
    }
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=0)
    print(f"wrote {len(cases)} cases to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
