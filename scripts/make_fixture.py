#!/usr/bin/env python3
"""Reference fixture for the policy (issue 7), made with Hugging Face `transformers`.

    python3 scripts/make_fixture.py build [OUT]      # default OUT: trainer/tests/fixtures
    python3 scripts/make_fixture.py roundtrip [BIN]  # BIN: target/release/verigym-train

`build` trains a small byte-level BPE tokenizer, builds tiny random-weight LlamaForCausalLM
(untied embeddings, sharded safetensors) and Qwen2ForCausalLM (QKV bias, tied embeddings,
theta 1e6, single safetensors file), saves both with their tokenizer, and records in
expected.json, for a few prompts: the ids the tokenizer gives, greedy completions and the
last-token logits (fp32). The Rust tests check our model against these.

`roundtrip` has our binary load each fixture and save it again (`checkpoint convert`), plus
save a fresh model with the built-in tokenizer (`checkpoint init`), then loads the saved
folders in transformers and checks logits (identical to the source for converted models) and
tokenizer encodings.

Needs transformers and torch 2.13. When they are not importable, the script makes a
throw-away venv in /tmp (transformers from PyPI; torch from verigym's libtorch cache if
scripts/setup.sh put one there, else torch==2.13.0 from PyPI) and re-runs itself in it.
"""

import json
import os
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ.get("VERIGYM_HF_VENV", "/tmp/verigym-hf-venv")
TORCH_VERSION = "2.13.0"
PROMPTS = [
    "The quick brown fox",
    "<think>2 + 3 = 5</think><answer>5</answer>",
    "Hello, world! 123",
    "a",
]
NEW_TOKENS = 12


def torch_cache():
    base = os.environ.get("VERIGYM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "verigym"
    )
    path = os.path.join(base, f"torch-{TORCH_VERSION}")
    return path if os.path.exists(os.path.join(path, "torch")) else None


def ensure_env():
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401

        return
    except ImportError:
        pass
    if os.environ.get("VERIGYM_HF_REEXEC"):
        sys.exit("make_fixture: transformers/torch still not importable inside the venv")
    py = os.path.join(VENV, "bin", "python")
    if not os.path.exists(py):
        subprocess.check_call([sys.executable, "-m", "venv", VENV])
    pkgs = ["transformers", "safetensors", "tokenizers", "numpy"]
    env = dict(os.environ, VERIGYM_HF_REEXEC="1")
    cache = torch_cache()
    if cache:
        env["PYTHONPATH"] = cache + os.pathsep + env.get("PYTHONPATH", "")
    else:
        pkgs.append(f"torch=={TORCH_VERSION}")
    probe = "import transformers, safetensors, torch"
    if subprocess.call([py, "-c", probe], env=env, stderr=subprocess.DEVNULL) != 0:
        subprocess.check_call([py, "-m", "pip", "install", "--quiet", *pkgs], env=env)
    os.execve(py, [py, *sys.argv], env)


CORPUS = (
    "The quick brown fox jumps over the lazy dog. Hello, world! "
    "<think>Let me add the numbers: 2 + 3 = 5, and 12 * 7 = 84.</think><answer>5</answer> "
    "Reinforcement learning with verifiable rewards trains a policy on problems whose answers "
    "can be checked. 0123456789 abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ "
) * 20

QWEN_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)


