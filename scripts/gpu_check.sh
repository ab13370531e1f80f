#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, builds verigym against the PyTorch that
# machine has (LIBTORCH_USE_PYTORCH; torch==2.13.0 from PyPI into a venv when no Python
# there imports torch), then on `cuda` runs the fixture tests (policy logits and greedy
# tokens against transformers, the GRPO loss and gradient against PyTorch), `bench sample`
# at batch 1, 8 and 64, `bench grpo`, and TRL's GRPOTrainer on the same GPU and settings
# (benches/compare_trl.py). Progress goes to stderr; stdout gets one JSON object:
#   {gpu, torch, fixture_tests, sample_tokens_per_s: {batch: tok/s}, grpo_step_s,
#    trl_step_s, grpo_vs_trl (TRL's step time over ours), ...}
# It exits non-zero without a GPU, and when the fixture tests fail (after the benchmarks).
#
#   bash scripts/gpu_check.sh [--device cuda|cpu] [--steps N] [--python PY] [--target-dir DIR]
#
# --device cpu runs the same steps on the CPU: a check of the script on any machine.
# --python PY: the Python whose torch to build against and to run TRL in, used as it is
# (what it lacks of torch, setuptools and trl is pip-installed into it); default: a venv at
# target/gpu-check/venv that sees python3's packages.
# --target-dir DIR: cargo's target folder (default target/gpu-check/target, apart from the
# usual one, since this build links another libtorch). Logs go to target/gpu-check/logs.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

device=cuda
steps=5
python_arg=
target_dir=
while [ $# -gt 0 ]; do
  case $1 in
    --device) device=${2:?--device needs cpu or cuda}; shift 2 ;;
    --steps) steps=${2:?--steps needs a number}; shift 2 ;;
    --python) python_arg=${2:?--python needs a path}; shift 2 ;;
    --target-dir) target_dir=${2:?--target-dir needs a folder}; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "gpu_check: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
case $device in cpu|cuda) ;; *) echo "gpu_check: --device is cpu or cuda, not '$device'" >&2; exit 2 ;; esac

say() { printf '[gpu-check] %s\n' "$*" >&2; }
die() { printf '[gpu-check] error: %s\n' "$*" >&2; exit 1; }

work=$root/target/gpu-check
logs=$work/logs
mkdir -p "$logs"
command -v cargo >/dev/null 2>&1 || die "cargo not found: install a Rust toolchain from https://rustup.rs"

# 1. The GPU.
if [ "$device" = cuda ]; then
  command -v nvidia-smi >/dev/null 2>&1 \
    || die "nvidia-smi not found: this check needs an NVIDIA GPU and its driver (--device cpu checks the script without one)"
  gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1) \
    || die "nvidia-smi found no GPU"
  [ -n "$gpu" ] || die "nvidia-smi found no GPU"
else
  gpu="none (--device cpu)"
fi
say "GPU: $gpu"

# 2. A Python with torch (and trl for the TRL side): --python, or a venv that sees
#    python3's packages, so a CUDA PyTorch installed there is used as it is.
if [ -n "$python_arg" ]; then
  py=$(command -v "$python_arg") || die "--python $python_arg not found"
  # Absolute (cargo's build scripts run elsewhere), symlinks kept (a venv's python is one).
  py=$(realpath -s "$py")
else
  venv=$work/venv
  if [ ! -x "$venv/bin/python" ]; then
    command -v python3 >/dev/null 2>&1 || die "python3 not found (--python names another)"
    say "creating $venv"
    python3 -m venv --system-site-packages "$venv"
  fi
  py=$venv/bin/python
