#!/usr/bin/env bash
# The README's test command: set up (once), check formatting, build, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
cargo fmt --all -- --check
cargo build --release
cargo test --release --workspace "$@"
