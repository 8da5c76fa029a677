#!/usr/bin/env bash
# README command 2: set this host up and run the whole test suite.
# Ends with one line "N passed, N failed"; logs in tests/output/suite/.
# Arguments go to tests/suite.py (e.g. --only units, --vm).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/2.19/bin/python tests/suite.py "$@"
