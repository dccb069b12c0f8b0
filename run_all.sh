#!/usr/bin/env bash
# Sets everything up on the first run (.venv + requirements.txt), then reproduces the
# paper's experiments 1-5 into output/. With the official files missing it says which
# files go where and runs the project's own demo models instead.
# Arguments are passed to `python -m reproduce experiments` (try --help).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
py="$(bash tools/setup_env.sh)"
exec "$py" -m reproduce experiments "$@"
