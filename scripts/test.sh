#!/usr/bin/env bash
# README command 2: set this host up for the tests and run the whole test suite, or with
# --quick the quick tier (units, lint, sanity of the changed files). As root, or as a user
# with sudo (it re-runs itself with sudo). Ends with one line "N passed, N failed"; logs in
# tests/output/suite/. Arguments go to tests/suite.py (e.g. --quick, --only units, --vm).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/_lib.sh
as_root "$@"
if [[ " $* " == *" --quick "* ]]; then scripts/setup.sh --test --no-daemon; else scripts/setup.sh --test; fi
exec .venv/2.19/bin/python tests/suite.py "$@"
