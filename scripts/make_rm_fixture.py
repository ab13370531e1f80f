#!/usr/bin/env python3
"""Reference values for the reward model's Bradley–Terry loss, computed with PyTorch the way
TRL's RewardTrainer.compute_loss does (-logsigmoid(chosen - rejected [- margin]).mean(), plus
center_rewards_coefficient * mean((chosen + rejected)^2)), with the gradients autograd gives.
Writes trainer/tests/fixtures/rm/bt.json, read by trainer/tests/rm_loss.rs.

Run: PYTHONPATH=$HOME/.cache/verigym/torch-2.13.0 python3 scripts/make_rm_fixture.py
"""
import json
import os

import torch

torch.manual_seed(20)
OUT = os.path.join(os.path.dirname(__file__), "..", "trainer", "tests", "fixtures", "rm", "bt.json")

cases = []
for name, n, scale, with_margin, center in [
    ("plain", 6, 1.0, False, 0.0),
    ("margin", 6, 1.0, True, 0.0),
    ("centred", 5, 2.0, True, 0.01),
    ("far apart", 4, 30.0, False, 0.0),
]:
    chosen = (torch.randn(n, dtype=torch.float64) * scale).float().requires_grad_(True)
    rejected = (torch.randn(n, dtype=torch.float64) * scale).float().requires_grad_(True)
    margin = torch.randint(0, 4, (n,)).float() if with_margin else None
    diff = chosen - rejected
    if margin is not None:
        diff = diff - margin
    loss = -torch.nn.functional.logsigmoid(diff).mean()
    if center:
        loss = loss + center * torch.mean((chosen + rejected) ** 2)
    loss.backward()
    cases.append(
        {
            "name": name,
            "chosen": chosen.detach().tolist(),
            "rejected": rejected.detach().tolist(),
            "margin": None if margin is None else margin.tolist(),
            "center": center,
            "loss": loss.item(),
            "grad_chosen": chosen.grad.tolist(),
            "grad_rejected": rejected.grad.tolist(),
            "accuracy": (chosen > rejected).float().mean().item(),
        }
    )

os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as f:
    json.dump({"torch": torch.__version__, "cases": cases}, f, indent=1)
print(f"wrote {len(cases)} cases to {OUT}")
