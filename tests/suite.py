"""The whole test suite: every step, its log, and one closing line `N passed, N failed`.

Run by scripts/test.sh (README command 2) after scripts/setup.sh --test; with --quick only the
quick tier (units, lint, sanity of the changed files). Each step's
output goes to tests/output/suite/<step>.log; pytest-based steps count their
test cases from JUnit files, other steps count as one test each.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "output" / "suite"
VENV = {"2.19": ROOT / ".venv" / "2.19", "2.21": ROOT / ".venv" / "2.21"}
PYTHON_FOR_TIER = {"2.19": "3.11", "2.21": "3.12"}
# The managed host's Python for each tier's integration run: Debian's python3 with
# python3-docker (SDK 5.0.3), and the 2.21 venv with the newest SDK (7.x).
MANAGED_PYTHON = {"2.19": "/usr/bin/python3", "2.21": str(VENV["2.21"] / "bin" / "python")}
# Steps that start the CRI containerd (roles/cri_runtime) or leave pods in it; after any of them the
# suite ends with cri-node-teardown.
CRI_STARTERS = ("cri-node", "integration-", "faults", "molecule-cri")
BUILD = Path(os.environ.get("PODLAB_BUILD_DIR", "/tmp/podlab-playground-build"))


@dataclass
class Result:
    step: str
    passed: int
    failed: int
    seconds: float
    note: str = ""


def bin_(tier: str, name: str) -> str:
    return str(VENV[tier] / "bin" / name)


def junit_counts(path: Path) -> tuple[int, int]:
    tree = ET.parse(path)
    passed = failed = 0
    for case in tree.iter("testcase"):
        if case.find("skipped") is not None:
            continue
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        else:
            passed += 1
    return passed, failed


class Suite:
    def __init__(self, tiers: list[str], only: set[str] | None) -> None:
        self.tiers = tiers
        self.only = only
        self.results: list[Result] = []

    def run(self, step: str, argv: list[str], *, cwd: Path = ROOT, junit: Path | None = None, env: dict | None = None,
            count=None, always: bool = False) -> None:
        if not always and self.only and not any(step.startswith(o) for o in self.only):
            return
        log = OUT / f"{step}.log"
        print(f"--- {step}: {' '.join(argv)}", flush=True)
        start = time.monotonic()
        with log.open("w") as handle:
            proc = subprocess.run(argv, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})}, check=False)
        elapsed = time.monotonic() - start
        text = log.read_text(errors="replace")
        if junit and junit.exists():
            passed, failed = junit_counts(junit)
            if proc.returncode != 0 and failed == 0:
                failed = 1  # the tool failed outside any test case (collection error, crash)
        elif count:
            passed, failed = count(text, proc.returncode)
        else:
            passed, failed = (1, 0) if proc.returncode == 0 else (0, 1)
        result = Result(step, passed, failed, elapsed)
        self.results.append(result)
        status = "ok" if failed == 0 else "FAILED"
        print(f"    {status}: {passed} passed, {failed} failed in {elapsed:.0f}s (log: {log.relative_to(ROOT)})", flush=True)
        if failed:
            print("    " + "\n    ".join(text.strip().splitlines()[-25:]), flush=True)

    def ran(self, *prefixes: str) -> bool:
        """Whether a step whose name starts with one of prefixes has run."""
        return any(r.step.startswith(prefixes) for r in self.results if not r.note.startswith("skipped"))

    def skip(self, step: str, why: str) -> None:
        print(f"--- {step}: SKIPPED ({why})", flush=True)
        self.results.append(Result(step, 0, 0, 0.0, f"skipped: {why}"))

    def summary(self) -> int:
        print("\nstep                                      passed  failed    time")
        for r in self.results:
            print(f"{r.step:<40} {r.passed:>7} {r.failed:>7} {r.seconds:>6.0f}s {r.note}")
        total = sum(r.seconds for r in self.results)
        if total > 0:
            print(f"\nwhere the time went ({total:.0f} s in all), slowest first:")
            for r in sorted(self.results, key=lambda r: r.seconds, reverse=True)[:8]:
                if r.seconds >= 1:
                    print(f"  {r.seconds:>6.0f}s {100 * r.seconds / total:>4.0f}%  {r.step}")
        passed = sum(r.passed for r in self.results)
        failed = sum(r.failed for r in self.results)
        print(f"{passed} passed, {failed} failed", flush=True)
        return 0 if failed == 0 and passed > 0 else 1


def sanity_counts(text: str, rc: int) -> tuple[int, int]:
    ran = set(re.findall(r'^Running sanity test "([^"]+)"', text, re.MULTILINE))
    failed = set()
    block = re.search(r"sanity test\(s\) listed below \(out of \d+\) failed.*?\n((?:\S+\n)+)", text)
    if block:
        failed = {line.strip() for line in block.group(1).splitlines() if line.strip() and not line.startswith("FATAL")}
    if rc != 0 and not failed:
        failed = {"ansible-test"}
    return len(ran - failed), len(failed)


def stage_collection() -> Path:
    """Copy the files git lists (tracked and not deleted, untracked and not ignored) to
    BUILD/ansible_collections/podlab/playground, anew each time (ansible-test needs that path)."""
    dest = BUILD / "ansible_collections" / "podlab" / "playground"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.split(b"\0")
    files = b"\0".join(f for f in listed if f and (ROOT / f.decode()).is_file())
    subprocess.run(["rsync", "-a", "--exclude", "tests/output", "--from0", "--files-from=-", "./", str(dest) + "/"],
                   cwd=ROOT, input=files, check=True)
    return dest


def changed_files() -> tuple[list[str], str]:
    """Files changed against the main branch (committed or not, untracked included) and what they were compared with.

    The base is $PODLAB_BASE, else the branch's upstream (origin/main in a clone), else origin/main, else HEAD
    (only what is not committed yet)."""
    def git(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)

    candidates = [os.environ.get("PODLAB_BASE", ""), "@{upstream}", "origin/main"]
    base = next((c for c in candidates if c and git("rev-parse", "--verify", "--quiet", f"{c}^{{commit}}").returncode == 0), "HEAD")
    merge_base = git("merge-base", "HEAD", base).stdout.strip() or base
    names = set(git("diff", "--name-only", merge_base).stdout.split())
    names |= set(git("ls-files", "--others", "--exclude-standard").stdout.split())
    return sorted(n for n in names if (ROOT / n).is_file()), base


def install_get_pip_standin() -> None:
    cache = Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    for version in ("24_2", "25_2", "25_3"):
        shutil.copy(ROOT / "tests" / "sanity" / "get_pip_offline.py", cache / f"get_pip_{version}.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", help="run only steps whose name starts with this (repeatable)")
    parser.add_argument("--quick", action="store_true",
                        help="the quick tier: units, lint and ansible-test sanity of the files changed against the main branch")
    parser.add_argument("--vm", action="store_true", default=os.environ.get("PODLAB_VM") == "1",
                        help="also run the cgroup v2 + systemd VM tier (PODLAB_VM=1)")
    parser.add_argument("--vagrant", action="store_true", default=os.environ.get("PODLAB_VAGRANT") == "1",
                        help="also bring up the Vagrantfile's docker-host for real under libvirt (PODLAB_VAGRANT=1)")
    args = parser.parse_args()

    OUT.mkdir(parents=True, exist_ok=True)
    tiers = [t for t in ("2.19", "2.21") if (VENV[t] / "bin" / "python").exists()]
    suite = Suite(tiers, set(args.only) if args.only else None)
    if "2.21" not in tiers:
        suite.skip("tier-2.21", "no .venv/2.21 (no Python 3.12 found by scripts/setup.sh)")

    for tier in tiers:
        junit = OUT / f"units-{tier}.xml"
        suite.run(f"units-{tier}", [bin_(tier, "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", "tests/unit"], junit=junit)

    suite.run("ruff", [bin_("2.19", "ruff"), "check", "plugins", "tests", "bench", "molecule"])
    suite.run("mypy", [bin_("2.19", "mypy"), "--config-file", "tests/mypy.ini", "-p", "ansible_collections.podlab.playground.plugins.module_utils"],
              env={"MYPYPATH": str(ROOT / ".collections")})
    suite.run("yamllint", [bin_("2.19", "yamllint"), "--strict", "."])
    suite.run("ansible-lint", [bin_("2.19", "ansible-lint"), "--profile", "production", "--offline"])
    suite.run("changelog-lint", [bin_("2.19", "antsibull-changelog"), "lint"])

    if not suite.only or any(s.startswith("sanity") for s in suite.only):
        targets: list[str] = []
        if args.quick:
            targets, base = changed_files()
            print(f"--- quick tier: ansible-test sanity of {len(targets)} file(s) changed against {base}", flush=True)
        if args.quick and not targets:
            suite.skip("sanity", "no file changed against the main branch")
        else:
            install_get_pip_standin()
            staged = stage_collection()
            for tier in tiers:
                suite.run(f"sanity-{tier}", [bin_(tier, "ansible-test"), "sanity", "--venv", "--python", PYTHON_FOR_TIER[tier], "--color", "no",
                                             *targets], cwd=staged, count=sanity_counts)
    if args.quick:
        return suite.summary()

    try:
        full_steps(suite, args)
    finally:
        # No containerd of the suite's left running, whatever failed before: the steps that start it
        # (cri-node, the cri_pod target, molecule/cri) may have left it up, or pods in it.
        if suite.ran(*CRI_STARTERS):
            suite.run("cri-node-teardown", [bin_("2.19", "ansible-playbook"), "playbooks/cri_node_teardown.yml",
                                            "-e", "cri_runtime_teardown_force=true"], always=True)
    return suite.summary()


def full_steps(suite: Suite, args: argparse.Namespace) -> None:
    suite.run("galaxy-build-install-doc", ["bash", "tests/galaxy-build.sh", VENV["2.19"].name])
    suite.run("safe-tarball", ["bash", "tests/safe-tarball.sh", VENV["2.19"].name])
    suite.run("vagrant-validate", ["bash", "tests/vagrant/validate.sh"])

    # The offline images every later step runs on (molecule/docker_host needs podlab/debian too).
    suite.run("images", [bin_("2.19", "ansible-playbook"), "playbooks/images.yml"])
    # containerd with its CRI plugin, the images imported into k8s.io, for the cri_pod target on both tiers
    # (the target starts it itself when run alone). molecule/cri and molecule/cri_runtime start it
    # themselves too, and stop it in their cleanup; cri-node-teardown stops it at the end.
    suite.run("cri-node", [bin_("2.19", "ansible-playbook"), "playbooks/cri_node.yml"])
    # Generated module arguments run for real against Docker, the CRI and the kernel (tests/host/; a fixed seed here,
    # HYPOTHESIS_PROFILE=nightly for many more).
    junit = OUT / "host-properties.xml"
    suite.run("host-properties", [bin_("2.19", "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={junit}", "tests/host"],
              junit=junit, env={"HYPOTHESIS_PROFILE": "ci"})

    for tier in suite.tiers:
        junit = OUT / f"integration-{tier}.xml"
        suite.run(f"integration-{tier}", [bin_(tier, "python"), "tests/integration/run.py", "--python", MANAGED_PYTHON[tier],
                                          "--suite", f"integration-{tier}", "--junit", str(junit)], junit=junit)

    # Faults done behind the modules' backs, dockerd and containerd restarts among them: alone, after
    # the integration tiers and before molecule (which stops the CRI containerd in its cleanups).
    junit = OUT / "faults.xml"
    suite.run("faults", [bin_("2.19", "python"), "tests/integration/run.py", "--python", MANAGED_PYTHON["2.19"],
                         "--suite", "faults", "--junit", str(junit), "pod_faults"], junit=junit)

    for scenario in sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml")):
        suite.run(f"molecule-{scenario}", [bin_("2.19", "molecule"), "test", "-s", scenario],
                  env={"PATH": f"{VENV['2.19'] / 'bin'}:{os.environ['PATH']}"})

    if args.vm:
        suite.run("vm-tier", ["bash", "tests/vm/run.sh"], junit=OUT / "vm.xml", env={"PODLAB_VM_JUNIT_DIR": str(OUT)})
    else:
        suite.skip("vm-tier", "the cgroup v2 + systemd VM tier runs with PODLAB_VM=1 (see docs/vm-tier.md)")
    if args.vagrant:
        suite.run("vagrant-up", ["bash", "tests/vagrant/run.sh"], junit=OUT.parent / "vagrant" / "vagrant.xml")
    else:
        suite.skip("vagrant-up", "vagrant up docker-host under libvirt runs with PODLAB_VAGRANT=1 (see docs/vagrant.md)")


if __name__ == "__main__":
    sys.exit(main())
