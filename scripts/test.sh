#!/usr/bin/env bash
# The README's test command: set up (once), check formatting, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
cargo fmt --all -- --check
cargo build --release
# The machine the tests run on: CPU features and the kernels' code path.
target/release/verigym doctor
# Checkpoints we save load back in transformers with identical logits (makes a throw-away
# venv with transformers under /tmp the first time).
python3 scripts/make_fixture.py roundtrip target/release/verigym-train
status=0
# The CPU kernels' tests run once per code path this CPU has; list which ran and which were
# skipped, and why.
set +o pipefail
cargo test --release -p verigym-trainer --lib -- kernels:: policy::engine:: --show-output 2>&1 \
  | tee /tmp/verigym-kernel-tests.$$ | grep -E "^test result|^cpu path|FAILED|panicked" | sort | uniq -c
grep -q "^test result: ok" /tmp/verigym-kernel-tests.$$ || { cat /tmp/verigym-kernel-tests.$$; status=1; }
rm -f /tmp/verigym-kernel-tests.$$
set -o pipefail
# Everything else; --no-fail-fast so one failing suite does not hide the others.
cargo test --release --workspace --no-fail-fast "$@" -- --skip kernels:: --skip policy::engine:: || status=1
# The Python package, reward server, export, Ray and TRL examples.
bash python/tests/run.sh || status=1
exit $status
