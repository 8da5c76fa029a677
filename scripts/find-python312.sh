#!/usr/bin/env bash
# Print the path of a Python 3.12 interpreter (for the ansible-core 2.21 tier).
set -euo pipefail
for c in "${PODLAB_PYTHON312:-}" "$(command -v python3.12 || true)" \
         "$(pyenv root 2>/dev/null || echo /nonexistent)"/versions/3.12*/bin/python3 \
         "${PYENV_ROOT:-$HOME/.pyenv}"/versions/3.12*/bin/python3; do
  if [ -n "$c" ] && [ -x "$c" ] && "$c" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
    echo "$c"; exit 0
  fi
done
exit 1
