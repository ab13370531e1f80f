#!/usr/bin/env bash
# The Python suite: a venv under target/ (fresh in a fresh clone), `pip install ./python`
# (maturin builds the extension from the workspace), the test and example dependencies
# from PyPI, then pytest. PyTorch for TRL comes from verigym's libtorch cache
# (scripts/setup.sh installs it) through a .pth file instead of a second download.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
venv=${VERIGYM_PY_VENV:-$root/target/py-venv}
cache=${VERIGYM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/verigym}
torch_dir=$cache/torch-2.13.0
say() { printf '[python-tests] %s\n' "$*" >&2; }

cargo build --release -p verigym
if [ ! -x "$venv/bin/python" ]; then
  say "creating $venv"
  python3 -m venv "$venv"
  if [ -d "$torch_dir/torch" ]; then
    site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
    printf '%s\n' "$torch_dir" > "$site/verigym_torch.pth"
  fi
fi
# Installed again whenever requirements.txt changes (a stamp keeps its hash).
stamp=$venv/.requirements.sha256
want=$(sha256sum python/tests/requirements.txt | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  say "installing python/tests/requirements.txt"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r python/tests/requirements.txt
  echo "$want" > "$stamp"
fi
say "pip install ./python"
"$venv/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps ./python
export VERIGYM_BIN=$root/target/release/verigym
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1 RAY_USAGE_STATS_ENABLED=0
exec "$venv/bin/python" -m pytest -q python/tests "$@"