fi
pip_install() {
  say "pip install $* into $py"
  "$py" -m pip install --quiet --disable-pip-version-check "$@"
}
if ! "$py" -c 'import torch' 2>/dev/null; then
  cached=${VERIGYM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/verigym}/torch-2.13.0
  if [ "$device" = cpu ] && [ -z "$python_arg" ] && [ -d "$cached/torch" ]; then
    # The dry run reuses scripts/setup.sh's copy of the wheel.
    site=$("$py" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    printf '%s\n' "$cached" > "$site/verigym_torch.pth"
  else
    say "no torch importable: installing torch==2.13.0 (PyPI's Linux wheel is built with CUDA)"
    pip_install torch==2.13.0
  fi
fi
# tch's build script reads the paths from torch.utils.cpp_extension, which needs setuptools.
"$py" -c 'import torch.utils.cpp_extension' 2>/dev/null || pip_install setuptools
"$py" -c 'import trl' 2>/dev/null || pip_install trl==1.16.0
read -r torch_version torch_cuda torch_dir < <("$py" -c '
import os, torch
print(torch.__version__, torch.version.cuda or "none", os.path.dirname(torch.__file__))')
[ -n "${torch_dir:-}" ] || die "$py could not report its torch"
say "torch $torch_version (CUDA $torch_cuda) at $torch_dir"
if [ "$device" = cuda ]; then
  "$py" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' \
    || die "torch $torch_version sees no CUDA device (CPU-only build, or a driver too old for CUDA $torch_cuda)"
fi

# 3. Build against that PyTorch: tch's build script asks `python3` (`python` in a venv) on
#    PATH, here a wrapper around $py. tch 0.26 is made for 2.13.0; another version builds
#    with the check bypassed, and the summary says which torch it was.
shim=$work/python-bin
mkdir -p "$shim"
for name in python python3; do
  printf '#!/bin/sh\nexec %q "$@"\n' "$py" > "$shim/$name"
  chmod +x "$shim/$name"
done
export PATH=$shim:$PATH LIBTORCH_USE_PYTORCH=1
unset LIBTORCH LIBTORCH_LIB LIBTORCH_INCLUDE
if [ "${torch_version%%+*}" != 2.13.0 ]; then
  say "torch $torch_version is not the 2.13.0 tch 0.26 expects: building with LIBTORCH_BYPASS_VERSION_CHECK=1"
  export LIBTORCH_BYPASS_VERSION_CHECK=1
fi
# Its own target folder: the build links another libtorch than scripts/setup.sh's.
export CARGO_TARGET_DIR=${target_dir:-$work/target}
bin=$CARGO_TARGET_DIR/release
say "cargo build --release (log: $logs/build.log)"
cargo build --release -p verigym -p verigym-trainer >"$logs/build.log" 2>&1 \
  || { tail -n 30 "$logs/build.log" >&2; die "the build failed"; }

# 4. The fixture tests on the device.
say "fixture tests on $device (log: $logs/fixture-tests.log)"
if VERIGYM_TEST_DEVICE=$device cargo test --release -p verigym-trainer \
    --test fixture --test grpo_loss >"$logs/fixture-tests.log" 2>&1; then
  fixture=pass
else
  fixture=fail
  grep -E "panicked|FAILED|^test result" "$logs/fixture-tests.log" >&2 || true
fi
say "fixture tests: $fixture"

# 5. Sampling throughput: the random Llama of the policy benchmarks (benches/RESULTS.md).
model='{"vocab_size":512,"hidden_size":256,"intermediate_size":768,"num_hidden_layers":4,"num_attention_heads":8,"num_key_value_heads":8,"max_position_embeddings":1024}'
sample_json=$logs/bench-sample.jsonl
: >"$sample_json"
for batch in 1 8 64; do
  say "bench sample --batch $batch --device $device"
  "$bin/verigym-train" bench sample --config "$model" --batch "$batch" --repeats 3 \
    --device "$device" | tail -n 1 >>"$sample_json"
done

# 6. A GRPO step, ours and TRL's, on the same device and settings.
say "bench grpo and TRL's GRPOTrainer, $steps steps each on $device (log: $logs/compare-trl.log)"
"$py" benches/compare_trl.py --device "$device" --steps "$steps" --no-build --bin "$bin" \
  --python "$py" >"$logs/compare-trl.json" 2>"$logs/compare-trl.log" \
  || { tail -n 30 "$logs/compare-trl.log" >&2; die "benches/compare_trl.py failed"; }

# 7. The summary.
"$py" - "$gpu" "$torch_version" "$torch_cuda" "$torch_dir" "$device" "$fixture" \
  "$sample_json" "$logs/compare-trl.json" "${LIBTORCH_BYPASS_VERSION_CHECK:+bypassed}" <<'PY'
import json, sys
gpu, torch, cuda, torch_dir, device, fixture, sample, compare, bypass = sys.argv[1:]
rows = [json.loads(l) for l in open(sample) if l.strip()]
c = json.load(open(compare))
print(json.dumps({
    "gpu": gpu,
    "torch": torch,
    "torch_cuda": cuda,
    "libtorch": torch_dir,
    "version_check": bypass or "2.13.0",
    "device": device,
    "fixture_tests": fixture,
    "sample_tokens_per_s": {str(r["batch"]): r["tokens_per_s"] for r in rows},
    "grpo_step_s": c["verigym_step_s"],
    "trl_step_s": c["trl_step_s"],
    "grpo_vs_trl": c["speedup"],
}, indent=1))
PY
[ "$fixture" = pass ] || exit 1
