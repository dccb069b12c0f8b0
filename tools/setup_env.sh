#!/usr/bin/env bash
# Creates .venv (once) and installs requirements.txt into it (the core: what run_all.sh needs);
# prints the venv's python. The tests' optional extras come from tools/setup_tests.sh.
# Uses onnxruntime-gpu instead of onnxruntime when an NVIDIA GPU is visible.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv"
stamp="$venv/.requirements.sha1"
want="$(cat "$root/requirements.txt" | sha1sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" >&2
fi
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/python" -m pip install -q --upgrade pip >&2
  "$venv/bin/python" -m pip install -q -r "$root/requirements.txt" >&2
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
    ort="$(grep '^onnxruntime==' "$root/requirements.txt" | cut -d= -f3)"
    "$venv/bin/python" -m pip install -q "onnxruntime-gpu==$ort" >&2 || \
      echo "setup: onnxruntime-gpu==$ort could not be installed; using the CPU provider" >&2
  fi
  echo "$want" > "$stamp"
fi
echo "$venv/bin/python"
