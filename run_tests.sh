#!/usr/bin/env bash
# Sets up .venv and the tests' extras on first use (tools/setup_tests.sh), then runs the test
# suite. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
py="$(bash tools/setup_tests.sh)"
exec "$py" -m pytest -q "$@"
