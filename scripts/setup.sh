#!/usr/bin/env bash
# Finds or installs libtorch 2.13.0 (what tch 0.26 expects) and points cargo at it.
# Idempotent: the first run installs the PyPI wheel torch==2.13.0 into a cache folder
# outside the repository (reused by later clones and CI); later runs take a second.
# Respects a libtorch the user already has: $LIBTORCH, or a Python with torch 2.13.0.
# Source it (`. scripts/setup.sh`) to get LIBTORCH exported, or run it once.
set -euo pipefail

VERIGYM_TORCH_VERSION=2.13.0
_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
_cache=${VERIGYM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/verigym}
_python=${PYTHON:-python3}

_say() { printf '[setup] %s\n' "$*" >&2; }

if ! command -v cargo >/dev/null 2>&1; then
  _say "cargo not found: install a Rust toolchain from https://rustup.rs first"; exit 1
fi

if [ -n "${LIBTORCH:-}" ]; then
  _libtorch=$LIBTORCH
  _say "using LIBTORCH=$_libtorch from the environment"
elif _found=$("$_python" - <<PY 2>/dev/null
import os, torch
assert torch.__version__.split("+")[0] == "$VERIGYM_TORCH_VERSION"
print(os.path.dirname(torch.__file__))
PY
); then
  _libtorch=$_found
  _say "using the installed PyTorch $VERIGYM_TORCH_VERSION at $_libtorch"
else
  _dest=$_cache/torch-$VERIGYM_TORCH_VERSION
  if [ ! -f "$_dest/.verigym-complete" ]; then
    command -v "$_python" >/dev/null 2>&1 || { _say "python3 not found: it is needed once, to fetch libtorch"; exit 1; }
    mkdir -p "$_cache"
    # One installer at a time per cache (parallel clones, CI next to a session).
    exec 9>"$_cache/.lock"
    flock 9
    if [ ! -f "$_dest/.verigym-complete" ]; then
      _say "installing torch==$VERIGYM_TORCH_VERSION (libtorch, CPU and CUDA) into $_dest; once per machine, a few minutes"
      rm -rf "$_dest.partial"
      "$_python" -m pip install --quiet --disable-pip-version-check --no-compile \
        --target "$_dest.partial" "torch==$VERIGYM_TORCH_VERSION"
      rm -rf "$_dest"
      mv "$_dest.partial" "$_dest"
      touch "$_dest/.verigym-complete"
    fi
    flock -u 9
  fi
  _libtorch=$_dest/torch
fi

[ -f "$_libtorch/lib/libtorch_cpu.so" ] || { _say "no libtorch_cpu.so under $_libtorch/lib"; exit 1; }
export LIBTORCH=$_libtorch

# Let plain `cargo build` / `cargo test` find it from now on, with nothing exported.
mkdir -p "$_root/.cargo"
_config="$_root/.cargo/config.toml"
_want=$(printf '[env]\nLIBTORCH = "%s"\n' "$_libtorch")
if [ ! -f "$_config" ] || [ "$(cat "$_config")" != "$_want" ]; then
  printf '%s\n' "$_want" > "$_config"
  _say "wrote $_config"
fi
