#!/usr/bin/env bash
# The README's test command: set up (once), check formatting, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
cargo fmt --all -- --check
cargo build --release
# Issue 7: checkpoints we save load back in transformers with identical logits (makes a
# throw-away venv with transformers under /tmp the first time).
python3 scripts/make_fixture.py roundtrip target/release/verigym-train
cargo test --release --workspace "$@"
bash python/tests/run.sh  # the Python package, reward server, export, Ray and TRL examples