def make_tokenizer(kind):
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE())
    # The Qwen2 / Llama 3 shape: a regex Split (needs fancy-regex/onig) then ByteLevel.
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_PATTERN), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    if kind == "llama":
        specials = ["<s>", "</s>"]
    else:
        specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    trainer = trainers.BpeTrainer(
        vocab_size=320,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator([CORPUS], trainer=trainer)
    for t in ["<think>", "</think>", "<answer>", "</answer>"]:
        tok.add_tokens([t])
    if kind == "llama":
        bos = tok.token_to_id("<s>")
        tok.post_processor = processors.TemplateProcessing(
            single="<s> $A", pair="<s> $A <s> $B", special_tokens=[("<s>", bos)]
        )
    else:
        tok.post_processor = processors.ByteLevel(trim_offsets=False)
    return tok


def build_model(kind, tok):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen2Config, Qwen2ForCausalLM

    vocab = tok.get_vocab_size()
    common = dict(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        rms_norm_eps=1e-6,
        initializer_range=0.3,
    )
    if kind == "llama":
        cfg = LlamaConfig(
            **common,
            rope_theta=10000.0,
            tie_word_embeddings=False,
            bos_token_id=tok.token_to_id("<s>"),
            eos_token_id=tok.token_to_id("</s>"),
        )
        model = LlamaForCausalLM(cfg)
    else:
        cfg = Qwen2Config(
            **common,
            rope_theta=1000000.0,
            tie_word_embeddings=True,
            eos_token_id=tok.token_to_id("<|endoftext|>"),
        )
        model = Qwen2ForCausalLM(cfg)
    g = torch.Generator().manual_seed(1234 if kind == "llama" else 5678)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name:
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            else:
                p.copy_(0.3 * torch.randn(p.shape, generator=g))
    model.eval()
    return model


def save_hf_tokenizer(tok, kind, out):
    from transformers import PreTrainedTokenizerFast

    if kind == "llama":
        names = dict(bos_token="<s>", eos_token="</s>")
    else:
        names = dict(eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **names)
    fast.save_pretrained(out)
    return fast


def greedy(model, ids, n):
    import torch

    seq = list(ids)
    margins = []
    with torch.no_grad():
        for _ in range(n):
            logits = model(torch.tensor([seq])).logits[0, -1]
            top = torch.topk(logits, 2).values
            margins.append(float(top[0] - top[1]))
            seq.append(int(torch.argmax(logits)))
    return seq[len(ids):], min(margins)


def build(out):
    import torch
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    expected = {}
    for kind in ["llama", "qwen2"]:
        d = os.path.join(out, kind)
        os.makedirs(d, exist_ok=True)
        tok = make_tokenizer(kind)
        model = build_model(kind, tok)
        # Llama sharded (exercises model.safetensors.index.json), Qwen2 one file.
        shard = "150KB" if kind == "llama" else "50MB"
        model.save_pretrained(d, safe_serialization=True, max_shard_size=shard)
        fast = save_hf_tokenizer(tok, kind, d)
        reloaded = AutoModelForCausalLM.from_pretrained(d, dtype=torch.float32).eval()
        cases = []
        for prompt in PROMPTS:
            ids = fast(prompt)["input_ids"]
            with torch.no_grad():
                last = reloaded(torch.tensor([ids])).logits[0, -1]
            # transformers' own generate must agree with the step-by-step argmax.
            gen = reloaded.generate(
                torch.tensor([ids]),
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                do_sample=False,
                max_new_tokens=NEW_TOKENS,
                pad_token_id=0,
            )[0, len(ids):].tolist()
            # Step-by-step argmax without stopping; generate() may stop early at eos.
            steps, margin = greedy(reloaded, ids, NEW_TOKENS)
            assert gen == steps[: len(gen)], (kind, prompt, gen, steps)
            assert margin > 1e-3, f"{kind} {prompt!r}: greedy top-2 margin {margin} is tie-prone"
            cases.append(
                {
                    "prompt": prompt,
                    "ids": ids,
                    "greedy": steps,
                    "greedy_text": fast.decode(steps),
                    "last_logits": [round(float(x), 7) for x in last],
                }
            )
        expected[kind] = cases
        print(f"{kind}: {sum(p.numel() for p in model.parameters())} params, {len(cases)} prompts")
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(expected, f, indent=1)
    print(f"fixture written to {out}")


def roundtrip(binary):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    fixtures = os.path.join(ROOT, "trainer", "tests", "fixtures")
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ["llama", "qwen2"]:
            src = os.path.join(fixtures, kind)
            dst = os.path.join(tmp, kind)
            subprocess.check_call([binary, "checkpoint", "convert", "--model", src, "--out", dst])
            a = AutoModelForCausalLM.from_pretrained(src, dtype=torch.float32).eval()
            b = AutoModelForCausalLM.from_pretrained(dst, dtype=torch.float32).eval()
            ta, tb = AutoTokenizer.from_pretrained(src), AutoTokenizer.from_pretrained(dst)
            for prompt in PROMPTS:
                ids = ta(prompt)["input_ids"]
                same_ids = ids == tb(prompt)["input_ids"]
                with torch.no_grad():
                    la = a(torch.tensor([ids])).logits
                    lb = b(torch.tensor([ids])).logits
                diff = float((la - lb).abs().max())
                good = same_ids and diff == 0.0
                ok &= good
                print(f"roundtrip {kind} {prompt!r}: max |dlogits| {diff}, same ids {same_ids}")
        # A fresh model with verigym's built-in byte-level tokenizer.
        dst = os.path.join(tmp, "builtin")
        cfg = os.path.join(tmp, "cfg.json")
        with open(cfg, "w") as f:
            json.dump(
                {
                    "architectures": ["Qwen2ForCausalLM"],
                    "model_type": "qwen2",
                    "vocab_size": 267,
                    "hidden_size": 32,
                    "intermediate_size": 64,
                    "num_hidden_layers": 2,
                    "num_attention_heads": 4,
                    "num_key_value_heads": 2,
                    "tie_word_embeddings": True,
                },
                f,
            )
        out = subprocess.check_output(
            [binary, "checkpoint", "init", "--config", cfg, "--out", dst, "--seed", "7",
             "--probe", "<think>1+1</think><answer>2</answer>"]
        )
        probe = json.loads(out)
        tok = AutoTokenizer.from_pretrained(dst)
        m = AutoModelForCausalLM.from_pretrained(dst, dtype=torch.float32).eval()
        ids = tok("<think>1+1</think><answer>2</answer>")["input_ids"]
        same = ids == probe["ids"] and tok.decode(ids) == "<think>1+1</think><answer>2</answer>"
        with torch.no_grad():
            logits = m(torch.tensor([ids])).logits[0, -1]
        diff = float((logits - torch.tensor(probe["last_logits"])).abs().max())
        good = same and diff < 1e-4
        ok &= good
        print(f"builtin tokenizer + fresh model: same ids {same}, max |dlogits| {diff:.2e}")
    print("roundtrip", "OK" if ok else "FAILED")
    return 0 if ok else 1


def main():
    ensure_env()
    cmd = sys.argv[1] if len(sys.argv) > 1 else "build"
    if cmd == "build":
        out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "trainer", "tests", "fixtures")
        build(out)
        return 0
    if cmd == "roundtrip":
        binary = sys.argv[2] if len(sys.argv) > 2 else os.path.join(ROOT, "target", "release", "verigym-train")
        return roundtrip(binary)
    sys.exit(f"usage: {sys.argv[0]} build [OUT] | roundtrip [BIN]")


if __name__ == "__main__":
    sys.exit(main())
