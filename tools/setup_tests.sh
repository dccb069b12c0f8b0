#!/usr/bin/env bash
# What the test command needs beyond the core (tools/setup_env.sh), so that no optional
# feature's tests skip in CI: the test tools (pytest, hypothesis, setuptools:
# requirements-test.txt), the sweeps' extras (Ray, pyarrow: requirements-sweep.txt), the plot
# extra (matplotlib: requirements-plot.txt), the conformance runtimes (tools/setup_conformance.sh:
# OpenVINO, tract, Playwright, Debian's chromium, web/'s pinned onnxruntime-node/-web) and the
# browser page's runtime files (cached). Each step is stamped or cached: quick when done.
# Prints the venv's python.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
py="$(bash "$root/tools/setup_env.sh")"
for name in test sweep plot; do
  file="$root/requirements-$name.txt"
  stamp="$root/.venv/.requirements-$name.sha1"
  want="$(sha1sum < "$file" | cut -d' ' -f1)"
  if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    "$py" -m pip install -q -r "$file" >&2
    echo "$want" > "$stamp"
  fi
done
bash "$root/tools/setup_conformance.sh" >&2
# The browser page's runtime (onnxruntime-web as web/package-lock.json pins it), fetched with npm
# into the project's cache once, so the page's tests build sites without the network.
if command -v npm >/dev/null 2>&1; then
  (cd "$root" && "$py" -c "from reproduce.web.runtime_files import runtime_files; runtime_files()" >&2) || \
    echo "setup_tests: onnxruntime-web could not be fetched; the page's tests will try again" >&2
fi
echo "$py"
