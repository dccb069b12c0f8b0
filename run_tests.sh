#!/usr/bin/env bash
# Sets up .venv on first use, then runs the test suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
py="$(bash tools/setup_env.sh)"
exec "$py" -m pytest -q "$@"
