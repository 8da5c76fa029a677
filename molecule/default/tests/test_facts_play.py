"""Run verify.yml, the facts half of the verifier, in molecule's verify step.

molecule 26 runs one verifier per scenario. This scenario's is testinfra
(test_default.py reads the kernel directly); verify.yml checks the same pods
through podlab.playground.ns_facts, as a user's playbook would. It runs here
on the controller, with molecule's inventory and Ansible settings (the
verifier's environment), so every `molecule verify` runs both.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

SCENARIO = Path(__file__).resolve().parents[1]


def ansible_playbook() -> str:
    beside = Path(sys.executable).with_name("ansible-playbook")
    found = str(beside) if beside.exists() else shutil.which("ansible-playbook")
    assert found, "ansible-playbook is neither beside this Python nor on PATH"
    return found


def test_verify_play_asserts_the_pods_from_their_facts() -> None:
    inventory = os.environ.get("MOLECULE_INVENTORY_FILE")
    assert inventory, "MOLECULE_INVENTORY_FILE is not set: run this through `molecule verify`"
    # molecule forces colour for its own runs; plain text reads better in an assertion
    env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    run = subprocess.run(
        [ansible_playbook(), "-i", inventory, str(SCENARIO / "verify.yml")],
        capture_output=True, text=True, check=False, timeout=300, env=env,
    )
    output = run.stdout + run.stderr
    print(output)  # pytest shows it with -s or on failure
    assert run.returncode == 0, "verify.yml failed:\n" + "\n".join(output.splitlines()[-40:])
    assert re.search(r"^\S+\s+: ok=\d+ .* failed=0 ", output, re.MULTILINE), output
