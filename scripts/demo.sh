#!/usr/bin/env bash
# The README's main job: set up (once), build the release binaries, run the demo.
# Extra arguments go to `verigym demo` (for example --quick or --out DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/setup.sh
cargo build --release
exec target/release/verigym demo "$@"
