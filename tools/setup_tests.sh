#!/usr/bin/env bash
# What the test command needs beyond the core (tools/setup_env.sh), so that no optional
# feature's tests skip in CI: the sweeps' extras (Ray, pyarrow: requirements-sweep.txt) and the
# conformance runtimes (tools/setup_conformance.sh: OpenVINO, tract, Playwright, Debian's
# chromium, web/'s pinned onnxruntime-node/-web). Each step is stamped: quick when done.
# Prints the venv's python.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$(bash "$root/tools/setup_env.sh")"
stamp="$root/.venv/.requirements-sweep.sha1"
want="$(sha1sum < "$root/requirements-sweep.txt" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$py" -m pip install -q -r "$root/requirements-sweep.txt" >&2
  echo "$want" > "$stamp"
fi
bash "$root/tools/setup_conformance.sh" >&2
echo "$py"
