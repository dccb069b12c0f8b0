#!/usr/bin/env bash
# What the test command needs beyond the core (tools/setup_env.sh), so that no optional
# feature's tests skip in CI: the sweeps' extras (Ray, pyarrow: requirements-sweep.txt), the plot
# extra (matplotlib: requirements-plot.txt) and the conformance runtimes
# (tools/setup_conformance.sh: OpenVINO, tract, Playwright, Debian's chromium, web/'s pinned
# onnxruntime-node/-web). Each step is stamped: quick when done.
# Prints the venv's python.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$(bash "$root/tools/setup_env.sh")"
for name in sweep plot; do
  file="$root/requirements-$name.txt"
  stamp="$root/.venv/.requirements-$name.sha1"
  want="$(sha1sum < "$file" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$py" -m pip install -q -r "$file" >&2
    echo "$want" > "$stamp"
  fi
done
bash "$root/tools/setup_conformance.sh" >&2
echo "$py"
