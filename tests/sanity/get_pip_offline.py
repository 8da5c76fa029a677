"""Offline stand-in for ansible-test's get-pip bootstrap script (no internet here).

ansible-test downloads get-pip-X.py to ~/.ansible/test/cache/get_pip_X.py and runs it
with pip's install arguments. This does the same with what Python ships:
ensurepip for pip itself, then pip install from the configured index.
"""
from __future__ import annotations

import subprocess
import sys

IGNORED = {"--no-setuptools", "--no-wheel"}


def main() -> int:
    subprocess.run([sys.executable, "-m", "ensurepip", "--default-pip"], check=True, stdout=subprocess.DEVNULL)
    args = [a for a in sys.argv[1:] if a not in IGNORED]
    return subprocess.run([sys.executable, "-m", "pip", "install", *args], check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
