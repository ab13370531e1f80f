#!/usr/bin/env python3
"""GRPO with TRL's `GRPOTrainer`, rewarded by verigym's verifiers.

The task record rides in the dataset's "task" column (`verigym.trl.dataset`), and
`verigym.trl.reward_function()` grades each completion against it. The policy here is a
tiny Llama made from a config with a byte-level BPE tokenizer trained on the prompts, so
the script needs no downloads; swap in `AutoModelForCausalLM.from_pretrained(...)` and its
tokenizer for a real run.

    pip install ./python trl
    python examples/trl_grpo.py --steps 1

Prints one JSON line: {"steps", "reward", "completions"}.
"""

import argparse
import json
import tempfile

import torch
import verigym.trl
from datasets import Dataset
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast
from trl import GRPOConfig, GRPOTrainer


def tiny_tokenizer(texts):
    """A byte-level BPE tokenizer trained on `texts` (every byte stays encodable)."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=["<pad>", "<eos>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--env", default="arithmetic")
    ap.add_argument("--steps", type=int, default=1)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.manual_seed(args.seed)

    rows = verigym.trl.dataset(args.env, n=64, seed=args.seed, difficulty=1)
    train = Dataset.from_list(rows)
    tokenizer = tiny_tokenizer(r["prompt"] for r in rows)
    model = LlamaForCausalLM(LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=1024,
        pad_token_id=tokenizer.pad_token_id, eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    ))
    with tempfile.TemporaryDirectory() as out:
        config = GRPOConfig(
            output_dir=out, max_steps=args.steps, per_device_train_batch_size=8,
            num_generations=4, max_completion_length=24, learning_rate=1e-4, beta=0.0,
            logging_steps=1, report_to=[], save_strategy="no", use_cpu=True, bf16=False,
            gradient_checkpointing=False, seed=args.seed, dataloader_num_workers=0,
        )
        trainer = GRPOTrainer(model=model, reward_funcs=verigym.trl.reward_function(),
                              args=config, train_dataset=train, processing_class=tokenizer)
        trainer.train()
    logs = [h for h in trainer.state.log_history if "reward" in h]
    print(json.dumps({
        "steps": trainer.state.global_step,
        "reward": logs[-1]["reward"] if logs else None,
        "completions": config.per_device_train_batch_size * trainer.state.global_step,
    }))


if __name__ == "__main__":
    main()
