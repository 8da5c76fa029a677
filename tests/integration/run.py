"""Run integration targets (tests/integration/targets/NAME) against real hosts.

Each target is an ansible-test style directory (aliases, tasks/main.yml) and is
run here as a role against an inventory: localhost by default, with a chosen
Python (the managed host's interpreter decides the Docker SDK version the
modules see), or any inventory such as the VM tier's. Writes a JUnit file so
the suite runner can count results.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ROOT / "tests" / "integration" / "targets"


def aliases(target: Path) -> set[str]:
    path = target / "aliases"
    if not path.exists():
        return set()
    return {line.split("#")[0].strip() for line in path.read_text().splitlines()} - {""}


def discover(names: list[str], skip_alias: list[str]) -> list[Path]:
    if names:
        found = []
        for name in names:
            target = TARGETS / name
            if not (target / "tasks" / "main.yml").exists():
                sys.exit(f"run.py: no integration target {name!r} under {TARGETS}")
            found.append(target)
        return found
    return [
        t
        for t in sorted(TARGETS.iterdir())
        # setup_* targets are dependencies of others (ansible-test's convention), not tests; the
        # fault suite restarts the daemons, so it runs only when named (the suite's faults step)
        if (t / "tasks" / "main.yml").exists() and not t.name.startswith("setup_")
        and not aliases(t) & {"disabled", "faults", *skip_alias}
    ]


def run_target(target: Path, inventory: str, python: str | None, ansible_playbook: str, extra: list[str]) -> tuple[bool, float, str]:
    with tempfile.TemporaryDirectory(prefix="podlab-it-") as tmp:
        playbook = Path(tmp) / "play.yml"
        playbook.write_text(
            f"- name: Integration target {target.name}\n"
            "  hosts: all\n"
            "  gather_facts: true\n"
            f"  roles:\n    - role: {target.name}\n"
        )
        env = dict(os.environ, ANSIBLE_ROLES_PATH=str(TARGETS), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"))
        cmd = [ansible_playbook, "-i", inventory, str(playbook), *extra]
        if python:
            cmd += ["-e", f"ansible_python_interpreter={python}"]
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
        elapsed = time.monotonic() - start
        sys.stdout.write(proc.stdout)
        return proc.returncode == 0, elapsed, proc.stdout


def write_junit(path: str, suite: str, results: list[tuple[str, bool, float, str]]) -> None:
    failures = sum(1 for result in results if not result[1])
    cases = []
    for name, ok, elapsed, output in results:
        body = "" if ok else f'<failure message="target failed">{escape(output[-20000:])}</failure>'
        cases.append(f'<testcase classname="{escape(suite)}" name="{escape(name)}" time="{elapsed:.1f}">{body}</testcase>')
    Path(path).write_text(
        f'<?xml version="1.0"?>\n<testsuite name="{escape(suite)}" tests="{len(results)}" failures="{failures}">'
        + "".join(cases)
        + "</testsuite>\n"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("targets", nargs="*", help="target names (default: all not aliased disabled)")
    parser.add_argument("--inventory", default="localhost,", help="inventory (default: localhost, connection local)")
    parser.add_argument("--python", help="ansible_python_interpreter for the managed host")
    parser.add_argument("--skip-alias", action="append", default=[], help="skip targets carrying this alias")
    parser.add_argument("--junit", help="write a JUnit XML result file here")
    parser.add_argument("--suite", default="integration", help="suite name in the JUnit file")
    parser.add_argument("-v", dest="verbose", action="count", default=0)
    args = parser.parse_args()

    extra = ["-" + "v" * args.verbose] if args.verbose else []
    if args.inventory == "localhost,":
        extra += ["-c", "local"]
    ansible_playbook = str(Path(sys.executable).parent / "ansible-playbook")
    results = []
    for target in discover(args.targets, args.skip_alias):
        print(f"=== integration target {target.name} ({args.suite})", flush=True)
        ok, elapsed, output = run_target(target, args.inventory, args.python, ansible_playbook, extra)
        print(f"=== {'PASS' if ok else 'FAIL'} {target.name} in {elapsed:.0f}s", flush=True)
        results.append((target.name, ok, elapsed, output))
    if args.junit:
        write_junit(args.junit, args.suite, results)
    return 0 if all(result[1] for result in results) else 1


if __name__ == "__main__":
    sys.exit(main())
