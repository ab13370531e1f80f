"""`verigym serve` through the official `openai` client: models, chat, completions (greedy
equal to `verigym generate`), streaming, and the client's error classes, against a random
small checkpoint."""

import json
import os
import subprocess

import openai
import pytest
from conftest import cli, tiny_checkpoint, verigym_bin

KEY = "sk-test-verigym"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(client, model folder, model id) of a server on a fresh random checkpoint."""
    model = tmp_path_factory.mktemp("serve") / "tiny-llama"
    tiny_checkpoint(model, 3, initializer_range=0.5)
    proc = subprocess.Popen(
        [verigym_bin(), "serve", "--model", str(model), "--port", "0", "--api-key-env", "VERIGYM_TEST_KEY"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "VERIGYM_TEST_KEY": KEY},
    )
    line = proc.stdout.readline()
    assert line.startswith("verigym serve: listening on http://127.0.0.1:"), line
    base = line.strip().rsplit(" ", 1)[-1]
    client = openai.OpenAI(base_url=base + "/v1", api_key=KEY, max_retries=0, timeout=120)
    yield client, model, "tiny-llama"
    proc.terminate()
    assert proc.wait(timeout=60) == 0


def test_models_list_the_checkpoint(served):
    client, _, name = served
    assert [m.id for m in client.models.list()] == [name]


def test_chat_is_seeded_and_counts_usage(served):
    client, _, name = served
    ask = dict(model=name, messages=[{"role": "user", "content": "What is 2 + 3?"}], max_tokens=12, seed=7)
    a = client.chat.completions.create(**ask)
    b = client.chat.completions.create(**ask)
    assert a.choices[0].message.role == "assistant"
    assert isinstance(a.choices[0].message.content, str)
    assert a.choices[0].message.content == b.choices[0].message.content
    assert a.choices[0].finish_reason in ("stop", "length")
    assert a.usage.total_tokens == a.usage.prompt_tokens + a.usage.completion_tokens
    assert 1 <= a.usage.completion_tokens <= 12
    lp = client.chat.completions.create(**ask, logprobs=True, top_logprobs=3)
    assert lp.choices[0].message.content == a.choices[0].message.content
    tokens = lp.choices[0].logprobs.content
    assert len(tokens) == a.usage.completion_tokens
    assert all(len(t.top_logprobs) == 3 and t.logprob <= 0 for t in tokens)


def test_greedy_completions_equal_verigym_generate(served):
    client, model, name = served
    prompts = ["Once upon a time", "2 + 2 ="]
    out = client.completions.create(model=name, prompt=prompts, max_tokens=10, temperature=0, n=2, logprobs=1)
    assert [c.index for c in out.choices] == [0, 1, 2, 3]
    for i, prompt in enumerate(prompts):
        want = json.loads(
            cli("generate", "--model", str(model), "--prompt", prompt, "--max-tokens", "10", "--temperature", "0", "--raw", "--json")
        )
        for j in range(2):
            choice = out.choices[i * 2 + j]
            assert choice.text == want["text"]
            assert len(choice.logprobs.token_logprobs) == len(want["token_ids"])
    assert out.usage.prompt_tokens == sum(len(p) for p in prompts)  # one byte per token


def test_streaming_chat_and_completions(served):
    client, _, name = served
    ask = dict(model=name, messages=[{"role": "user", "content": "Tell me a story."}], max_tokens=16, seed=2)
    whole = client.chat.completions.create(**ask)
    chunks = list(client.chat.completions.create(**ask, stream=True, stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == whole.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == whole.choices[0].finish_reason
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens
    stream = client.completions.create(model=name, prompt="abc", max_tokens=8, seed=5, stream=True)
    streamed = "".join(c.choices[0].text for c in stream)
    assert streamed == client.completions.create(model=name, prompt="abc", max_tokens=8, seed=5).choices[0].text


def test_errors_are_the_clients_exceptions(served):
    client, _, name = served
    messages = [{"role": "user", "content": "hi"}]
    with pytest.raises(openai.BadRequestError) as e:
        client.chat.completions.create(model=name, messages=messages, n=100)
    assert e.value.body["param"] == "n"
    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model=name, messages=messages, max_tokens=10**6)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-nonexistent", messages=messages)
    wrong = openai.OpenAI(base_url=str(client.base_url), api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        wrong.models.list()
